#pragma once

// Problems found in a runbook, reported the way compilers do:
//   path:line:col: error: message
//     the offending source line
//     ^
//   hint: what to write instead

#include <string>
#include <string_view>
#include <vector>

#include "runbook/model.h"

namespace stagecraft::runbook {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string message;
  std::string hint;  // optional
};

using Diagnostics = std::vector<Diagnostic>;

bool HasErrors(const Diagnostics& diagnostics);

// Renders one diagnostic with the source line and a caret under the column.
std::string FormatDiagnostic(std::string_view path, std::string_view source,
                             const Diagnostic& diagnostic);

}  // namespace stagecraft::runbook
