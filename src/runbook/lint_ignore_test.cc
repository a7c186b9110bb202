#include "runbook/lint_ignore.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/lint.h"
#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

struct Linted {
  Diagnostics findings;
  int silenced = 0;
};

Linted LintBook(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  Linted linted;
  linted.findings = parsed.diagnostics;
  linted.silenced = Lint(parsed.runbook, markdown, linted.findings).silenced;
  return linted;
}

std::vector<std::string> Ids(const Diagnostics& findings) {
  std::vector<std::string> ids;
  for (const Diagnostic& d : findings)
    ids.push_back(std::to_string(d.pos.line) + " " + (d.id.empty() ? "-" : d.id));
  return ids;
}

using Strings = std::vector<std::string>;

const char kTwoBlocks[] =
    "## Logs\n"
    "```bash { lint-ignore=never-ends }\n"
    "tail -f app.log\n"
    "cd /opt/app\n"
    "```\n"
    "```bash\n"
    "tail -f other.log\n"
    "```\n";

TEST(LintIgnore, ABlockAttributeSilencesItsBlockOnly) {
  Linted linted = LintBook(kTwoBlocks);
  EXPECT_EQ(Ids(linted.findings), (Strings{"4 absolute-cd", "7 never-ends"}));
  EXPECT_EQ(linted.silenced, 1);
}

TEST(LintIgnore, SeveralIdsInQuotes) {
  Linted linted = LintBook(
      "## Logs\n```bash { lint-ignore=\"never-ends absolute-cd\" }\ntail -f a\ncd /opt/app\n```\n");
  EXPECT_EQ(Ids(linted.findings), Strings{});
  EXPECT_EQ(linted.silenced, 2);
}

TEST(LintIgnore, ADirectiveSilencesTheSectionAndItsSubsections) {
  Linted linted = LintBook(
      "# Guide\n"
      "## Monitoring\n"
      "<!-- stagecraft: lint-ignore=never-ends,absolute-cd -->\n"
      "\n"
      "### Follow the logs\n"
      "```bash\ntail -f app.log\ncd /opt/app\n```\n"
      "## Next\n"
      "```bash\ntail -f app.log\n```\n");
  EXPECT_EQ(Ids(linted.findings), Strings{"12 never-ends"});
  EXPECT_EQ(linted.silenced, 2);
}

TEST(LintIgnore, FencedLinesThatLookLikeHeadingsDoNotEndTheSection) {
  Linted linted = LintBook(
      "## Logs\n<!-- stagecraft: lint-ignore=never-ends -->\n"
      "```bash\n# not a heading\ntail -f a\n```\n"
      "```text\n# also not a heading\n```\n"
      "```bash\ntail -f b\n```\n");
  EXPECT_EQ(Ids(linted.findings), Strings{});
  EXPECT_EQ(linted.silenced, 2);
}

TEST(LintIgnore, UnknownIdsAreReportedWithASuggestion) {
  Linted linted = LintBook("## Logs\n```bash { lint-ignore=never-end }\ntail -f a\n```\n");
  ASSERT_EQ(Ids(linted.findings), (Strings{"2 lint-ignore", "3 never-ends"}));
  EXPECT_EQ(linted.findings[0].message,
            "lint-ignore names no finding 'never-end'; did you mean 'never-ends'?");
  EXPECT_EQ(linted.findings[0].pos.column, 11);
  EXPECT_EQ(linted.findings[0].severity, Severity::kWarning);
}

TEST(LintIgnore, FindingsAboutTheFormatCannotBeSilenced) {
  Linted linted = LintBook("## A\n```bash { lint-ignore=only-comments retries=many }\n# x\n```\n");
  EXPECT_EQ(Ids(linted.findings), Strings{"2 -"});
  EXPECT_EQ(linted.silenced, 1);
}

TEST(LintIgnore, TheParserAcceptsTheAttributeAndTheDirective) {
  ParseResult parsed = ParseRunbook(
      "book.md",
      "## A\n<!-- stagecraft: lint-ignore=never-ends -->\n```bash { lint-ignore=destructive }\nls\n"
      "```\n## B\n<!-- stagecraft: lint-ignore -->\n```bash { lint-ignore }\nls\n```\n");
  EXPECT_EQ(Ids(parsed.diagnostics), (Strings{"7 -", "8 -"}));
  EXPECT_EQ(parsed.diagnostics[0].message,
            "directive 'lint-ignore' needs a value, e.g. lint-ignore=...");
  EXPECT_EQ(parsed.diagnostics[1].message, "attribute 'lint-ignore' needs a value");
}

TEST(LintIgnore, EveryIdIsKnownOnce) {
  const auto& ids = LintFindingIds();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

}  // namespace
}  // namespace stagecraft::runbook
