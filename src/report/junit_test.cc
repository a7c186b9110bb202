#include "report/junit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include "report/test_util.h"

namespace stagecraft::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(JunitTest, FailedRunMatchesGolden) {
  testing::RecordedRun run;
  EXPECT_EQ(testing::CompareWithGolden("failed-run.junit.xml", RenderJunit(run.Load())), "");
}

TEST(JunitTest, MarkupAndControlCharactersAreEscapedOrDropped) {
  testing::RecordedRun run;
  Report report = run.Load();
  Step& migrate = report.phases[2].steps[1];
  ASSERT_EQ(migrate.key, "migrate-database");
  // Sanitizing happens in the loader; check what JUnit does with text that got past it.
  migrate.items[0].attempts[0].output = "<script>alert(1)</script> ]]> &amp; \"q\"\n";
  std::string xml = RenderJunit(report);
  EXPECT_THAT(xml,
              HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp;amp; &quot;q&quot;"));
  EXPECT_THAT(xml, Not(HasSubstr("<script>")));
}

// Validates against testdata/junit.xsd with xmllint (Debian: libxml2-utils).
TEST(JunitTest, ValidatesAgainstTheSchema) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "xmllint not installed (scripts/setup.sh installs libxml2-utils)";
  testing::RecordedRun run;
  Report report = run.Load();
  // Also a title holding characters XML 1.0 forbids, which must not reach the file.
  report.title = std::string("bell\a nul") + '\0' + " <&>";
  std::string path = run.dir() + "/report.junit.xml";
  std::ofstream(path) << RenderJunit(report);
  std::string command = "xmllint --noout --schema " + testing::TestdataPath("junit.xsd") + " " +
                        path + " >" + run.dir() + "/xmllint.log 2>&1";
  int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << testing::ReadFileOrEmpty(run.dir() + "/xmllint.log");
}

TEST(JunitTest, OneCasePerStepAndCheck) {
  testing::RecordedRun run;
  std::string xml = RenderJunit(run.Load());
  // 7 steps, 2 checks, 2 verifications, 2 rollback blocks.
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"Orders API rollout &lt;staging&gt; &amp; "
                             "friends\" tests=\"13\" failures=\"1\""));
}

// A run that was interrupted mid-step: the step still "running" in the journal is shown
// as interrupted, and JUnit reports it as an error rather than a failure.
TEST(JunitTest, StepRunningWhenTheRunWasInterruptedIsAnError) {
  journal::testing::TempDir dir;
  auto journal = journal::testing::OpenOrDie(journal::testing::ScratchOptions(dir.path()));
  ASSERT_NE(journal, nullptr);
  journal::RunRecord record;
  record.id = "20261122-160000-abcdef";
  record.runbook_path = "/srv/rollouts/x.md";
  record.started_at = testing::kT0;
  testing::FakeRun run(*journal, record);
  run.Plan({testing::PlannedStep("drain", "", 1, StepKind::kStep, "Drain the node", "Phase 1")});
  journal::AttemptRecord attempt;
  attempt.run_id = run.id();
  attempt.step_key = "drain";
  attempt.started_at = testing::kT0;
  ASSERT_TRUE(journal->BeginAttempt(attempt).ok());
  run.Finish(RunStatus::kInterrupted, 130, testing::kT0 + 5000);
  ASSERT_TRUE(run.status().ok()) << run.status().message();

  Result<Report> report = LoadReport(*journal, run.id());
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_EQ(report->phases[0].steps[0].mark, StepStatus::kInterrupted);
  std::string xml = RenderJunit(*report);
  EXPECT_THAT(xml, HasSubstr("errors=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<error message=\"interrupted\" type=\"interrupted\">"));
}

}  // namespace
}  // namespace stagecraft::report
