// End-to-end tests of `stagecraft report` on a journal recorded by the report module's
// test fixture (src/report/test_util.h).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/test_util.h"
#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ReportCommandTest : public ::testing::Test {
 protected:
  // The journal directory of the recorded run.
  std::string State() { return run_.dir(); }

  report::testing::RecordedRun run_;
};

TEST_F(ReportCommandTest, LatestRunAsMarkdownMatchesTheModuleGolden) {
  auto result = RunStagecraft({"report", "latest", "--state", State()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            report::testing::ReadFileOrEmpty(report::testing::TestdataPath("failed-run.md")));
}

TEST_F(ReportCommandTest, EveryFormatByPrefix) {
  auto json = RunStagecraft({"report", "20261122-1530", "--format", "json", "--state", State()});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, StartsWith("{\n  \"schema\": \"stagecraft.report/v1\""));
  auto junit = RunStagecraft({"report", "20261122", "--format", "junit", "--state", State()});
  EXPECT_EQ(junit.exit_code, 0) << junit.err;
  EXPECT_THAT(junit.out, StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
  auto html = RunStagecraft({"report", "latest", "--format", "html", "--state", State()});
  EXPECT_EQ(html.exit_code, 0) << html.err;
  EXPECT_THAT(html.out, StartsWith("<!DOCTYPE html>"));
}

TEST_F(ReportCommandTest, WritesToAFile) {
  TempDir out;
  auto result = RunStagecraft(
      {"report", "latest", "--format", "html", "-o", out.File("r.html"), "--state", State()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(ReadFile(out.File("r.html")), HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST_F(ReportCommandTest, UnknownRunIsAUsageError) {
  auto result = RunStagecraft({"report", "20991231", "--state", State()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "stagecraft: error: journal: no run matches '20991231'\n");
}

TEST_F(ReportCommandTest, UnknownFormatIsAUsageError) {
  auto result = RunStagecraft({"report", "latest", "--format", "pdf", "--state", State()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("--format"));
}

TEST(ReportCommandNoJournalTest, MissingJournalIsAUsageError) {
  TempDir empty;
  auto result = RunStagecraft({"report", "latest", "--state", empty.File("state")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("no runs recorded in"));
}

}  // namespace
}  // namespace stagecraft::testing
