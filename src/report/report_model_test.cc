#include "report/report_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/escape.h"
#include "report/test_util.h"

namespace stagecraft::report {
namespace {

using ::testing::ElementsAre;

TEST(ReportModelTest, GroupsStepsIntoPhasesAndItemsUnderSteps) {
  testing::RecordedRun run;
  Report report = run.Load();
  ASSERT_EQ(report.phases.size(), 4u);
  EXPECT_EQ(report.phases[0].name, "");
  EXPECT_EQ(report.phases[1].name, "Phase 1: Build");
  EXPECT_EQ(report.phases[2].name, "Phase 2: Release & verify");
  EXPECT_EQ(report.phases[3].steps[0].key, "success-criteria");
  EXPECT_EQ(report.phases[1].steps[0].items.size(), 2u);
  EXPECT_EQ(report.rollback.size(), 2u);
  EXPECT_EQ(report.title, "Orders API rollout <staging> & friends");
  EXPECT_EQ(report.git_commit, "3f2a9c1e8b7d");
}

TEST(ReportModelTest, MarksComeFromThisRunsEvidence) {
  testing::RecordedRun run;
  Report report = run.Load();
  const Entry* manual = report.Find("before-you-start/2");
  ASSERT_NE(manual, nullptr);
  EXPECT_EQ(manual->mark, StepStatus::kApproved);
  EXPECT_EQ(MarkPhrase(*manual), "confirmed by alice at 2026-11-22 15:30:07 UTC");
  EXPECT_EQ(MarkPhrase(*report.Find("push-image/1")),
            "confirmed by alice at 2026-11-22 15:31:43 UTC (--yes)");
  EXPECT_EQ(report.Find("warm-caches")->mark, StepStatus::kSkipped);
  EXPECT_EQ(report.Find("switch-traffic")->mark, StepStatus::kPending);
  EXPECT_EQ(report.Find("success-criteria/1")->mark, StepStatus::kPending);
  EXPECT_EQ(report.steps.total, 7);
  EXPECT_EQ(report.checks.of(StepStatus::kApproved), 2);
}

TEST(ReportModelTest, SplitsMessageIntoSummaryAndDetail) {
  testing::RecordedRun run;
  Report report = run.Load();
  const Attempt& attempt = report.Find("migrate-database/1")->attempts[0];
  EXPECT_EQ(attempt.summary, "expected output did not match");
  EXPECT_EQ(attempt.detail,
            "  Applying migration 0042_orders_index\n- Migration complete\n"
            "+ ERROR: relation \"orders_idx\" already exists");
}

TEST(ReportModelTest, BudgetsAndDurations) {
  testing::RecordedRun run;
  Report report = run.Load();
  const Entry* push = report.Find("push-image");
  EXPECT_EQ(push->duration_ms(), 90000);
  EXPECT_TRUE(push->over_budget());
  EXPECT_EQ(report.phases[1].budget_ms(), 180000);
  EXPECT_EQ(report.phases[1].duration_ms(), 185000);
  EXPECT_TRUE(report.phases[1].over_budget());
  // Two attempts: both count towards the time spent.
  EXPECT_EQ(report.Find("build-image/1")->duration_ms(), 80000);
}

TEST(ReportModelTest, LongOutputKeepsItsTailFromALineStart) {
  testing::RecordedRun run;
  LoadOptions options;
  options.output_tail_bytes = 40;
  Report report = run.Load(options);
  const Attempt& attempt = report.Find("build-image/1")->attempts[1];
  EXPECT_TRUE(attempt.output_cut);
  EXPECT_EQ(attempt.output_bytes, 105);
  EXPECT_EQ(attempt.output, "Successfully built 0a1b2c3d\n");
}

TEST(ReportModelTest, ExcerptFormatsKeepOnlyTheLastLines) {
  testing::RecordedRun run;
  LoadOptions options;
  options.output_tail_lines = 2;
  Report report = run.Load(options);
  const Attempt& attempt = report.Find("build-image/1")->attempts[1];
  EXPECT_EQ(attempt.output, "Tom &amp; Jerry\nSuccessfully built 0a1b2c3d\n");
  EXPECT_TRUE(attempt.output_cut);
  EXPECT_EQ(attempt.output_bytes, 105);
  // Output that fits is kept whole and not marked as cut.
  const Attempt& version = report.Find("build-image/2")->attempts[0];
  EXPECT_EQ(version.output, "v2.4.0\n");
  EXPECT_FALSE(version.output_cut);
}

TEST(ReportModelTest, UnknownRunIsAnError) {
  testing::RecordedRun run;
  Result<Report> report = LoadReport(run.journal(), "20990101-000000-000000");
  EXPECT_FALSE(report.ok());
}

TEST(LastLinesTest, KeepsTheLastLinesAndSaysWhenCut) {
  bool cut = false;
  EXPECT_EQ(LastLines("a\nb\nc\n", 2, 100, &cut), "b\nc\n");
  EXPECT_TRUE(cut);
  EXPECT_EQ(LastLines("a\nb\nc", 5, 100, &cut), "a\nb\nc\n");
  EXPECT_FALSE(cut);
  EXPECT_EQ(LastLines("", 5, 100, &cut), "");
  EXPECT_EQ(LastLines("\n\nx\n", 5, 100), "\n\nx\n");
  EXPECT_EQ(LastLines("abcdef\n", 5, 3), "abc…\n");
}

TEST(SanitizeTextTest, DropsControlsAndColoursAndRepairsUtf8) {
  EXPECT_EQ(SanitizeText("\x1b[1;31mred\x1b[0m"), "red");
  EXPECT_EQ(SanitizeText("a\r\nb\rc"), "a\nb\nc");
  EXPECT_EQ(SanitizeText(std::string("nul\0bell\a", 9)), "nulbell");
  EXPECT_EQ(SanitizeText("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(SanitizeText("caf\xC3\xA9 \xE2\x9C\x85"), "caf\xC3\xA9 \xE2\x9C\x85");
  EXPECT_EQ(SanitizeText("a\xEF\xBF\xBF"
                         "b"),
            "ab");  // U+FFFF is not XML
  EXPECT_EQ(SanitizeText("\x1b]0;title\a after"), " after");
}

TEST(EscapeTest, XmlAndMarkdown) {
  EXPECT_EQ(XmlEscaped("<a href=\"x\">&amp;'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(MarkdownInline("a|b <c> *d*\ne"), "a\\|b \\<c\\> \\*d\\* e");
  EXPECT_EQ(MarkdownFence("plain"), "```");
  EXPECT_EQ(MarkdownFence("has ```` four"), "`````");
}

}  // namespace
}  // namespace stagecraft::report
