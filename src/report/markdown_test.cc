#include "report/markdown.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "journal/test_util.h"
#include "report/test_util.h"

namespace stagecraft::report {
namespace {

using ::stagecraft::journal::testing::OpenOrDie;
using ::stagecraft::journal::testing::ScratchOptions;
using ::stagecraft::journal::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class MarkdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = OpenOrDie(ScratchOptions(dir_.path()));
    ASSERT_NE(journal_, nullptr);
    run_id_ = testing::RecordFailedRun(*journal_);
    Result<Report> report = LoadReport(*journal_, run_id_);
    ASSERT_TRUE(report.ok()) << report.error();
    report_ = std::move(report).value();
  }

  TempDir dir_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::string run_id_;
  Report report_;
};

TEST_F(MarkdownTest, FailedRunMatchesGolden) {
  EXPECT_EQ(testing::CompareWithGolden("failed-run.md", RenderMarkdown(report_)), "");
}

TEST_F(MarkdownTest, SummaryMatchesGolden) {
  MarkdownOptions options;
  options.summary = true;
  EXPECT_EQ(testing::CompareWithGolden("failed-run.summary.md", RenderMarkdown(report_, options)),
            "");
}

TEST_F(MarkdownTest, MarkupInOutputStaysInsideCodeBlocks) {
  std::string markdown = RenderMarkdown(report_);
  // Output is fenced, so it is shown as written; the title is escaped outside a fence.
  EXPECT_THAT(markdown, HasSubstr("\n  <script>alert(1)</script>\n"));
  EXPECT_THAT(markdown, HasSubstr("\n  Tom &amp; Jerry\n"));
  EXPECT_THAT(markdown, HasSubstr("Orders API rollout \\<staging\\> \\& friends"));
  EXPECT_THAT(markdown, Not(HasSubstr("\x1b[")));
}

TEST_F(MarkdownTest, ChecklistTicksComeFromThisRun) {
  std::string markdown = RenderMarkdown(report_);
  EXPECT_THAT(markdown, HasSubstr("- [x] ✅ Database is reachable — passed"));
  EXPECT_THAT(markdown, HasSubstr("- [ ] ⏸ Error rate below 1% — not reached"));
  EXPECT_THAT(markdown, HasSubstr("confirmed by alice at 2026-11-22 15:30:07 UTC"));
}

TEST_F(MarkdownTest, SummaryLeavesOutWhatPassed) {
  MarkdownOptions options;
  options.summary = true;
  std::string markdown = RenderMarkdown(report_, options);
  EXPECT_THAT(markdown, HasSubstr("### ❌ Migrate the database"));
  EXPECT_THAT(markdown, Not(HasSubstr("### ✅ Build the image")));
}

}  // namespace
}  // namespace stagecraft::report
