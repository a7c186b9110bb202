#include "runbook/rollback_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "base/text.h"
#include "runbook/alternatives.h"
#include "runbook/lint.h"

namespace stagecraft::runbook {
namespace {

constexpr const char* kAfterHint =
    "after= names a step of the normal flow as `stagecraft plan` shows it (its name= or the "
    "slug of its title)";

const char* KindPhrase(StepKind kind) {
  switch (kind) {
    case StepKind::kPreflight:
      return "a preflight step";
    case StepKind::kSuccessCriteria:
      return "a success criterion";
    case StepKind::kRollback:
      return "a section of the rollback procedure";
    default:  // the kinds of items beneath a step are never a runbook step's
      break;
  }
  return "a step";
}

void CheckAfterNames(const Runbook& runbook, Diagnostics& diagnostics) {
  // Most runbooks name no step in after=: then no index of every step's name is built, which
  // for a runbook of many steps would take memory in proportion to the whole model.
  if (std::none_of(runbook.steps.begin(), runbook.steps.end(),
                   [](const Step& step) { return !step.scope().after.empty(); }))
    return;
  std::unordered_map<std::string_view, const Step*> by_name;
  for (const Step& step : runbook.steps)
    by_name.emplace(step.name, &step);
  // Sub-sections inherit their parent's names: report each written name once.
  std::set<std::pair<int, int>> reported;
  for (const Step& step : runbook.steps) {
    const SectionScope& scope = step.scope();
    for (size_t i = 0; i < scope.after.size(); ++i) {
      const std::string& name = scope.after[i];
      SourcePos pos = scope.after_pos[i];
      if (!reported.insert({pos.line, pos.column}).second) continue;
      auto found = by_name.find(name);
      if (found == by_name.end()) {
        std::vector<std::string> flow_names;
        for (const Step& other : runbook.steps)
          if (other.kind == StepKind::kStep) flow_names.push_back(other.name);
        std::optional<std::string> close = ClosestMatch(name, flow_names);
        diagnostics.push_back(
            {Severity::kError, pos,
             close ? fmt::format("unknown step '{}' in after=; did you mean '{}'?", name, *close)
                   : fmt::format("unknown step '{}' in after=", name),
             kAfterHint});
      } else if (found->second->kind != StepKind::kStep) {
        diagnostics.push_back({Severity::kError, pos,
                               fmt::format("after={} names {}, not a step of the normal flow", name,
                                           KindPhrase(found->second->kind)),
                               kAfterHint});
      }
    }
  }
}

}  // namespace

void CheckRollbackScopes(const Runbook& runbook, Diagnostics& diagnostics) {
  CheckAfterNames(runbook, diagnostics);
}

void LintRollbackScoping(const Runbook& runbook, Diagnostics& diagnostics) {
  const Step* first = nullptr;
  int sections = 0;
  std::set<int> groups;  // a group of alternatives is one choice, however many it holds
  for (const Step& step : runbook.steps) {
    const SectionScope& scope = step.scope();
    if (step.kind != StepKind::kRollback || step.skip) continue;
    if (!scope.after.empty()) return;
    if (!first) first = &step;
    if (scope.alternative.empty() || groups.insert(scope.alternative_group).second) ++sections;
  }
  if (sections < 2) return;
  diagnostics.push_back(
      {Severity::kWarning, first->pos,
       fmt::format("the rollback procedure has {} sections and none says which step's work it "
                   "undoes, so after any change all of them run",
                   sections),
       "scope each section with <!-- stagecraft: rollback after=STEP --> under its heading, "
       "naming the step whose work it undoes"});
}

bool ChangesThings(const Step& step) {
  return !step.compensation.empty() ||
         std::any_of(step.actions.begin(), step.actions.end(), ActionLooksMutating);
}

std::string RollbackDecision::Reason() const {
  switch (why) {
    case NotRun::kRuns:
      return "";
    case NotRun::kSkipDirective:
      return "skip directive";
    case NotRun::kNotChosen:
      return fmt::format("alternative to {}", runs_instead);
    case NotRun::kAfterNotRun:
      return fmt::format("after {}, which did not run", fmt::join(step->scope().after, " or "));
    case NotRun::kBeforeAnyChange:
      return "before any change";
  }
  return "";
}

const char* RollbackDecision::Code() const {
  switch (why) {
    case NotRun::kRuns:
      return "";
    case NotRun::kSkipDirective:
      return "skip";
    case NotRun::kNotChosen:
      return "not_chosen";
    case NotRun::kAfterNotRun:
      return "after_not_run";
    case NotRun::kBeforeAnyChange:
      return "before_any_change";
  }
  return "";
}

namespace {

std::vector<const Step*> ProcedureSteps(const Runbook& runbook) {
  std::vector<const Step*> procedure;
  for (const Step& step : runbook.steps)
    if (step.kind == StepKind::kRollback) procedure.push_back(&step);
  return procedure;
}

// DecideRollback over the procedure's steps, found once: the plan decides for every step of
// the flow, and a large runbook has thousands.
std::vector<RollbackDecision> Decide(const std::vector<const Step*>& procedure,
                                     const RunSoFar& so_far, const AlternativeChoice& choice) {
  std::vector<RollbackDecision> decisions;
  for (const Step* step : procedure) {
    RollbackDecision decision;
    decision.step = step;
    const SectionScope& scope = step->scope();
    if (step->skip) {
      decision.why = NotRun::kSkipDirective;
    } else if (std::string instead = choice.RunsInstead(*step); !instead.empty()) {
      decision.why = NotRun::kNotChosen;
      decision.runs_instead = std::move(instead);
    } else if (!scope.after.empty()) {
      bool any = std::any_of(scope.after.begin(), scope.after.end(),
                             [&](const std::string& name) { return so_far.ran(name); });
      if (!any) decision.why = NotRun::kAfterNotRun;
    } else if (!so_far.changed) {
      decision.why = NotRun::kBeforeAnyChange;
    }
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace

std::vector<RollbackDecision> DecideRollback(const Runbook& runbook, const RunSoFar& so_far,
                                             const std::vector<std::string>& chosen) {
  return Decide(ProcedureSteps(runbook), so_far, AlternativeChoice(runbook, chosen));
}

namespace {

bool SameOutcome(const std::vector<RollbackDecision>& a, const std::vector<RollbackDecision>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const RollbackDecision& x, const RollbackDecision& y) {
                      return x.step == y.step && x.why == y.why;
                    });
}

}  // namespace

std::vector<FailureGroup> PlanFailures(const Runbook& runbook,
                                       const std::vector<std::string>& chosen) {
  const AlternativeChoice choice(runbook, chosen);
  std::vector<FailureGroup> groups;
  FailureGroup preflight;
  preflight.rolls_back = false;
  for (const Step& step : runbook.steps)
    if (step.kind == StepKind::kPreflight) preflight.failing.push_back(&step);
  if (!preflight.failing.empty()) groups.push_back(std::move(preflight));
  std::vector<const Step*> rollback_steps = ProcedureSteps(runbook);
  // The rules ask only about the steps that after= names, so only those are remembered: not
  // a copy of every step's name.
  std::set<std::string_view> named;
  for (const Step* step : rollback_steps)
    named.insert(step->scope().after.begin(), step->scope().after.end());
  std::set<std::string_view> ran;
  auto mark_ran = [&](const Step& step) {
    if (named.count(step.name)) ran.insert(step.name);
  };
  RunSoFar so_far;
  so_far.ran = [&](const std::string& name) { return ran.count(name) > 0; };
  auto failing = [&](const Step& step) {
    bool counts = step.kind == StepKind::kStep;
    // Evaluated until the first change: after it, nothing can undo `changed`.
    bool changes = counts && !so_far.changed && ChangesThings(step);
    bool changed_before = so_far.changed;
    // The failing step ran, in part; a manual step fails only unconfirmed, having done nothing.
    if (counts && !step.manual) {
      mark_ran(step);
      so_far.changed = changed_before || changes;
    }
    std::vector<RollbackDecision> procedure = Decide(rollback_steps, so_far, choice);
    if (groups.empty() || !groups.back().rolls_back ||
        !SameOutcome(groups.back().procedure, procedure))
      groups.push_back({{}, true, std::move(procedure)});
    groups.back().failing.push_back(&step);
    // Had it not failed, the next step would find it done.
    if (counts) {
      mark_ran(step);
      so_far.changed = changed_before || changes;
    }
  };
  for (StepKind kind : {StepKind::kStep, StepKind::kSuccessCriteria})
    for (const Step& step : runbook.steps)
      if (step.kind == kind && !step.skip && choice.RunsInstead(step).empty()) failing(step);
  return groups;
}

}  // namespace stagecraft::runbook
