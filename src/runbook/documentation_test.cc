// Sections and labels that are read, never run: reports of past results, ticked to-do
// lists, summaries labelled "Expected Duration"; and approval checklists, which move to
// the preflight.

#include <gtest/gtest.h>

#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

std::vector<std::string> StepNames(const Runbook& runbook) {
  std::vector<std::string> names;
  for (const Step& step : runbook.steps)
    names.push_back(step.name);
  return names;
}

std::vector<std::string> Documentation(const Runbook& runbook) {
  std::vector<std::string> titles;
  for (const DocumentationSection& section : runbook.documentation)
    titles.push_back(std::string(section.title) + ":" + std::to_string(section.pos.line));
  return titles;
}

TEST(Documentation, ReportsOfPastResultsAreNotRun) {
  auto parsed = ParseRunbook("book.md",
                             "# Release\n"
                             "## Deploy\n```bash\n./deploy.sh\n```\n"
                             "## Validation Results\n```bash\n./deploy.sh --check\n```\n"
                             "### Details\n```bash\ncat results.txt\n```\n"
                             "## Status: VALIDATED\n```bash\necho ok\n```\n"
                             "## Check the results\n```bash\ncurl -f localhost/health\n```\n");
  EXPECT_EQ(StepNames(parsed.runbook), (std::vector<std::string>{"deploy", "check-the-results"}));
  EXPECT_EQ(Documentation(parsed.runbook),
            (std::vector<std::string>{"Validation Results:6", "Status: VALIDATED:14"}));
}

TEST(Documentation, TickedToDoListIsARecordButAnOpenOneIsChecked) {
  auto done = ParseRunbook("book.md",
                           "## Deploy\n```bash\n./deploy.sh\n```\n"
                           "## Next Steps\n- [x] Tell support\n- [x] Close the ticket\n");
  EXPECT_EQ(StepNames(done.runbook), std::vector<std::string>{"deploy"});
  EXPECT_EQ(Documentation(done.runbook), std::vector<std::string>{"Next Steps:5"});

  auto open = ParseRunbook("book.md",
                           "## Deploy\n```bash\n./deploy.sh\n```\n"
                           "## Next Steps\n- [x] Tell support\n- [ ] Close the ticket\n");
  EXPECT_EQ(StepNames(open.runbook), (std::vector<std::string>{"deploy", "next-steps"}));
  EXPECT_TRUE(open.runbook.documentation.empty());
}

TEST(Documentation, ExpectedDurationIsASummaryNotOutput) {
  auto parsed = ParseRunbook("book.md",
                             "## Apply\n```bash\nterraform apply tfplan\n```\n"
                             "**Expected Duration:** 10 minutes\n\n"
                             "**Expected Resources to Create:**\n```\naws_sqs_queue.orders\n```\n"
                             "**Expected Output:**\n```\nApply complete!\n```\n");
  ASSERT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics.front().message;
  ASSERT_EQ(parsed.runbook.steps.size(), 1u);
  const Action& apply = parsed.runbook.steps[0].actions.at(0);
  ASSERT_EQ(apply.expectations.size(), 1u);
  EXPECT_EQ(apply.expectations[0].lines.at(0).pattern, "Apply complete!");
  EXPECT_EQ(parsed.runbook.steps[0].actions.size(), 1u);
}

TEST(Documentation, ApprovalChecklistIsConfirmedInThePreflight) {
  auto parsed = ParseRunbook("book.md",
                             "## Deploy\n```bash\n./deploy.sh\n```\n"
                             "## Approval required from\n- [ ] Security team\n- [ ] DevOps lead\n");
  ASSERT_EQ(parsed.runbook.steps.size(), 2u);
  EXPECT_EQ(parsed.runbook.steps[1].name, "approval-required-from");
  EXPECT_EQ(parsed.runbook.steps[1].kind, StepKind::kPreflight);
}

}  // namespace
}  // namespace stagecraft::runbook
