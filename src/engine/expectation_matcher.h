#pragma once

// Checking a block's output against its **Expected Output:** and **Red Flags:**, cram-style.
//
// How one output line matches one expected line (MatchesLine):
//   - literal: the output line, stripped of leading and trailing whitespace, equals the
//     pattern (which the parser already trimmed). Guides indent pasted output freely and
//     terminals pad lines, so whitespace at either end never counts. A log message
//     (ExpectedLine::log_message) may also end the line after a space: the log's prefix
//     (time, host, unit) comes before it. A pattern garbled by a Mac Roman or Windows-1252
//     round trip ("‚úì ready", see runbook/lint_text.h) also matches the text it was
//     garbled from ("✓ ready"), since no program prints the garbled form.
//   - regex (` (re)`): PCRE2 with UTF, anchored at both ends (PCRE2_ANCHORED |
//     PCRE2_ENDANCHORED), against the trimmed line: the pattern describes the whole line,
//     as in cram, so `ok (re)` does not pass on "not ok".
//   - glob (` (glob)`): `*` matches any run of characters, `?` exactly one UTF-8 character,
//     `\*`, `\?` and `\\` stand for `*`, `?` and `\` (a backslash before anything else is
//     itself); the whole trimmed line must match.
//   - `...` (kAnyLines): matches nothing by itself. Other lines may already sit between
//     expected lines, so it only documents that output was left out.
// Invalid UTF-8 in output is tolerated: such bytes simply match no regex character.
//
// Output lines are quoted verbatim in Diff() and Report(): feed masked output, or mask the
// text before it is written anywhere.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/output_lines.h"
#include "runbook/expectation.h"

