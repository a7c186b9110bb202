#include "report/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "report/github_summary.h"
#include "report/test_util.h"

namespace stagecraft::report {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ReportTest, ParsesFormatNames) {
  EXPECT_EQ(ParseFormat("md"), Format::kMarkdown);
  EXPECT_EQ(ParseFormat("html"), Format::kHtml);
  EXPECT_EQ(ParseFormat("json"), Format::kJson);
  EXPECT_EQ(ParseFormat("junit"), Format::kJunit);
  EXPECT_EQ(ParseFormat("pdf"), std::nullopt);
}

TEST(ReportTest, WritesAllFourReportsIntoTheRunDirectory) {
  testing::RecordedRun run;
  std::string dir = run.dir() + "/runs/" + run.run_id();
  Result<std::vector<std::string>> paths = WriteRunReports(run.journal(), run.run_id(), dir);
  ASSERT_TRUE(paths.ok()) << paths.error();
  EXPECT_THAT(*paths, ElementsAre(dir + "/report.md", dir + "/report.html", dir + "/report.json",
                                  dir + "/report.junit.xml"));
  for (const std::string& path : *paths)
    EXPECT_GT(std::filesystem::file_size(path), 1000u) << path;
  // What `stagecraft report` renders is what the run wrote.
  std::string markdown;
  ASSERT_TRUE(RenderReport(run.journal(), run.run_id(), Format::kMarkdown, markdown).ok());
  EXPECT_EQ(markdown, testing::ReadFileOrEmpty(dir + "/report.md"));
  std::string json;
  ASSERT_TRUE(RenderReport(run.journal(), run.run_id(), Format::kJson, json).ok());
  EXPECT_EQ(json, testing::ReadFileOrEmpty(dir + "/report.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/report.md.tmp"));
}

TEST(ReportTest, UnknownRunIsAnError) {
  testing::RecordedRun run;
  std::string out = "untouched";
  Status status = RenderReport(run.journal(), "20990101-000000-000000", Format::kHtml, out);
  EXPECT_FALSE(status.ok());
  Result<std::vector<std::string>> paths =
      WriteRunReports(run.journal(), "20990101-000000-000000", run.dir() + "/x");
  EXPECT_FALSE(paths.ok());
}

TEST(GithubSummaryTest, AppendsTheShortSummary) {
  testing::RecordedRun run;
  std::string path = run.dir() + "/summary.md";
  testing::WriteFileOrDie(path, "earlier step\n");
  ASSERT_TRUE(AppendGithubSummaryTo(run.journal(), run.run_id(), path).ok());
  std::string summary = testing::ReadFileOrEmpty(path);
  EXPECT_THAT(summary, StartsWith("earlier step\n# ❌ Orders API rollout"));
  EXPECT_THAT(summary, HasSubstr("### ❌ Migrate the database"));
  EXPECT_EQ(summary.substr(13),
            testing::ReadFileOrEmpty(testing::TestdataPath("failed-run.summary.md")));
}

TEST(GithubSummaryTest, DoesNothingWithoutTheVariable) {
  testing::RecordedRun run;
  unsetenv("GITHUB_STEP_SUMMARY");
  EXPECT_TRUE(AppendGithubSummary(run.journal(), run.run_id()).ok());
  std::string path = run.dir() + "/from-env.md";
  setenv("GITHUB_STEP_SUMMARY", path.c_str(), 1);
  EXPECT_TRUE(AppendGithubSummary(run.journal(), run.run_id()).ok());
  unsetenv("GITHUB_STEP_SUMMARY");
  EXPECT_THAT(testing::ReadFileOrEmpty(path),
              EndsWith("| alice | 2026-11-22 15:31:43 UTC | --yes | approved |  |\n\n"));
}

}  // namespace
}  // namespace stagecraft::report
