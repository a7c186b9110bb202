#include "runbook/walk.h"

#include <vector>

namespace stagecraft::runbook {

void ForEachChecklistItem(const Step& step,
                          const std::function<void(const ChecklistItem&)>& visit) {
  if (step.checklist.empty()) return;
  std::vector<const ChecklistItem*> items;
  for (const auto& item : step.checklist)
    items.push_back(&item);
  for (size_t i = 0; i < items.size(); ++i) {
    visit(*items[i]);
    for (const auto& child : items[i]->children)
      items.push_back(&child);
  }
}

void ForEachAction(const Step& step, const std::function<void(const Action&)>& visit) {
  for (const Action& action : step.actions)
    visit(action);
  ForEachChecklistItem(step, [&](const ChecklistItem& item) {
    for (const Action& action : item.actions)
      visit(action);
  });
}

std::map<std::string, std::string> Scope(const Runbook& runbook, const Environment* environment,
                                         const std::map<std::string, std::string>& cli_vars) {
  std::map<std::string, std::string> scope = runbook.front_matter.vars;
  if (environment)
    for (const auto& [name, value] : environment->vars)
      scope[name] = value;
  for (const auto& [name, value] : cli_vars)
    scope[name] = value;
  return scope;
}

}  // namespace stagecraft::runbook
