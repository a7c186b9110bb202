#pragma once

// What would run, in order: the human-readable tree printed by `stagecraft plan` and the
// stable JSON document behind `plan --json` (schema in docs/plan-schema.md).

#include <nlohmann/json.hpp>
#include <string>

#include "runbook/model.h"

namespace stagecraft::runbook {

struct PlanTotals {
  int steps = 0;  // steps of the normal flow
  int steps_with_rollback = 0;
  int actions = 0;
  int checks = 0;
  int manual_confirmations = 0;
  int gates = 0;           // confirm actions and manual steps
  int budgeted_steps = 0;  // covered by a budget of their own or of their phase
  Millis planned{0};
};

PlanTotals ComputeTotals(const Runbook& runbook);

// `environment` may be null (no --env given).
std::string RenderPlanText(const Runbook& runbook, const Environment* environment);
nlohmann::json RenderPlanJson(const Runbook& runbook, const Environment* environment);

}  // namespace stagecraft::runbook
