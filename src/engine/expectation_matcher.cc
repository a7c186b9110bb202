#include "engine/expectation_matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <utility>

#include "base/text.h"
#include "runbook/lint_text.h"

namespace stagecraft::engine {
namespace {

using Kind = runbook::ExpectedLine::Kind;

// Bytes in the UTF-8 character starting at text[pos]; 1 for a byte that does not start a
// well-formed sequence, so invalid input still advances one byte at a time.
size_t CharLength(std::string_view text, size_t pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  size_t length = lead < 0x80             ? 1
                  : (lead & 0xE0) == 0xC0 ? 2
                  : (lead & 0xF0) == 0xE0 ? 3
                  : (lead & 0xF8) == 0xF0 ? 4
                                          : 1;
  if (pos + length > text.size()) return 1;
  for (size_t i = 1; i < length; ++i)
    if ((byte(pos + i) & 0xC0) != 0x80) return 1;
  return length;
}

}  // namespace

void Regex::CodeDeleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}

void Regex::MatchDataDeleter::operator()(pcre2_real_match_data_8* data) const {
  pcre2_match_data_free(data);
}

Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Result<Regex> Regex::Compile(std::string_view pattern, Mode mode) {
  // MATCH_INVALID_UTF: process output is not guaranteed UTF-8, and without it PCRE2 refuses
  // to match such a subject at all instead of just not matching the bad bytes.
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  options |= mode == Mode::kFullLine ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : PCRE2_MULTILINE;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  Regex regex;
  regex.code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  options, &error_code, &error_offset, nullptr));
  if (!regex.code_) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error_code, buffer, sizeof buffer);
    return Status::Error(
        fmt::format("{} at offset {}", reinterpret_cast<const char*>(buffer), error_offset));
  }
  // A failed JIT compile (e.g. where executable memory is forbidden) leaves the interpreter,
  // which gives the same answers, only slower.
  pcre2_jit_compile(regex.code_.get(), PCRE2_JIT_COMPLETE);
  pcre2_pattern_info(regex.code_.get(), PCRE2_INFO_CAPTURECOUNT, &regex.capture_count_);
  regex.match_data_.reset(pcre2_match_data_create_from_pattern(regex.code_.get(), nullptr));
  if (!regex.match_data_) return Status::Error("out of memory compiling a regex");
  return regex;
}

bool Regex::Matches(std::string_view subject) {
  int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       0, match_data_.get(), nullptr);
  return rc >= 0;
}

Result<std::optional<std::string_view>> Regex::Find(std::string_view subject) {
  int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       0, match_data_.get(), nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::optional<std::string_view>();
  if (rc < 0) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(rc, buffer, sizeof buffer);
    return Status::Error(reinterpret_cast<const char*>(buffer));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data_.get());
  size_t pair = capture_count_ > 0 ? 1 : 0;
  PCRE2_SIZE begin = ovector[2 * pair];
  PCRE2_SIZE end = ovector[2 * pair + 1];
  // An optional group that did not take part, as in `(v)?\d+`.
  if (begin == PCRE2_UNSET) return std::optional<std::string_view>(std::string_view());
  return std::optional<std::string_view>(subject.substr(begin, end - begin));
}

LinePattern::LinePattern(const runbook::ExpectedLine& expected)
    : kind_(expected.kind),
      pattern_(expected.pattern),
      log_message_(expected.log_message),
      source_line_(expected.line) {
  if (kind_ == Kind::kLiteral) {
    std::vector<runbook::Mojibake> garbled = runbook::FindMojibake(pattern_);
    size_t done = 0;
    for (const runbook::Mojibake& run : garbled) {
      repaired_.append(pattern_, done, run.offset - done);
      repaired_ += run.repaired;
      done = run.offset + run.garbled.size();
    }
    if (!garbled.empty()) repaired_.append(pattern_, done);
  } else if (kind_ == Kind::kRegex) {
    Result<Regex> regex = Regex::Compile(pattern_, Regex::Mode::kFullLine);
    if (regex.ok()) {
      regex_.emplace(std::move(regex).value());
    } else {
      error_ = regex.error();
    }
  } else if (kind_ == Kind::kGlob) {
    for (size_t i = 0; i < pattern_.size(); ++i) {
      char c = pattern_[i];
      if (c == '*') {
        if (glob_.empty() || glob_.back().kind != GlobToken::Kind::kStar)
          glob_.push_back({GlobToken::Kind::kStar, {}});
        continue;
      }
      if (c == '?') {
        glob_.push_back({GlobToken::Kind::kOneChar, {}});
        continue;
      }
      if (c == '\\' && i + 1 < pattern_.size() &&
          (pattern_[i + 1] == '*' || pattern_[i + 1] == '?' || pattern_[i + 1] == '\\'))
        c = pattern_[++i];
      if (glob_.empty() || glob_.back().kind != GlobToken::Kind::kText)
        glob_.push_back({GlobToken::Kind::kText, {}});
      glob_.back().text.push_back(c);
    }
  }
}

