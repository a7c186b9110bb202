#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "engine/engine.h"
#include "engine/test_util.h"

namespace stagecraft::engine {
namespace {

using testing::EngineTest;

constexpr const char* kGateAfterA =
    "## A\n```bash\necho a\n```\n**Rollback:**\n```bash\nundo-a\n```\n"
    "## B\n```bash { confirm }\necho b\n```\n";

// Options whose recorded decision for step `b` is `decision` from the `after`th look on.
EngineOptions Recorded(std::optional<RecordedDecision> decision, int after = 1,
                       int* looks = nullptr) {
  EngineOptions options;
  options.run_id = "r1";
  options.approval_poll = Millis(10);
  options.recorded_decision = [decision, after, looks, count = 0](const std::string& step) mutable {
    if (looks) ++*looks;
    if (step != "b" || ++count < after) return std::optional<RecordedDecision>();
    return decision;
  };
  return options;
}

TEST_F(EngineTest, RecordedApprovalOpensTheGate) {
  auto result = RunBook(kGateAfterA, Recorded(RecordedDecision{true, "carol", "diff reviewed"}));
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(result.status, RunStatus::kSucceeded);
  EXPECT_EQ(result.steps[1].items[0].status, StepStatus::kApproved);
  EXPECT_EQ(result.steps[1].items[0].message,
            "approved by carol (stagecraft approve): diff reviewed");
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "echo b"}));
}

TEST_F(EngineTest, RecordedRejectionFailsTheStepAndRollsBack) {
  auto result = RunBook(kGateAfterA, Recorded(RecordedDecision{false, "carol", "not today"}));
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_EQ(result.status, RunStatus::kRolledBack);
  EXPECT_EQ(result.steps[1].status, StepStatus::kFailed);
  EXPECT_EQ(result.message, "step b rejected: rejected by carol: not today; rolled back");
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "undo-a"}));
}

TEST_F(EngineTest, WithoutADecisionTheRunWaitsNamingTheCommands) {
  auto result = RunBook(kGateAfterA, Recorded(std::nullopt));
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.status, RunStatus::kWaiting);
  EXPECT_EQ(result.steps[1].status, StepStatus::kWaiting);
  EXPECT_EQ(result.message,
            "step b is waiting for approval: stagecraft approve r1 b, then stagecraft resume r1");
  EXPECT_EQ(Calls(), std::vector<std::string>{"echo a"});
}

TEST_F(EngineTest, AnAttachedGatePicksUpADecisionTakenWhileItWaits) {
  int looks = 0;
  EngineOptions options = Recorded(RecordedDecision{true, "carol", ""}, 5, &looks);
  options.wait_for_approval = Millis(60000);
  auto result = RunBook(kGateAfterA, options);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(looks, 5);
  EXPECT_NE(console_text_.find("waiting up to 1m for approval: stagecraft approve r1 b"),
            std::string::npos)
      << console_text_;
}

TEST_F(EngineTest, AnAttachedGateLeftUnansweredEndsWaiting) {
  EngineOptions options = Recorded(std::nullopt);
  options.wait_for_approval = Millis(50);
  auto result = RunBook(kGateAfterA, options);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.status, RunStatus::kWaiting);
}

TEST_F(EngineTest, TimeWaitingForApprovalIsNotCountedAgainstTheBudget) {
  // Polled every 10 ms, the decision arrives after about 600 ms: three budgets' worth.
  EngineOptions options = Recorded(RecordedDecision{true, "carol", ""}, 60);
  options.wait_for_approval = Millis(60000);
  auto result = RunBook("## B (200ms)\n```bash { confirm }\necho b\n```\n", options);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_FALSE(result.steps[0].over_budget);
  EXPECT_LT(result.steps[0].elapsed, Millis(200));
}

