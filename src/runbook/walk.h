#pragma once

// The one way to visit what a step holds: its checklist items breadth-first (top-level
// items in order, then their children), and its actions (the step's own, then those of the
// checklist items in that order). Running a step walks it differently (depth-first, with
// the checklist's semantics): see engine.h.

#include <functional>
#include <map>
#include <string>

#include "runbook/model.h"

namespace stagecraft::runbook {

void ForEachChecklistItem(const Step& step, const std::function<void(const ChecklistItem&)>& visit);
void ForEachAction(const Step& step, const std::function<void(const Action&)>& visit);

// The variables blocks see: front matter vars, then the environment's (may be null), then
// those given on the command line.
std::map<std::string, std::string> Scope(const Runbook& runbook, const Environment* environment,
                                         const std::map<std::string, std::string>& cli_vars = {});

}  // namespace stagecraft::runbook
