#pragma once

// Small string helpers shared by every module. All functions are pure.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stagecraft {

std::string_view TrimView(std::string_view text);
std::string Trim(std::string_view text);
std::string TrimRight(std::string_view text);
std::string ToLower(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);

// Splits on '\n'; a trailing newline does not produce an empty last line.
std::vector<std::string_view> SplitLines(std::string_view text);

// The lines SplitLines gives, one at a time and without a vector:
//   LineReader reader(text);
//   for (std::string_view line; reader.Next(line);) ...
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool Next(std::string_view& line) {
    if (start_ >= text_.size()) return false;
    size_t end = text_.find('\n', start_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(start_, end - start_);
    start_ = end + 1;
    return true;
  }

 private:
  std::string_view text_;
  size_t start_ = 0;
};

// "Step 2: Lambda Layer Deployment" -> "step-2-lambda-layer-deployment". Non-ASCII bytes
// (emoji, accents) are dropped so names stay typeable on any keyboard.
std::string Slugify(std::string_view title);

// Position of the first byte that makes `text` invalid UTF-8, if any.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// One character decoded from UTF-8.
struct Utf8Char {
  size_t length = 0;  // bytes, 1-4
  uint32_t code = 0;
};
// The character starting at text[i], or nullopt when the bytes there are not well-formed
// UTF-8: a stray continuation byte, a truncated sequence, an overlong encoding, a
// surrogate or a value past U+10FFFF.
std::optional<Utf8Char> DecodeUtf8(std::string_view text, size_t i);

// Text from a runbook, a step's output or the journal, made safe to print on a terminal:
// an escape sequence in it could clear the screen or retitle the window, a NUL or an
// invalid byte garble the line. Control characters other than tab and newline (ESC among
// them), DEL, the C1 controls U+0080-U+009F (which some terminals also obey) and bytes
// that are not UTF-8 are shown as \xNN instead; everything else is kept as it is.
std::string TerminalSafe(std::string_view text);
void AppendTerminalSafe(std::string_view text, std::string& out);
// False when TerminalSafe would return `text` unchanged (the common case, checked fast).
bool NeedsTerminalEscaping(std::string_view text);

// 1-based line and column (in bytes) of `offset` in `text`.
struct LineColumn {
  int line = 1;
  int column = 1;
};
LineColumn LocateOffset(std::string_view text, size_t offset);

size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// A valid shell variable name: [A-Za-z_][A-Za-z0-9_]*.
bool IsShellIdentifier(std::string_view name);

}  // namespace stagecraft
