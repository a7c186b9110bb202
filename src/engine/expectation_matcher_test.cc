#include "engine/expectation_matcher.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "engine/output_lines.h"

namespace stagecraft::engine {
namespace {

using runbook::ExpectedLine;

// Expected lines as a guide writes them, numbered from runbook line 10.
std::vector<ExpectedLine> Expected(std::initializer_list<std::string_view> lines) {
  std::vector<ExpectedLine> expected;
  int line = 10;
  for (std::string_view text : lines)
    expected.push_back(runbook::ParseExpectedLine(text, line++));
  return expected;
}

bool Matches(std::string_view expected, std::string_view line) {
  return MatchesLine(runbook::ParseExpectedLine(expected, 1), line);
}

template <typename Consumer>
void Feed(Consumer& consumer, std::initializer_list<std::string_view> lines) {
  for (std::string_view line : lines)
    consumer.OnLine(line);
}

// --- single lines ---------------------------------------------------------------------------

TEST(MatchesLine, ByTheLinesKind) {
  struct Case {
    const char* expected;
    const char* line;
    bool matches;
  };
  for (auto [expected, line, matches] : {
           // A literal is the whole line, case and inner spaces included; the ends are trimmed.
           Case{"Success! The configuration is valid.", "Success! The configuration is valid.",
                true},
           {"ok", "not ok", false},
           {"ok", "ok then", false},
           {"done", "done   \t", true},
           {"done   ", "done", true},
           {"done", "    done", true},
           {"  done", "done", true},
           {"Done", "done", false},
           {"a b", "a  b", false},
           // A regex is anchored at both ends, UTF-8 aware, and matches no invalid UTF-8.
           {"ok (re)", "ok", true},
           {"ok (re)", "not ok", false},
           {"ok (re)", "okay", false},
           {R"(\d+ tables (re))", "  4 tables  ", true},
           {"a|ab (re)", "ab", true},  // backtracks into the longer alternative
           {"a|ab (re)", "abc", false},
           {"status: . (re)", "status: ✓", true},
           {"ok (re)", "\xFFok", false},
           {"( (re)", "(", false},  // an invalid regex matches nothing
           // A glob is the whole line: * any run (also none), ? one character, \ escapes them.
           {"Apply complete! Resources: * added, ? changed, * destroyed. (glob)",
            "Apply complete! Resources: 12 added, 0 changed, 0 destroyed.", true},
           {"Apply complete! Resources: * added, ? changed, * destroyed. (glob)",
            "Apply complete! Resources: 12 added, 10 changed, 0 destroyed.", false},
           {"complete (glob)", "Apply complete", false},
           {"*complete (glob)", "Apply complete", true},
           {"Apply* (glob)", "Re-Apply complete", false},
           {"a*b (glob)", "ab", true},
           {"* (glob)", "", true},
           {"** (glob)", "anything", true},
           {"*-*-end (glob)", "a-b-c-d-end", true},
           {"*-*-end (glob)", "a-end", false},
           {"caf? (glob)", "café", true},
           {"? (glob)", "", false},
           {"? (glob)", "ab", false},
           {R"(a\*b (glob))", "a*b", true},
           {R"(a\*b (glob))", "axb", false},
           {R"(why\? (glob))", "why?", true},
           {R"(why\? (glob))", "whyx", false},
           {R"(C:\\* (glob))", R"(C:\Temp)", true},
           {R"(\d (glob))", R"(\d)", true},  // other backslashes are themselves
           {"...", "...", false},            // "..." stands for lines, never for one
       })
    EXPECT_EQ(Matches(expected, line), matches) << expected << " / " << line;
}

// --- ExpectationMatcher ---------------------------------------------------------------------

TEST(ExpectationMatcher, OtherLinesMayComeBetweenExpectedLines) {
  ExpectationMatcher matcher(Expected({"Initializing...", "Success!"}));
  Feed(matcher, {"noise", "Initializing...", "downloading", "more noise", "Success!", "tail"});
  EXPECT_TRUE(matcher.satisfied());
}

TEST(ExpectationMatcher, LogMessagesMayFollowTheLogsPrefix) {
  std::vector<ExpectedLine> expected = Expected({"API listening on 0.0.0.0:8080", "ready (re)"});
  for (auto& line : expected)
    line.log_message = true;
  ExpectationMatcher matcher(expected);
  Feed(matcher, {"Dec 28 09:30:01 app shop[4242]: API listening on 0.0.0.0:8080",
                 "Dec 28 09:30:01 app shop[4242]: ready"});
  EXPECT_FALSE(matcher.satisfied()) << "a regex still describes the whole line";
  matcher.OnLine("ready");
  EXPECT_TRUE(matcher.satisfied());

  ExpectationMatcher plain(Expected({"API listening on 0.0.0.0:8080"}));
  plain.OnLine("Dec 28 09:30:01 app shop[4242]: API listening on 0.0.0.0:8080");
  EXPECT_FALSE(plain.satisfied()) << "outside a log expectation a literal is the whole line";

  std::vector<ExpectedLine> word = Expected({"ready"});
  word[0].log_message = true;
  ExpectationMatcher partial(word);
  partial.OnLine("shop[1]: already");
  EXPECT_FALSE(partial.satisfied()) << "the message starts after a space";
}

TEST(ExpectationMatcher, GarbledExpectedLineMatchesTheTextItWasGarbledFrom) {
  // "\xe2\x80\x9a\xc3\xba\xc3\xac" is "✓" (U+2713) read as Mac Roman and saved as UTF-8.
  ExpectationMatcher matcher(Expected({"\xe2\x80\x9a\xc3\xba\xc3\xac Tables: 16"}));
  matcher.OnLine("\xe2\x9c\x93 Tables: 16");
  EXPECT_TRUE(matcher.satisfied()) << matcher.Diff();
  EXPECT_TRUE(Matches("\xe2\x80\x9a\xc3\xba\xc3\xac ok", "\xe2\x80\x9a\xc3\xba\xc3\xac ok"));
  EXPECT_FALSE(Matches("\xe2\x80\x9a\xc3\xba\xc3\xac ok", "\xe2\x9c\x93 not ok"));

  RedFlagScanner scanner(Expected({"\xe2\x80\x9a\xc3\xb9\xc3\xa5 failed"}));  // "❌" garbled
  scanner.OnLine("step \xe2\x9d\x8c failed");
  EXPECT_TRUE(scanner.tripped());
}

TEST(ExpectationMatcher, OrderMatters) {
  ExpectationMatcher matcher(Expected({"first", "second"}));
  Feed(matcher, {"second", "first"});
  EXPECT_FALSE(matcher.satisfied());
}

TEST(ExpectationMatcher, SatisfiedOnlyOnceTheLastLineArrives) {
  ExpectationMatcher matcher(Expected({"a", "b"}));
  matcher.OnLine("a");
  EXPECT_FALSE(matcher.satisfied());
  matcher.OnLine("b");
  EXPECT_TRUE(matcher.satisfied());
  matcher.OnLine("anything after");
  EXPECT_TRUE(matcher.satisfied());
  EXPECT_EQ(matcher.output_lines(), 3u);
}

TEST(ExpectationMatcher, EachOutputLineSatisfiesOneExpectedLine) {
  ExpectationMatcher matcher(Expected({"ok", "ok"}));
  matcher.OnLine("ok");
  EXPECT_FALSE(matcher.satisfied());
  matcher.OnLine("ok");
  EXPECT_TRUE(matcher.satisfied());
}

TEST(ExpectationMatcher, EllipsisMatchesAnyRun) {
  ExpectationMatcher matcher(Expected({"...", "start", "...", "end", "..."}));
  Feed(matcher, {"x", "start", "1", "2", "3", "end", "y"});
  EXPECT_TRUE(matcher.satisfied());
}

TEST(ExpectationMatcher, EllipsisAloneNeedsNoOutput) {
  EXPECT_TRUE(ExpectationMatcher(Expected({"..."})).satisfied());
}

TEST(ExpectationMatcher, EmptyExpectationIsSatisfied) {
  EXPECT_TRUE(ExpectationMatcher({}).satisfied());
}

TEST(ExpectationMatcher, MixedKindsInOneExpectation) {
  ExpectationMatcher matcher(Expected(
      {"Plan: * to add, 0 to change, 0 to destroy. (glob)", R"(Apply complete! .* (re))", "done"}));
  Feed(matcher, {"Plan: 3 to add, 0 to change, 0 to destroy.", "aws_s3_bucket.x: Creating...",
                 "Apply complete! Resources: 3 added.", "  done  "});
  EXPECT_TRUE(matcher.satisfied());
  EXPECT_TRUE(matcher.status().ok());
}

TEST(ExpectationMatcher, InvalidRegexIsNeverSatisfied) {
  ExpectationMatcher matcher(Expected({"start", "( (re)"}));
  Feed(matcher, {"start", "(", "( (re)"});
  EXPECT_FALSE(matcher.satisfied());
  EXPECT_EQ(matcher.status().message(),
            "runbook line 11: invalid regex /(/: missing closing parenthesis at offset 1");
  EXPECT_EQ(matcher.Diff(),
            "  ✓ start  (output line 1)\n"
            "  ✗ ( (re)  (invalid regex: missing closing parenthesis at offset 1)\n");
}

TEST(ExpectationMatcher, DiffMarksFirstMissingLine) {
  ExpectationMatcher matcher(Expected({"Initializing the backend...", "...",
                                       "Terraform has been successfully initialized!",
                                       "Apply complete! Resources: * added (glob)"}));
  TailBuffer tail(2);
  for (std::string_view line : {"Initializing the backend...", "Initializing provider plugins...",
                                "Error: Failed to query available provider packages"}) {
    matcher.OnLine(line);
    tail.Add(line);
  }
  EXPECT_FALSE(matcher.satisfied());
  EXPECT_EQ(matcher.Diff(&tail),
            "  ✓ Initializing the backend...  (output line 1)\n"
            "  ✓ ...\n"
            "  ✗ Terraform has been successfully initialized!  (not found after line 1 of the "
            "output)\n"
            "  · Apply complete! Resources: * added (glob)\n"
            "last lines of output:\n"
            "    Initializing provider plugins...\n"
            "    Error: Failed to query available provider packages\n");
}

TEST(ExpectationMatcher, DiffSaysNotFoundInTheOutputWhenNothingMatched) {
  ExpectationMatcher matcher(Expected({R"(\d+ tables (re))"}));
  matcher.OnLine("no tables");
  TailBuffer empty;
  EXPECT_EQ(matcher.Diff(&empty),
            "  ✗ \\d+ tables (re)  (not found in the output)\n"
            "last lines of output:\n"
            "    (no output)\n");
}

TEST(ExpectationMatcher, DiffOfSatisfiedMatcherTicksEveryLine) {
  ExpectationMatcher matcher(Expected({"a", "b"}));
  Feed(matcher, {"x", "a", "y", "b"});
  EXPECT_EQ(matcher.Diff(), "  ✓ a  (output line 2)\n  ✓ b  (output line 4)\n");
}

TEST(ExpectationMatcher, DiffNamesLaterInvalidRegexToo) {
  ExpectationMatcher matcher(Expected({"missing", "[ (re)"}));
  EXPECT_EQ(matcher.Diff(),
            "  ✗ missing  (not found in the output)\n"
            "  · [ (re)  (invalid regex: missing terminating ] for character class at offset "
            "1)\n");
}

TEST(ExpectationMatcher, MatcherOutlivesItsExpectedLines) {
  auto make = [] { return ExpectationMatcher(Expected({"a* (glob)", "b+ (re)"})); };
  ExpectationMatcher matcher = make();
  Feed(matcher, {"abc", "bbb"});
  EXPECT_TRUE(matcher.satisfied());
}

TEST(ExpectationMatcher, ManyOutputLinesAreCheap) {
  ExpectationMatcher matcher(Expected({"needle (re)", "end"}));
  std::string line = "an ordinary line of build output that matches nothing";
  for (int i = 0; i < 200000; ++i)
    matcher.OnLine(line);
  matcher.OnLine("needle");
  for (int i = 0; i < 200000; ++i)
    matcher.OnLine(line);
  matcher.OnLine("end");
  EXPECT_TRUE(matcher.satisfied());
}

// --- RedFlagScanner -------------------------------------------------------------------------

TEST(RedFlagScanner, RedFlagLiteralIsSubstring) {
  RedFlagScanner scanner(Expected({"AccessDenied"}));
  scanner.OnLine("fine");
  EXPECT_FALSE(scanner.tripped());
  scanner.OnLine("An error occurred (AccessDenied) when calling the PutObject operation");
  EXPECT_TRUE(scanner.tripped());
}

TEST(RedFlagScanner, RedFlagLiteralIsCaseSensitive) {
  RedFlagScanner scanner(Expected({"FATAL"}));
  scanner.OnLine("fatal: not a git repository");
  EXPECT_FALSE(scanner.tripped());
}

TEST(RedFlagScanner, RedFlagRegexIsFullLine) {
  RedFlagScanner anchored(Expected({"denied (re)"}));
  anchored.OnLine("access denied");
  EXPECT_FALSE(anchored.tripped());
  RedFlagScanner spelled_out(Expected({".*denied.* (re)"}));
  spelled_out.OnLine("  access denied for user  ");
  EXPECT_TRUE(spelled_out.tripped());
}

TEST(RedFlagScanner, RedFlagGlobIsFullLine) {
  RedFlagScanner scanner(Expected({"ERROR * (glob)"}));
  scanner.OnLine("[x] ERROR disk full");
  EXPECT_FALSE(scanner.tripped());
  scanner.OnLine("ERROR disk full");
  EXPECT_TRUE(scanner.tripped());
}

TEST(RedFlagScanner, EllipsisAndEmptyRedFlagsAreIgnored) {
  RedFlagScanner scanner(Expected({"...", ""}));
  scanner.OnLine("anything");
  scanner.OnLine("");
  EXPECT_FALSE(scanner.tripped());
  EXPECT_EQ(scanner.Report(), "");
}

TEST(RedFlagScanner, EveryLineIsCheckedAgainstAllPatterns) {
  RedFlagScanner scanner(Expected({"panic", "rolled back", "* FAILED (glob)"}));
  Feed(scanner, {"ok", "stack rolled back", "ok", "job FAILED", "panic: nil map", "ok"});
  EXPECT_EQ(scanner.offending_lines(), 3u);
}

TEST(RedFlagScanner, ReportNamesFirstOffendingLine) {
  RedFlagScanner scanner(Expected({"Traceback", "AccessDenied"}));
  Feed(scanner, {"uploading", "  An error occurred (AccessDenied) when calling PutObject  ",
                 "Traceback (most recent call last):", "AccessDenied again"});
  EXPECT_EQ(scanner.Report(),
            "red flag \"AccessDenied\" (runbook line 11) appeared in output line 2:\n"
            "    An error occurred (AccessDenied) when calling PutObject\n"
            "(and 2 more output lines with red flags)\n");
}

TEST(RedFlagScanner, ReportWithoutRunbookLineAndSingleExtraLine) {
  ExpectedLine flag = runbook::ParseExpectedLine("*timeout* (glob)", 0);
  RedFlagScanner scanner({flag});
  Feed(scanner, {"read timeout", "timeout again"});
  EXPECT_EQ(scanner.Report(),
            "red flag \"*timeout* (glob)\" appeared in output line 1:\n"
            "    read timeout\n"
            "(and 1 more output line with red flags)\n");
}

TEST(RedFlagScanner, InvalidRegexIsReportedAndCannotTrip) {
  RedFlagScanner scanner(Expected({"(oops (re)"}));
  scanner.OnLine("(oops");
  EXPECT_FALSE(scanner.tripped());
  EXPECT_EQ(scanner.status().message(),
            "runbook line 10: invalid regex /(oops/: missing closing parenthesis at offset 5");
}

}  // namespace
}  // namespace stagecraft::engine
