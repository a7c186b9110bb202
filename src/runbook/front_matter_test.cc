// What the front matter's newer keys put in the model: inputs, notify targets, approvers, and
// the Runme vocabulary. The messages for malformed ones are in parser_test.cc's table.

#include <gtest/gtest.h>

#include "runbook/parser.h"
#include "runbook/test_util.h"

namespace stagecraft::runbook {
namespace {

ParseResult Parse(std::string_view markdown) {
  return ParseRunbook("book.md", markdown);
}

TEST(FrontMatter, RunmeAttributesMeanWhatOursDo) {
  auto result = Parse(
      "---\ncwd: work\nskipPrompts: true\n---\n"
      "## A\n```sh { interpreter=bash interactive=true }\nx\n```\n"
      "```bash { excludeFromRunAll=true }\ny\n```\n"
      "```bash { excludeFromRunAll=false }\nz\n```\n");
  const auto& front = result.runbook.front_matter;
  EXPECT_EQ(front.root, std::optional<std::string>("work"));
  EXPECT_TRUE(front.skip_prompts);
  const auto& actions = result.runbook.steps.at(0).actions;
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].block.interpreter, "bash");
  EXPECT_TRUE(actions[0].attributes.interactive);
  EXPECT_TRUE(actions[1].attributes.skip);
  EXPECT_FALSE(actions[2].attributes.skip);
}

TEST(FrontMatter, InputsAreDeclaredInTheFrontMatter) {
  auto result = Parse(
      "---\ninputs:\n  TASK_ARN:\n    description: the task\n  REVISION:\n    default: \"42\"\n"
      "  ACCOUNT_ID:\n    command: aws sts get-caller-identity\n  BARE:\n---\n");
  const auto& inputs = result.runbook.front_matter.inputs;
  ASSERT_EQ(inputs.size(), 4u);
  EXPECT_EQ(inputs[0].name, "TASK_ARN");
  EXPECT_EQ(inputs[0].description, "the task");
  EXPECT_EQ(inputs[0].pos.line, 3);
  EXPECT_EQ(inputs[1].default_value, std::optional<std::string>("42"));
  EXPECT_EQ(inputs[2].command, std::optional<std::string>("aws sts get-caller-identity"));
  EXPECT_EQ(inputs[3].name, "BARE");
  EXPECT_FALSE(inputs[3].default_value || inputs[3].command);
}

TEST(FrontMatter, NotifyTargetsKeepTheirValuesAsWrittenAndTheEventsTheyWant) {
  auto result = Parse(
      "---\nnotify:\n  - webhook: https://hooks.example.com/deploy\n"
      "    events: [waiting, failed, rolled_back]\n  - slack: ${SLACK_WEBHOOK_URL}\n"
      "  - command: mail -s \"stagecraft\" ops@example.com\n    events: [failed]\n---\n"
      "## Deploy\n```bash\nx\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const auto& notify = result.runbook.front_matter.notify;
  ASSERT_EQ(notify.size(), 3u);
  EXPECT_EQ(notify[0].kind, NotifyKind::kWebhook);
  EXPECT_EQ(notify[0].value, "https://hooks.example.com/deploy");
  EXPECT_EQ(notify[0].pos.line, 3);
  EXPECT_FALSE(notify[0].Wants(NotifyEvent::kStarted));
  EXPECT_TRUE(notify[0].Wants(NotifyEvent::kWaiting));
  EXPECT_TRUE(notify[0].Wants(NotifyEvent::kRolledBack));
  EXPECT_FALSE(notify[0].Wants(NotifyEvent::kSucceeded));
  EXPECT_EQ(notify[1].kind, NotifyKind::kSlack);
  EXPECT_EQ(notify[1].value, "${SLACK_WEBHOOK_URL}");
  for (NotifyEvent event : kNotifyEvents)
    EXPECT_TRUE(notify[1].Wants(event)) << NotifyEventName(event);
  EXPECT_EQ(notify[2].kind, NotifyKind::kCommand);
  EXPECT_EQ(notify[2].value, "mail -s \"stagecraft\" ops@example.com");
  EXPECT_EQ(notify[2].events, 1u << static_cast<int>(NotifyEvent::kFailed));
}

TEST(FrontMatter, RolesComeFromTheFrontMatterAStepAndItsGates) {
  auto result = Parse(
      "---\napprovers:\n  release-lead: [alice, bob]\n  db-owner: carol\n"
      "allow_self_approval: true\n---\n"
      "## Migrate\n<!-- stagecraft: role=db-owner -->\n"
      "```bash { confirm role=release-lead prompt=\"Diff reviewed?\" }\nx\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const auto& fm = result.runbook.front_matter;
  EXPECT_TRUE(fm.allow_self_approval);
  ASSERT_EQ(fm.approvers.size(), 2u);
  EXPECT_EQ(fm.approvers[0].accounts, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(result.runbook.FindRole("db-owner")->accounts, std::vector<std::string>{"carol"});
  const Step& step = result.runbook.steps[0];
  EXPECT_EQ(result.runbook.GateRole(step, nullptr), "db-owner");
  EXPECT_EQ(result.runbook.GateRole(step, &step.actions[0]), "release-lead");
  EXPECT_EQ(result.runbook.BlockGate(step.actions[0])->prompt, "Diff reviewed?");
}

}  // namespace
}  // namespace stagecraft::runbook