bool LinePattern::MatchesTrimmed(std::string_view trimmed_line) {
  switch (kind_) {
    case Kind::kLiteral:
      return LiteralMatches(trimmed_line, pattern_) ||
             (!repaired_.empty() && LiteralMatches(trimmed_line, repaired_));
    case Kind::kRegex:
      return regex_ && regex_->Matches(trimmed_line);
    case Kind::kGlob:
      return GlobMatches(trimmed_line);
    case Kind::kAnyLines:
      return false;
  }
  return false;
}

bool LinePattern::LiteralMatches(std::string_view trimmed_line, std::string_view literal) const {
  if (trimmed_line == literal) return true;
  if (!log_message_ || literal.empty() || trimmed_line.size() <= literal.size()) return false;
  return trimmed_line.ends_with(literal) &&
         trimmed_line[trimmed_line.size() - literal.size() - 1] == ' ';
}

bool LinePattern::OccursIn(std::string_view line) const {
  return line.find(pattern_) != std::string_view::npos ||
         (!repaired_.empty() && line.find(repaired_) != std::string_view::npos);
}

bool LinePattern::GlobMatches(std::string_view subject) const {
  // The classic wildcard walk: on a mismatch, let the most recent star swallow one more
  // character and retry from there. Only the latest star ever needs to grow, because any
  // text an earlier star could take, the later star can take instead; so this is
  // O(pattern * line) at worst, without recursion or allocation.
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t token = 0;
  size_t pos = 0;
  size_t star_token = kNone;
  size_t star_pos = 0;
  while (true) {
    if (token < glob_.size()) {
      const GlobToken& t = glob_[token];
      if (t.kind == GlobToken::Kind::kStar) {
        star_token = ++token;
        star_pos = pos;
        continue;
      }
      if (t.kind == GlobToken::Kind::kOneChar && pos < subject.size()) {
        pos += CharLength(subject, pos);
        ++token;
        continue;
      }
      if (t.kind == GlobToken::Kind::kText && subject.substr(pos).starts_with(t.text)) {
        pos += t.text.size();
        ++token;
        continue;
      }
    } else if (pos == subject.size()) {
      return true;
    }
    if (star_token == kNone || star_pos >= subject.size()) return false;
    star_pos += CharLength(subject, star_pos);
    pos = star_pos;
    token = star_token;
  }
}

std::string LinePattern::Display() const {
  switch (kind_) {
    case Kind::kLiteral:
      return pattern_;
    case Kind::kRegex:
      return pattern_ + " (re)";
    case Kind::kGlob:
      return pattern_ + " (glob)";
    case Kind::kAnyLines:
      return "...";
  }
  return pattern_;
}

bool MatchesLine(const runbook::ExpectedLine& expected, std::string_view line) {
  return LinePattern(expected).MatchesTrimmed(TrimView(line));
}

namespace {

// "runbook line 12: invalid regex /(/: missing closing parenthesis at offset 1".
Status RegexStatus(const LinePattern& pattern) {
  std::string where =
      pattern.source_line() > 0 ? fmt::format("runbook line {}: ", pattern.source_line()) : "";
  return Status::Error(
      fmt::format("{}invalid regex /{}/: {}", where, pattern.pattern(), pattern.error()));
}

}  // namespace

