#include "runbook/rollback_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace stagecraft::runbook {
namespace {

// "3. apply" for a step of the normal flow (numbered as in STEPS), the name otherwise.
std::string Label(const Runbook& runbook, const Step& step, const std::vector<int>& numbers) {
  int number = numbers[&step - runbook.steps.data()];
  if (number == 0) return step.name;
  return fmt::format("{}. {}", number, step.name);
}

std::string Outcome(const FailureGroup& group) {
  if (!group.rolls_back) return "nothing: the preflight changes nothing";
  std::vector<std::string> runs;
  bool before_any_change = false;
  bool all_scoped = true;
  for (const RollbackDecision& decision : group.procedure) {
    if (decision.runs())
      runs.push_back(decision.step->manual ? decision.step->name + " (manual)"
                                           : decision.step->name);
    before_any_change = before_any_change || decision.why == NotRun::kBeforeAnyChange;
    all_scoped = all_scoped && decision.why == NotRun::kAfterNotRun;
  }
  if (!runs.empty()) return fmt::format("{}", fmt::join(runs, ", "));
  if (before_any_change) return "none: no step that changes things has run";
  return all_scoped ? "none: the steps they undo have not run" : "none";
}

}  // namespace

std::string AlternativeNote(const Step& step, const AlternativeChoice& choice) {
  const SectionScope& scope = step.scope();
  if (scope.alternative.empty()) return "";
  // A step under an alternative's heading names the alternative; its heading's own step
  // does not need to.
  std::string which = scope.alternative == step.name ? "" : scope.alternative;
  std::string instead = choice.RunsInstead(step);
  if (instead.empty()) {
    std::string note =
        choice.Chosen(scope.alternative_group) ? "chosen alternative" : "default alternative";
    return which.empty() ? note : note + " " + which;
  }
  return fmt::format("{}instead of {}", which.empty() ? "" : "alternative " + which + ", ",
                     instead);
}

std::string RollbackScopeNote(const Step& step, const AlternativeChoice& choice) {
  const SectionScope& scope = step.scope();
  std::vector<std::string> notes;
  if (!scope.after.empty())
    notes.push_back(fmt::format("after {}", fmt::join(scope.after, " or ")));
  if (std::string note = AlternativeNote(step, choice); !note.empty()) notes.push_back(note);
  return fmt::format("{}", fmt::join(notes, ", "));
}

bool IsOtherAlternative(const Step& step, const AlternativeChoice& choice) {
  return !choice.RunsInstead(step).empty();
}

std::string RenderFailureText(const Runbook& runbook, const std::vector<std::string>& chosen) {
  if (std::none_of(runbook.steps.begin(), runbook.steps.end(),
                   [](const Step& step) { return step.kind == StepKind::kRollback; }))
    return "";
  // Indexed by the step's place in the model, 0 for a step without a number: a map node per
  // step would cost many times the int.
  std::vector<int> numbers(runbook.steps.size());
  int next = 0;
  const AlternativeChoice choice(runbook, chosen);
  for (size_t i = 0; i < runbook.steps.size(); ++i)
    if (runbook.steps[i].kind == StepKind::kStep && !IsOtherAlternative(runbook.steps[i], choice))
      numbers[i] = ++next;
  std::string text =
      "\nIF A STEP FAILS  the undo blocks of the steps that ran (newest first), then these "
      "sections\n";
  for (const FailureGroup& group : PlanFailures(runbook, chosen)) {
    std::string label = Label(runbook, *group.failing.front(), numbers);
    if (group.failing.size() > 1)
      label += fmt::format(" … {}", Label(runbook, *group.failing.back(), numbers));
    if (!group.rolls_back) label = "preflight " + label;
    text += fmt::format("  {:<38}  {}\n", label, Outcome(group));
  }
  return text;
}

}  // namespace stagecraft::runbook