// PCRE2's opaque types, declared here so that only the .cc files include <pcre2.h>.
struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace stagecraft::engine {

// A compiled PCRE2 pattern (UTF; invalid UTF-8 in subjects is tolerated). Compiled once and
// JIT-compiled when the platform allows, because the matchers run it on every output line.
// Owns the compiled code and a match-data block reused by every match, so matching does not
// allocate. Move-only; not thread-safe (matches write the shared match data).
class Regex {
 public:
  enum class Mode {
    kFullLine,  // anchored at both ends: the pattern must match the whole subject
    kSearch,    // first match anywhere; multiline, so ^ and $ match at line boundaries
  };

  // The error is PCRE2's message and the offset it points at, e.g.
  // "missing closing parenthesis at offset 4".
  static Result<Regex> Compile(std::string_view pattern, Mode mode);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Whether the pattern matches `subject` (the whole of it in kFullLine mode). PCRE2 match
  // errors, such as hitting its backtracking limit on a pathological pattern, count as no
  // match.
  bool Matches(std::string_view subject);

  // The first match in `subject`: capture group 1 when the pattern has groups (empty when
  // that group did not take part), otherwise the whole match. A view into `subject`; nullopt
  // when there is no match; an error for a PCRE2 match error.
  Result<std::optional<std::string_view>> Find(std::string_view subject);

  uint32_t capture_count() const { return capture_count_; }

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  struct MatchDataDeleter {
    void operator()(pcre2_real_match_data_8* data) const;
  };
  Regex() = default;

  std::unique_ptr<pcre2_real_code_8, CodeDeleter> code_;
  std::unique_ptr<pcre2_real_match_data_8, MatchDataDeleter> match_data_;
  uint32_t capture_count_ = 0;
};

// Whether `line` matches `expected` by the rules above; kAnyLines never matches. Compiles a
// regex or glob on every call, so it is for one-off checks; the classes below compile once.
// An invalid regex matches nothing.
bool MatchesLine(const runbook::ExpectedLine& expected, std::string_view line);

// One expected line, compiled (shared by ExpectationMatcher and RedFlagScanner).
class LinePattern {
 public:
  explicit LinePattern(const runbook::ExpectedLine& expected);
  LinePattern(LinePattern&&) noexcept = default;
  LinePattern& operator=(LinePattern&&) noexcept = default;

  // Whether the already-trimmed `line` matches as a whole. Never for kAnyLines or an
  // invalid regex.
  bool MatchesTrimmed(std::string_view trimmed_line);
  // For a literal: whether it occurs anywhere in `line` (as written, or repaired).
  bool OccursIn(std::string_view line) const;

  runbook::ExpectedLine::Kind kind() const { return kind_; }
  const std::string& pattern() const { return pattern_; }
  int source_line() const { return source_line_; }
  // The pattern as the guide wrote it, with its ` (re)` / ` (glob)` suffix.
  std::string Display() const;
  // Empty, or why the regex does not compile.
  const std::string& error() const { return error_; }

 private:
  struct GlobToken {
    enum class Kind { kText, kStar, kOneChar };
    Kind kind = Kind::kText;
    std::string text;  // kText only; escapes already resolved
  };
  bool GlobMatches(std::string_view subject) const;
  bool LiteralMatches(std::string_view trimmed_line, std::string_view literal) const;

  runbook::ExpectedLine::Kind kind_;
  std::string pattern_;
  std::string repaired_;  // a literal with its mojibake repaired; empty when it has none
  bool log_message_ = false;
  int source_line_ = 0;
  std::optional<Regex> regex_;
  std::vector<GlobToken> glob_;  // adjacent stars merged
  std::string error_;
};

// Streams output lines past a block's expected lines. Expected lines must appear in order,
// with any other lines allowed between them: the matcher waits for the next expected line
// and moves on at the first output line that matches it (greedy subsequence). Greedy is
// enough: taking the earliest match never prevents a later expected line from matching.
// Each output line satisfies at most one expected line, so two identical expected lines
// need two output lines.
//
// Cost: O(1) work per output line beyond the match itself, and no allocation per line for
// literals (a trimmed view compared in place); regexes and globs are compiled once, in the
// constructor. Once everything matched, further lines are only counted.
//
// Copies what it needs from `expected`, which need not outlive it. Move-only; not
// thread-safe: one thread feeds lines, then reads the outcome.
class ExpectationMatcher {
 public:
  explicit ExpectationMatcher(const std::vector<runbook::ExpectedLine>& expected);
  ExpectationMatcher(ExpectationMatcher&&) noexcept = default;
  ExpectationMatcher& operator=(ExpectationMatcher&&) noexcept = default;

  void OnLine(std::string_view line);

  // Every expected line was found, in order. Never true when a regex is invalid.
  bool satisfied() const { return next_ == entries_.size(); }

  // Ok, or the first invalid regex ("runbook line 12: invalid regex /(/: ...") so the
  // engine can refuse to run a block whose expectation can never pass.
  Status status() const;

  // A readable account for a failed expectation, one line per expected line:
  //   "  ✓ PATTERN  (output line N)"  found, at output line N (a `...` shows no line);
  //   "  ✗ PATTERN  (not found after line N of the output)"  the first one missing; "not
  //       found in the output" when nothing before it matched, and for an invalid regex
  //       "(invalid regex: MESSAGE)" instead;
  //   "  · PATTERN"  not checked, because an earlier one is missing (an invalid regex among
  //       them still says so);
  // PATTERN is written as in the guide, ` (re)`/` (glob)` included. With a tail,
  // "last lines of output:" follows, then each tail line indented by four spaces, or
  // "    (no output)". Every line ends in '\n'. When satisfied, every line is "✓".
  std::string Diff(const TailBuffer* tail = nullptr) const;

  size_t output_lines() const { return output_lines_; }

 private:
  struct Entry {
    LinePattern pattern;
    size_t found_at = 0;  // 1-based output line, 0 while not found
  };
  // Moves next_ past `...` markers, which are satisfied by being reached.
  void SkipAnyLines();

  std::vector<Entry> entries_;
  size_t next_ = 0;  // first expected line not yet found
  size_t output_lines_ = 0;
};

// Watches every output line for a block's red flags ("**Red Flags:**" / "**Must Not
// Appear:**"): lines that must not appear anywhere in the output.
//
// Matching differs from expectations on purpose for literals: a literal red flag trips when
// it occurs anywhere in a line, case-sensitively (a SUBSTRING match), because red flags are
// written as telltale fragments ("AccessDenied", "FATAL", "rolled back") that appear inside
// longer log lines, and a missed warning is far costlier than a spurious one. Regex and glob
// red flags keep their full-line meaning, so `.*denied.* (re)` or `*denied* (glob)` spell a
// substring search out. `...` lines and empty literals are ignored (an empty fragment would
// be in every line).
//
// Every output line is checked against every pattern, for as long as output lasts, so the
// count of offending lines is complete; Report() names the first. An invalid regex cannot
// trip: check status() before running the block. Copies what it needs from `red_flags`.
// Move-only; not thread-safe.
class RedFlagScanner {
 public:
  explicit RedFlagScanner(const std::vector<runbook::ExpectedLine>& red_flags);
  RedFlagScanner(RedFlagScanner&&) noexcept = default;
  RedFlagScanner& operator=(RedFlagScanner&&) noexcept = default;

  void OnLine(std::string_view line);

  bool tripped() const { return offending_lines_ > 0; }
  size_t offending_lines() const { return offending_lines_; }

  // Ok, or the first invalid regex (as ExpectationMatcher::status()).
  Status status() const;

  // Empty unless tripped; otherwise, e.g.
  //   red flag "AccessDenied" (runbook line 40) appeared in output line 12:
  //       An error occurred (AccessDenied) when calling the PutObject operation
  // with "(and N more output lines with red flags)" (or "1 more output line") appended as a
  // third line when later lines tripped too. The runbook line is left out when unknown; the
  // quoted output line is trimmed, and shortened beyond 1 KiB.
  std::string Report() const;

 private:
  std::vector<LinePattern> patterns_;
  size_t output_lines_ = 0;
  size_t offending_lines_ = 0;
  // The first offending line: its number, text and the first pattern it matched.
  size_t first_line_number_ = 0;
  std::string first_line_;
  size_t first_pattern_ = 0;
};

}  // namespace stagecraft::engine
