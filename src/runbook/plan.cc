#include "runbook/plan.h"

#include <map>
#include <string>

#include "runbook/alternatives.h"
#include "runbook/plan_output.h"

namespace stagecraft::runbook {
namespace {

void CountItem(const ChecklistItem& item, PlanTotals& totals) {
  if (item.is_check()) ++totals.checks;
  if (item.is_manual()) ++totals.manual_confirmations;
  for (const auto& child : item.children)
    CountItem(child, totals);
}

Millis PlannedDuration(const Runbook& runbook, const AlternativeChoice& choice,
                       int* budgeted_steps) {
  // A phase's own budget covers its steps; otherwise its steps' budgets add up.
  std::map<int, Millis> planned;  // by phase, -1 for the steps outside any
  *budgeted_steps = 0;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep || !choice.RunsInstead(step).empty()) continue;
    const std::optional<Millis>& phase_budget =
        step.phase >= 0 ? runbook.phases[step.phase].budget : std::nullopt;
    if (step.budget || phase_budget) ++*budgeted_steps;
    Millis& phase = planned[step.phase];
    phase = phase_budget ? *phase_budget : phase + step.budget.value_or(Millis(0));
  }
  Millis total{0};
  for (const auto& [phase, duration] : planned)
    total += duration;
  return total;
}

}  // namespace

PlanTotals ComputeTotals(const Runbook& runbook, const std::vector<std::string>& chosen) {
  PlanTotals totals;
  // Alternatives that do not run are not counted: the totals are those of a run.
  const AlternativeChoice choice(runbook, chosen);
  for (const Step& step : runbook.steps) {
    if (step.kind == StepKind::kRollback || !choice.RunsInstead(step).empty()) continue;
    if (step.kind == StepKind::kStep) {
      ++totals.steps;
      if (step.has_rollback()) ++totals.steps_with_rollback;
      if (step.manual) ++totals.gates;
    }
    totals.actions += static_cast<int>(step.actions.size());
    for (const Action& action : step.actions)
      if (action.attributes.confirm) ++totals.gates;
    for (const auto& item : step.checklist)
      CountItem(item, totals);
  }
  totals.planned = PlannedDuration(runbook, choice, &totals.budgeted_steps);
  return totals;
}

const char* ItemKind(const ChecklistItem& item) {
  return item.is_check() ? "check" : item.is_group() ? "group" : "manual";
}

const char* SecretSourceName(SecretSource source) {
  static const char* names[] = {"env", "file", "command"};
  return names[static_cast<int>(source)];
}

std::string RenderPlanText(const Runbook& runbook, const Environment* environment,
                           const PlanOptions& options) {
  std::string text;
  PlanOutput out(text);
  RenderText(runbook, environment, options, out);
  return text;
}

Status WritePlanText(const Runbook& runbook, const Environment* environment, int fd,
                     const PlanOptions& options) {
  PlanOutput out(fd);
  RenderText(runbook, environment, options, out);
  return out.Finish();
}

std::string RenderPlanJsonText(const Runbook& runbook, const Environment* environment,
                               const PlanOptions& options) {
  std::string text;
  PlanOutput out(text);
  RenderJson(runbook, environment, options, out);
  return text;
}

Status WritePlanJson(const Runbook& runbook, const Environment* environment, int fd,
                     const PlanOptions& options) {
  PlanOutput out(fd);
  RenderJson(runbook, environment, options, out);
  return out.Finish();
}

nlohmann::json RenderPlanJson(const Runbook& runbook, const Environment* environment,
                              const PlanOptions& options) {
  return nlohmann::json::parse(RenderPlanJsonText(runbook, environment, options));
}

}  // namespace stagecraft::runbook
