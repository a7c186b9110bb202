#pragma once

// Helpers shared by the runbook module's tests. Header-only, so the library carries no test
// code.

#include <string>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/parser.h"

namespace stagecraft::runbook {

// "LINE:COL error: MESSAGE" (or "warning: ") for each diagnostic, in order.
inline std::vector<std::string> Messages(const Diagnostics& diagnostics) {
  std::vector<std::string> messages;
  for (const auto& d : diagnostics)
    messages.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
                       (d.severity == Severity::kError ? "error: " : "warning: ") + d.message);
  return messages;
}

inline std::vector<std::string> Messages(const ParseResult& result) {
  return Messages(result.diagnostics);
}

}  // namespace stagecraft::runbook