TEST_F(EngineTest, APromptGivesWayToADecisionRecordedWhileItIsUp) {
  prompter_.available_ = true;
  prompter_.slices_before_answer = 10;
  prompter_.answers = {"n"};
  int looks = 0;
  // The first look is the gate's own, before the question is asked.
  auto result = RunBook(kGateAfterA, Recorded(RecordedDecision{true, "carol", ""}, 3, &looks));
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(looks, 3);
  EXPECT_EQ(prompter_.questions.size(), 1u);
  EXPECT_EQ(prompter_.slices, std::vector<Millis>{Millis(10)});
  EXPECT_EQ(prompter_.answers.size(), 1u);  // nothing was read
  EXPECT_EQ(result.steps[1].items[0].status, StepStatus::kApproved);
  EXPECT_EQ(result.steps[1].items[0].message, "approved by carol (stagecraft approve)");
  EXPECT_NE(console_text_.find("approved by carol (stagecraft approve)"), std::string::npos)
      << console_text_;
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "echo b"}));
}

TEST_F(EngineTest, ARejectionRecordedWhileThePromptIsUpRollsBack) {
  prompter_.available_ = true;
  prompter_.slices_before_answer = 10;
  auto result = RunBook(kGateAfterA, Recorded(RecordedDecision{false, "carol", "not now"}, 2));
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_EQ(result.message, "step b rejected: rejected by carol: not now; rolled back");
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "undo-a"}));
}

TEST_F(EngineTest, AnAnswerTypedBeforeAnyRecordedDecisionDecides) {
  prompter_.available_ = true;
  prompter_.slices_before_answer = 2;
  prompter_.answers = {"y"};
  EngineOptions options = Recorded(RecordedDecision{false, "carol", ""}, 10);
  options.user = "alice";
  auto result = RunBook(kGateAfterA, options);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(result.steps[1].items[0].message, "approved by alice at the prompt");
}

constexpr const char* kRoleGate =
    "---\napprovers:\n  db-owner: [carol]\n---\n"
    "## A\n```bash\necho a\n```\n"
    "## B\n<!-- stagecraft: role=db-owner -->\n```bash { confirm }\necho b\n```\n";

TEST_F(EngineTest, AtATerminalAGateTheOperatorMayNotDecideWaitsForWhoMay) {
  prompter_.available_ = true;
  int looks = 0;
  EngineOptions options = Recorded(RecordedDecision{true, "carol", ""}, 5, &looks);
  options.user = "alice";
  auto result = RunBook(kRoleGate, options);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(looks, 5);
  EXPECT_TRUE(prompter_.questions.empty());
  EXPECT_NE(console_text_.find("waiting for approval: db-owner (carol) must approve it: "
                               "stagecraft approve r1 b (Ctrl-C leaves the run waiting)"),
            std::string::npos)
      << console_text_;
  EXPECT_EQ(result.steps[1].items[0].message, "approved by carol (stagecraft approve)");
}

TEST_F(EngineTest, WithoutATerminalAGateTheOperatorMayNotDecideEndsWaiting) {
  int looks = 0;
  EngineOptions options = Recorded(RecordedDecision{true, "carol", ""}, 5, &looks);
  options.user = "alice";
  auto result = RunBook(kRoleGate, options);
  EXPECT_EQ(result.exit_code, 4) << console_text_;
  EXPECT_EQ(result.message,
            "step b is waiting for approval: db-owner (carol) must approve it: stagecraft "
            "approve r1 b, then stagecraft resume r1");
}

TEST_F(EngineTest, ARollbackGateNobodyAnswersFailsInsteadOfWaiting) {
  runner_.On({"kubectl", 1});
  auto result = RunBook(
      "## A\n```bash\nkubectl apply -f boom.yaml\n```\n## Rollback\n```bash { confirm "
      "}\nrestore\n```\n",
      Recorded(std::nullopt));
  EXPECT_EQ(result.status, RunStatus::kRollbackFailed) << console_text_;
  EXPECT_EQ(result.exit_code, 3);
}

}  // namespace
}  // namespace stagecraft::engine
