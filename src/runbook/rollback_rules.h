#pragma once

// The rules that decide which sections of the rollback procedure run after a failure. One
// implementation for `plan` (what would run if a given step failed) and the engine (what
// runs now, and what `stagecraft rollback RUN` runs later), so the two cannot drift apart:
//
//  - a section marked `skip` never runs;
//  - of sibling sections titled as alternatives, only the default one (or the one named by
//    --choose) runs (alternatives.h);
//  - a section scoped with `after=NAME` runs only when one of the named steps ran;
//  - an unscoped section runs only once a step that changes things ran.
//
// Pure functions of the model; safe to call from any thread on a shared Runbook.

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "runbook/alternatives.h"
#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

// Checks the `after=` names the parser gathered (diagnostics). Alternatives are
// alternatives.h's.
void CheckRollbackScopes(const Runbook& runbook, Diagnostics& diagnostics);

// Lint: a rollback procedure of several sections none of which is scoped with `after=`
// runs whole after any change; a warning says so.
void LintRollbackScoping(const Runbook& runbook, Diagnostics& diagnostics);

// Does the step change things? Lint's heuristic over the blocks that are not skipped (see
// LooksMutating), or an executable **Rollback:** block of its own: its author says there is
// something to undo.
bool ChangesThings(const Step& step);

// Why a section of the rollback procedure does not run.
enum class NotRun {
  kRuns,             // it runs
  kSkipDirective,    // `skip` on the section or a parent
  kNotChosen,        // another alternative of its group runs
  kAfterNotRun,      // `after=` names steps none of which ran
  kBeforeAnyChange,  // unscoped, and no step that changes things ran
};

struct RollbackDecision {
  const Step* step = nullptr;
  NotRun why = NotRun::kRuns;
  std::string runs_instead;  // kNotChosen: the alternative that runs
  bool runs() const { return why == NotRun::kRuns; }
  // "before any change", "after deploy-db, which did not run"...: what follows "not run: ".
  std::string Reason() const;
  // The same as a stable word for JSON: "skip", "not_chosen", "after_not_run",
  // "before_any_change"; "" when it runs.
  const char* Code() const;
};

// What the rules need to know of the run so far.
struct RunSoFar {
  bool changed = false;  // a step of the normal flow that changes things ran
  // Whether the step of the normal flow with this name ran, wholly or in part.
  std::function<bool(const std::string& name)> ran;
};

// One decision per step of the rollback procedure, in document order. `chosen` holds the
// --choose names; check them with CheckChoices first.
std::vector<RollbackDecision> DecideRollback(const Runbook& runbook, const RunSoFar& so_far,
                                             const std::vector<std::string>& chosen);

// What the rollback does when a step of the flow fails, for `plan`: consecutive steps of
// the flow (in the engine's order) whose failure runs the same sections are one group. The
// plan assumes the failing step ran its blocks, except a manual step, which fails only when
// nobody confirmed it.
struct FailureGroup {
  std::vector<const Step*> failing;
  bool rolls_back = true;  // false for the preflight: nothing has changed yet
  std::vector<RollbackDecision> procedure;
};
// `chosen`: the --choose names, which decide the alternatives of both flows.
std::vector<FailureGroup> PlanFailures(const Runbook& runbook,
                                       const std::vector<std::string>& chosen = {});

}  // namespace stagecraft::runbook
