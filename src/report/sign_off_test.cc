#include <gtest/gtest.h>

#include "report/html.h"
#include "report/markdown.h"
#include "report/report_model.h"
#include "report/test_util.h"
#include "testing/fake_run.h"

namespace stagecraft::report {
namespace {

using stagecraft::testing::FakeRun;
using stagecraft::testing::PlannedStep;

constexpr journal::TimeMs kStart = 1'795'361'400'000;  // 2026-11-22 15:30:00 UTC

// A run of a runbook whose sign-off table has two roles, approved by one of them.
class SignOffTest : public ::testing::Test {
 protected:
  SignOffTest()
      : journal_(journal::testing::OpenOrDie(journal::testing::ScratchOptions(dir_.path()))) {
    journal::RunRecord record;
    record.runbook_path = "/srv/book.md";
    record.started_at = kStart;
    record.options = {{"title", "Schema change"},
                      {"sign_off",
                       {{{"role", "db-owner"}, {"steps", {"migrate"}}},
                        {{"role", "release-lead"}, {"steps", nlohmann::json::array()}}}}};
    run_ = std::make_unique<FakeRun>(*journal_, record);
    run_->Plan({PlannedStep("migrate", "", 1, StepKind::kStep, "Migrate", "")});
    run_->Attempt(run_->Step("migrate"), kStart + 1000, kStart + 2000);
    run_->Approve("migrate", "carol", kStart + 1500, ApprovalMethod::kCommand, "diff reviewed");
    run_->Finish(RunStatus::kSucceeded, 0, kStart + 3000);
  }

  Report Load() {
    EXPECT_TRUE(run_->status().ok()) << run_->status().message();
    Result<Report> report = LoadReport(*journal_, run_->id());
    EXPECT_TRUE(report.ok());
    return report.ok() ? std::move(report).value() : Report();
  }

  journal::testing::TempDir dir_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<FakeRun> run_;
};

TEST_F(SignOffTest, EachRoleGetsTheDecisionOfTheStepsItDecides) {
  Report report = Load();
  ASSERT_EQ(report.sign_off.size(), 2u);
  EXPECT_EQ(report.sign_off[0].role, "db-owner");
  ASSERT_TRUE(report.sign_off[0].decision);
  EXPECT_EQ(report.sign_off[0].decision->who, "carol");
  EXPECT_EQ(report.sign_off[1].role, "release-lead");
  EXPECT_FALSE(report.sign_off[1].decision);
}

TEST_F(SignOffTest, TheTablesShowWhoSignedAndLeaveTheOthersEmpty) {
  Report report = Load();
  std::string markdown = RenderMarkdown(report);
  EXPECT_NE(markdown.find("## Sign-off\n\n| Role | Who | When | Decision | Comment |\n|---|---|---|"
                          "---|---|\n| db-owner | carol | 2026-11-22 15:30:01 UTC | approved | "
                          "diff reviewed |\n| release-lead | | | not signed | |\n"),
            std::string::npos)
      << markdown;
  std::string html = RenderHtml(report);
  EXPECT_NE(html.find("<tr><td>release-lead</td><td></td><td></td><td>not signed</td>"),
            std::string::npos)
      << html;
}

}  // namespace
}  // namespace stagecraft::report
