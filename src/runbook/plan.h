#pragma once

// What would run, in order: the human-readable tree printed by `stagecraft plan` and the
// stable JSON document behind `plan --json` (schema in docs/plan-schema.md).

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
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

// `chosen`: the --choose names; alternatives that do not run are left out.
PlanTotals ComputeTotals(const Runbook& runbook, const std::vector<std::string>& chosen = {});

// What `run --dry-run` adds to the plan: the variables as the run would have them (with
// --var), the values of secret-looking ones hidden, and the code of every action.
struct PlanOptions {
  std::map<std::string, std::string> cli_vars;
  std::function<bool(const std::string& name)> is_secret;
  bool show_code = false;
  // --choose: the alternatives that run instead of their groups' defaults (checked with
  // CheckChoices). The JSON plan reads only these.
  std::vector<std::string> choose;
};

// `environment` may be null (no --env given). The renderers cope with any runbook the parser
// returns, diagnostics or not.
std::string RenderPlanText(const Runbook& runbook, const Environment* environment,
                           const PlanOptions& options = {});
// The JSON plan exactly as `plan --json` prints it: nlohmann's dump(2) layout (keys in
// alphabetical order) and a final newline.
std::string RenderPlanJsonText(const Runbook& runbook, const Environment* environment,
                               const PlanOptions& options = {});
// The same document, parsed, for callers that look things up in it.
nlohmann::json RenderPlanJson(const Runbook& runbook, const Environment* environment,
                              const PlanOptions& options = {});

// Write the text or JSON plan to the file descriptor `fd` while rendering it, so that a
// large plan is never held in memory whole. The error is that of the first failed write.
// Callers sharing `fd` with a FILE flush the FILE first.
Status WritePlanText(const Runbook& runbook, const Environment* environment, int fd,
                     const PlanOptions& options = {});
Status WritePlanJson(const Runbook& runbook, const Environment* environment, int fd,
                     const PlanOptions& options = {});

}  // namespace stagecraft::runbook