ExpectationMatcher::ExpectationMatcher(const std::vector<runbook::ExpectedLine>& expected) {
  entries_.reserve(expected.size());
  for (const runbook::ExpectedLine& line : expected)
    entries_.push_back({LinePattern(line), 0});
  SkipAnyLines();
}

void ExpectationMatcher::SkipAnyLines() {
  while (next_ < entries_.size() && entries_[next_].pattern.kind() == Kind::kAnyLines)
    ++next_;
}

void ExpectationMatcher::OnLine(std::string_view line) {
  ++output_lines_;
  if (next_ == entries_.size()) return;
  Entry& entry = entries_[next_];
  if (!entry.pattern.MatchesTrimmed(TrimView(line))) return;
  entry.found_at = output_lines_;
  ++next_;
  SkipAnyLines();
}

Status ExpectationMatcher::status() const {
  for (const Entry& entry : entries_)
    if (!entry.pattern.error().empty()) return RegexStatus(entry.pattern);
  return Status::Ok();
}

std::string ExpectationMatcher::Diff(const TailBuffer* tail) const {
  std::string out;
  // The output line the search for the first missing line started after.
  size_t searched_after = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    const LinePattern& pattern = entry.pattern;
    if (i < next_) {
      out += "  ✓ " + pattern.Display();
      if (pattern.kind() != Kind::kAnyLines) {
        out += fmt::format("  (output line {})", entry.found_at);
        searched_after = entry.found_at;
      }
    } else if (i == next_) {
      out += "  ✗ " + pattern.Display();
      if (!pattern.error().empty()) {
        out += "  (invalid regex: " + pattern.error() + ")";
      } else if (searched_after == 0) {
        out += "  (not found in the output)";
      } else {
        out += fmt::format("  (not found after line {} of the output)", searched_after);
      }
    } else {
      out += "  · " + pattern.Display();
      if (!pattern.error().empty()) out += "  (invalid regex: " + pattern.error() + ")";
    }
    out += '\n';
  }
  if (tail) {
    out += "last lines of output:\n";
    if (tail->empty()) out += "    (no output)\n";
    for (const std::string& line : tail->Lines())
      out += "    " + line + "\n";
  }
  return out;
}

RedFlagScanner::RedFlagScanner(const std::vector<runbook::ExpectedLine>& red_flags) {
  for (const runbook::ExpectedLine& flag : red_flags) {
    if (flag.kind == Kind::kAnyLines) continue;
    if (flag.kind == Kind::kLiteral && flag.pattern.empty()) continue;
    patterns_.emplace_back(flag);
  }
}

void RedFlagScanner::OnLine(std::string_view line) {
  ++output_lines_;
  std::string_view trimmed = TrimView(line);
  for (size_t i = 0; i < patterns_.size(); ++i) {
    LinePattern& pattern = patterns_[i];
    bool hit =
        pattern.kind() == Kind::kLiteral ? pattern.OccursIn(line) : pattern.MatchesTrimmed(trimmed);
    if (!hit) continue;
    if (offending_lines_ == 0) {
      first_line_number_ = output_lines_;
      first_line_ = std::string(Utf8Prefix(trimmed, 1024));
      if (first_line_.size() < trimmed.size()) first_line_ += " […]";
      first_pattern_ = i;
    }
    ++offending_lines_;
    return;  // one offending line counts once, whatever else it matches
  }
}

Status RedFlagScanner::status() const {
  for (const LinePattern& pattern : patterns_)
    if (!pattern.error().empty()) return RegexStatus(pattern);
  return Status::Ok();
}

std::string RedFlagScanner::Report() const {
  if (!tripped()) return "";
  const LinePattern& pattern = patterns_[first_pattern_];
  std::string where =
      pattern.source_line() > 0 ? fmt::format(" (runbook line {})", pattern.source_line()) : "";
  std::string report = fmt::format("red flag \"{}\"{} appeared in output line {}:\n    {}\n",
                                   pattern.Display(), where, first_line_number_, first_line_);
  if (offending_lines_ > 1)
    report += fmt::format("(and {} more output line{} with red flags)\n", offending_lines_ - 1,
                          offending_lines_ == 2 ? "" : "s");
  return report;
}

}  // namespace stagecraft::engine
