#pragma once

// Alternatives: sibling sections (the same parent heading) titled as options ("Option 1: …",
// "Alternative…", "… (optional)") or as a fallback ("If the script fails"), of which one
// runs. One implementation for the normal flow and the rollback procedure, for the parser
// (names, defaults), `plan`, the engine and --choose.
//
// Pure functions of the model; safe to call from any thread on a shared Runbook.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

// Completes the alternatives the parser gathered: their names (once steps are named), the
// default of each group, and the warnings and errors about them.
void ResolveAlternatives(Runbook& runbook, Diagnostics& diagnostics);

// One group of alternatives, in document order.
struct AlternativeGroup {
  int id = -1;                      // SectionScope::alternative_group
  StepKind kind = StepKind::kStep;  // kStep (normal flow) or kRollback
  std::vector<std::string> names;
  std::vector<std::string> titles;
  std::vector<SourcePos> positions;
  size_t default_index = 0;
};
std::vector<AlternativeGroup> Alternatives(const Runbook& runbook);

// The --choose names: ok, or the error to print (an unknown name, two of one group).
Status CheckChoices(const Runbook& runbook, const std::vector<std::string>& chosen);

// Which alternative of each group runs: the one `chosen` names (checked with CheckChoices),
// else the group's default.
class AlternativeChoice {
 public:
  AlternativeChoice() = default;  // every group runs its default
  AlternativeChoice(const Runbook& runbook, const std::vector<std::string>& chosen);
  // "" when `step` is no alternative or belongs to the one that runs; else the name of the
  // alternative that runs instead.
  std::string RunsInstead(const Step& step) const;
  // True when the group's alternative was named by --choose rather than taken by default.
  bool Chosen(int group) const { return chosen_groups_.count(group) > 0; }

 private:
  std::map<int, std::string> runs_;  // group -> the alternative that runs
  std::set<int> chosen_groups_;
};

}  // namespace stagecraft::runbook
