#include "runbook/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"

namespace stagecraft::runbook {

bool HasErrors(const Diagnostics& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

SourceLines::SourceLines(std::string_view source) : source_(source) {
  starts_.push_back(0);
  for (size_t at = source.find('\n'); at != std::string_view::npos;
       at = source.find('\n', at + 1)) {
    if (lines_++ % kStride == 0) starts_.push_back(at + 1);
  }
}

std::string_view SourceLines::Line(int line) const {
  if (line < 1 || line > lines_) return {};
  size_t start = starts_[(line - 1) / kStride];
  for (int skip = (line - 1) % kStride; skip > 0; --skip)
    start = source_.find('\n', start) + 1;
  size_t end = source_.find('\n', start);
  std::string_view text =
      source_.substr(start, (end == std::string_view::npos ? source_.size() : end) - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

namespace {

// Spaces that line a caret up under byte `column` of `line`: tabs are kept so terminals
// expand them the same way, and UTF-8 continuation bytes take no cell.
std::string CaretIndent(std::string_view line, int column) {
  std::string indent;
  for (int i = 0; i < column - 1 && i < static_cast<int>(line.size()); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == '\t')
      indent.push_back('\t');
    else if ((c & 0xC0) != 0x80)
      indent.push_back(' ');
  }
  return indent;
}

}  // namespace

std::string FormatDiagnostic(std::string_view path, const SourceLines& source,
                             const Diagnostic& diagnostic) {
  const char* label = diagnostic.severity == Severity::kError ? "error" : "warning";
  std::string id = diagnostic.id.empty() ? "" : fmt::format(" [{}]", diagnostic.id);
  std::string out;
  if (diagnostic.pos.line > 0) {
    out = fmt::format("{}:{}:{}: {}: {}{}\n", path, diagnostic.pos.line,
                      std::max(1, diagnostic.pos.column), label, diagnostic.message, id);
    std::string_view line = source.Line(diagnostic.pos.line);
    int column = diagnostic.pos.column;
    // A hostile or generated line can be megabytes long: show a window around the column.
    constexpr size_t kWindow = 120;
    std::string_view before;
    std::string_view after;
    if (line.size() > kWindow) {
      auto is_continuation = [&](size_t i) {
        return i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80;
      };
      size_t start = column > static_cast<int>(kWindow / 2) ? column - 1 - kWindow / 2 : 0;
      start = std::min(start, line.size());
      while (start > 0 && is_continuation(start))
        --start;
      size_t end = std::min(line.size(), start + kWindow);
      while (end < line.size() && is_continuation(end))
        ++end;
      if (start > 0) before = "...";
      if (end < line.size()) after = "...";
      line = line.substr(start, end - start);
      column -= static_cast<int>(start) - static_cast<int>(before.size());
    }
    if (!TrimView(line).empty()) {
      std::string shown = fmt::format("{}{}{}", before, line, after);
      out += fmt::format("  {}\n  {}^\n", shown, CaretIndent(shown, column));
    }
  } else {
    out = fmt::format("{}: {}: {}{}\n", path, label, diagnostic.message, id);
  }
  if (!diagnostic.hint.empty()) out += fmt::format("  hint: {}\n", diagnostic.hint);
  return out;
}

}  // namespace stagecraft::runbook
