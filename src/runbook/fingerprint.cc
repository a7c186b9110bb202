#include "runbook/fingerprint.h"

#include <fmt/format.h>

#include "base/sha256.h"
#include "runbook/walk.h"

namespace stagecraft::runbook {

// The text digested is part of every journal written so far: changing it makes resume
// refuse existing runs as "changed".
std::string StepContentHash(const Step& step) {
  std::string text = fmt::format("{}\n{}\n", step.manual, step.skip);
  auto add_action = [&](const Action& action) {
    text.append(action.block.interpreter).append(1, '\n').append(action.block.text) += '\x1f';
    for (const auto& verification : action.verifications)
      text.append(verification.text) += '\x1f';
  };
  for (const auto& action : step.actions)
    add_action(action);
  ForEachChecklistItem(step, [&](const ChecklistItem& item) {
    text += item.text + '\x1e';
    for (const auto& action : item.actions)
      add_action(action);
  });
  for (const auto& block : step.compensation)
    text.append(block.text) += '\x1d';
  return Sha256Hex(text);
}

std::string StructureHash(const Runbook& runbook) {
  std::string text;
  for (const auto& step : runbook.steps)
    text +=
        fmt::format("{}\t{}\t{}\n", static_cast<int>(step.kind), step.name, StepContentHash(step));
  return Sha256Hex(text);
}

}  // namespace stagecraft::runbook
