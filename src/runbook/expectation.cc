#include "runbook/expectation.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/text.h"

namespace stagecraft::runbook {

ExpectedLine ParseExpectedLine(std::string_view text, int line) {
  ExpectedLine expected;
  expected.line = line;
  std::string_view trimmed = TrimView(text);
  if (trimmed == "...") {
    expected.kind = ExpectedLine::Kind::kAnyLines;
  } else if (EndsWith(trimmed, " (re)")) {
    expected.kind = ExpectedLine::Kind::kRegex;
    trimmed.remove_suffix(5);
  } else if (EndsWith(trimmed, " (glob)")) {
    expected.kind = ExpectedLine::Kind::kGlob;
    trimmed.remove_suffix(7);
  }
  expected.pattern = TrimView(trimmed);
  return expected;
}

std::optional<RegexProblem> CheckRegex(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF, &error_code, &error_offset, nullptr);
  if (code) {
    pcre2_code_free(code);
    return std::nullopt;
  }
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(error_code, buffer, sizeof buffer);
  return RegexProblem{reinterpret_cast<const char*>(buffer), error_offset};
}

}  // namespace stagecraft::runbook
