#include "base/vocabulary.h"

#include <gtest/gtest.h>

namespace stagecraft {
namespace {

template <typename E>
void ExpectNamesParseBack(std::initializer_list<E> values) {
  for (E value : values) {
    EXPECT_NE(Name(value), "unknown");
    EXPECT_EQ(Parse<E>(Name(value)), value) << Name(value);
  }
}

TEST(Vocabulary, EveryNameParsesBack) {
  ExpectNamesParseBack({Stream::kStdout, Stream::kStderr});
  ExpectNamesParseBack({StepKind::kStep, StepKind::kPreflight, StepKind::kSuccessCriteria,
                        StepKind::kRollback, StepKind::kCheck, StepKind::kManual,
                        StepKind::kVerification, StepKind::kCompensation});
  ExpectNamesParseBack({StepStatus::kPending, StepStatus::kRunning, StepStatus::kSucceeded,
                        StepStatus::kFailed, StepStatus::kSkipped, StepStatus::kApproved,
                        StepStatus::kInterrupted, StepStatus::kWaiting});
  ExpectNamesParseBack({RunStatus::kRunning, RunStatus::kSucceeded, RunStatus::kFailed,
                        RunStatus::kRolledBack, RunStatus::kRollbackFailed, RunStatus::kInterrupted,
                        RunStatus::kStopped, RunStatus::kWaiting});
  ExpectNamesParseBack(
      {ApprovalMethod::kPrompt, ApprovalMethod::kYesFlag, ApprovalMethod::kCommand});
  ExpectNamesParseBack({ApprovalDecision::kApproved, ApprovalDecision::kRejected});
  EXPECT_EQ(Parse<RunStatus>("Running"), std::nullopt);
  EXPECT_EQ(Parse<StepStatus>(""), std::nullopt);
}

TEST(Vocabulary, StoredNamesAreStable) {
  // These strings are in users' journal files, docs/journal-format.md and plan-schema.md.
  EXPECT_EQ(Name(RunStatus::kRolledBack), "rolled_back");
  EXPECT_EQ(Name(RunStatus::kRollbackFailed), "rollback_failed");
  EXPECT_EQ(Name(StepKind::kCompensation), "compensation");
  EXPECT_EQ(Name(StepKind::kSuccessCriteria), "success_criteria");
  EXPECT_EQ(Name(Stream::kStderr), "stderr");
  EXPECT_EQ(Name(ApprovalMethod::kYesFlag), "--yes");
  EXPECT_EQ(Name(RunStatus::kWaiting), "waiting");
  EXPECT_EQ(Name(StepStatus::kWaiting), "waiting");
}

TEST(Vocabulary, RunbookStepKindsKeepTheirNumbers) {
  // Structure hashes that journals keep were computed with these.
  EXPECT_EQ(static_cast<int>(StepKind::kPreflight), 1);
  EXPECT_EQ(static_cast<int>(StepKind::kSuccessCriteria), 2);
  EXPECT_EQ(static_cast<int>(StepKind::kRollback), 3);
}

TEST(Vocabulary, OnlyRunningIsUnfinished) {
  EXPECT_FALSE(IsFinished(RunStatus::kRunning));
  EXPECT_TRUE(IsFinished(RunStatus::kStopped));
}

}  // namespace
}  // namespace stagecraft
