#pragma once

// Expected-output lines as written under **Expected Output:** or in a transcript, with the
// cram conventions: ` (re)` marks an anchored PCRE2 regex, ` (glob)` a glob with `*` and
// `?`, and a line of `...` matches any run of lines.

#include <optional>
#include <string>
#include <string_view>

namespace stagecraft::runbook {

struct ExpectedLine {
  enum class Kind { kLiteral, kRegex, kGlob, kAnyLines };
  // The line without its ` (re)` / ` (glob)` suffix, whitespace-trimmed: a view into the
  // text given to ParseExpectedLine.
  std::string_view pattern;
  int line = 0;  // source line, 0 when unknown
  Kind kind = Kind::kLiteral;
  // Under a label that names log output (`**Expected Log Output:**`): a literal line is the
  // message of a log line, which may follow the log's own prefix (time, host, unit).
  bool log_message = false;
};

ExpectedLine ParseExpectedLine(std::string_view text, int line);

// PCRE2's complaint about `pattern` and the offset it points at, or nullopt when it
// compiles.
struct RegexProblem {
  std::string message;
  size_t offset = 0;
};
std::optional<RegexProblem> CheckRegex(std::string_view pattern);

}  // namespace stagecraft::runbook
