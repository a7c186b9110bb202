#pragma once

// Problems found in a runbook, reported the way compilers do:
//   path:line:col: error: message [id]
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
  // A stable short name for lint's findings ("grep-pipefail"), by which a runbook can
  // silence one; empty for findings about how the file is written.
  std::string id;
};

using Diagnostics = std::vector<Diagnostic>;

bool HasErrors(const Diagnostics& diagnostics);

// Line lookup by number: printing thousands of diagnostics for a large file must not
// rescan it from the top each time. Only every kStride-th line start is kept, so the index
// stays small beside the file, and a lookup scans at most kStride - 1 lines. Refers to
// `source`, which must outlive it.
class SourceLines {
 public:
  explicit SourceLines(std::string_view source);
  // Line `line` (1-based) without its newline or carriage return; empty when out of range.
  std::string_view Line(int line) const;

 private:
  static constexpr int kStride = 64;
  std::string_view source_;
  int lines_ = 1;
  std::vector<size_t> starts_;  // of lines 1, 1 + kStride, 1 + 2 * kStride...
};

// Renders one diagnostic with the source line and a caret under the column.
std::string FormatDiagnostic(std::string_view path, const SourceLines& source,
                             const Diagnostic& diagnostic);

}  // namespace stagecraft::runbook
