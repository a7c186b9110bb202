#include "engine/resume_plan.h"

#include <gtest/gtest.h>

#include "runbook/fingerprint.h"
#include "runbook/parser.h"

namespace stagecraft::engine {
namespace {

journal::StepRecord Record(const std::string& key, StepStatus status,
                           const std::string& title = "") {
  journal::StepRecord record;
  record.key = key;
  record.status = status;
  record.title = title;
  return record;
}

// An item of `parent`. Keys are identifiers only: these deliberately do not say whose
// items they are.
journal::StepRecord Item(const std::string& key, const std::string& parent, StepStatus status) {
  journal::StepRecord record = Record(key, status);
  record.parent_key = parent;
  record.ordinal = 1;
  return record;
}

journal::StepRecord RollbackBlock(const std::string& key, int ordinal, StepStatus status,
                                  const std::string& title) {
  journal::StepRecord record = Record(key, status, title);
  record.kind = StepKind::kCompensation;
  record.ordinal = ordinal;
  return record;
}

runbook::Runbook Book() {
  return runbook::ParseRunbook("book.md",
                               "## Done\n```bash\na\n```\n"
                               "## Again\n<!-- stagecraft: idempotent -->\n```bash\nb\n```\n"
                               "## Risky\n```bash\nc\n```\n"
                               "## Later\n```bash\nd\n```\n")
      .runbook;
}

std::vector<journal::StepRecord> Journaled() {
  return {Record("done", StepStatus::kSucceeded),
          Item("first-block", "done", StepStatus::kSucceeded),
          Record("again", StepStatus::kInterrupted),
          Record("risky", StepStatus::kRunning),
          Item("risky-block", "risky", StepStatus::kRunning),
          Record("later", StepStatus::kPending)};
}

TEST(PlanResume, FinishedStepsAreDoneAndInterruptedOnesAreDecidedEach) {
  ResumePlan plan = PlanResume(Book(), Journaled(), InterruptedSteps::kDecideEach);
  EXPECT_EQ(plan.completed, (std::set<std::string>{"done"}));
  EXPECT_EQ(plan.undecided, (std::vector<std::string>{"risky"}));
}

TEST(PlanResume, SkipInterruptedDeclaresThemFinished) {
  ResumePlan plan = PlanResume(Book(), Journaled(), InterruptedSteps::kSkip);
  EXPECT_EQ(plan.completed, (std::set<std::string>{"done", "again", "risky"}));
  EXPECT_TRUE(plan.undecided.empty());
}

TEST(PlanResume, RerunInterruptedRunsThemAgain) {
  ResumePlan plan = PlanResume(Book(), Journaled(), InterruptedSteps::kRerun);
  EXPECT_EQ(plan.completed, (std::set<std::string>{"done"}));
  EXPECT_TRUE(plan.undecided.empty());
}

TEST(PlanResume, AStepWaitingAtItsGateRunsAgain) {
  ResumePlan plan = PlanResume(
      Book(), {Record("done", StepStatus::kSucceeded), Record("again", StepStatus::kWaiting)},
      InterruptedSteps::kDecideEach);
  EXPECT_EQ(plan.completed, (std::set<std::string>{"done"}));
  EXPECT_TRUE(plan.undecided.empty());
}

TEST(PlanResume, SkippedApprovedAndFailedSteps) {
  ResumePlan plan =
      PlanResume(Book(),
                 {Record("done", StepStatus::kSkipped), Record("again", StepStatus::kApproved),
                  Record("risky", StepStatus::kFailed)},
                 InterruptedSteps::kDecideEach);
  EXPECT_EQ(plan.completed, (std::set<std::string>{"done", "again"}));
  EXPECT_TRUE(plan.undecided.empty());
}

// An attempt of `key` (an item of `parent`, or a step when "") that started a process, or
// that did not.
journal::AttemptRecord Attempt(const std::string& key, const std::string& parent, bool spawned) {
  journal::AttemptRecord attempt;
  attempt.step_key = key;
  attempt.parent_key = parent;
  if (spawned) attempt.process_group = 4242;
  return attempt;
}

TEST(PlanRollback, UndoesWhatMayHaveChangedAndSkipsWhatWasUndone) {
  std::vector<journal::StepRecord> journaled = Journaled();
  journaled.push_back(Record("skipped", StepStatus::kSkipped));
  journaled.push_back(Record("broke", StepStatus::kFailed));
  journaled.push_back(Item("broke-block", "broke", StepStatus::kFailed));
  journaled.push_back(Record("confirmed", StepStatus::kApproved));
  journaled.push_back(RollbackBlock("undo-1", 1, StepStatus::kSucceeded, "undo risky"));
  journaled.push_back(RollbackBlock("undo-2", 2, StepStatus::kFailed, "undo again"));
  RollbackPlan plan =
      PlanRollback(journaled, {Attempt("again", "", true), Attempt("risky-block", "risky", true),
                               Attempt("broke-block", "broke", true)});
  EXPECT_EQ(plan.to_undo, (std::set<std::string>{"done", "again", "risky", "broke", "confirmed"}));
  EXPECT_EQ(plan.already_undone, (std::set<std::pair<int, std::string>>{{1, "undo risky"}}));
}

TEST(PlanRollback, StepStoppedBeforeItStartedAProcessIsNotUndone) {
  std::vector<journal::StepRecord> journaled = {
      Record("done", StepStatus::kSucceeded), Record("gated", StepStatus::kFailed),
      Item("gate", "gated", StepStatus::kFailed), Record("killed", StepStatus::kInterrupted)};
  RollbackPlan plan = PlanRollback(journaled, {Attempt("gate", "gated", false)});
  EXPECT_EQ(plan.to_undo, (std::set<std::string>{"done"}));
}

TEST(ChangedSteps, NamesChangedRemovedAndNewSteps) {
  runbook::Runbook book = Book();
  std::vector<journal::StepRecord> journaled;
  for (const auto& step : book.steps) {
    if (step.name == "later") continue;
    journal::StepRecord record = Record(step.name, StepStatus::kSucceeded);
    record.content_hash = step.name == "risky" ? "edited" : runbook::StepContentHash(step);
    journaled.push_back(record);
  }
  journaled.push_back(Record("gone", StepStatus::kSucceeded));
  journaled.push_back(Item("done-block", "done", StepStatus::kSucceeded));
  EXPECT_EQ(ChangedSteps(book, journaled),
            (std::vector<std::string>{"risky (changed)", "gone (removed)", "later (new)"}));
}

}  // namespace
}  // namespace stagecraft::engine
