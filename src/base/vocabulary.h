#pragma once

// The words stagecraft records and shows about a run: output streams, kinds of steps, the
// status of a step or of a run, approvals. Each concept is one enum that every module
// shares, and each value has one name, given by Name and read back by Parse: the text the
// journal stores (docs/journal-format.md), `plan --json` and the reports print and `runs`
// and `show` display. Presentation (icons, "not reached") is derived from these values by
// the module that presents them. Pure functions.

#include <optional>
#include <string_view>
#include <utility>

namespace stagecraft {

template <typename E>
using Names = std::pair<E, std::string_view>;

// The numbers are how the journal stores a stream.
enum class Stream { kStdout = 1, kStderr = 2 };
inline constexpr Names<Stream> kStreamNames[] = {
    {Stream::kStdout, "stdout"},
    {Stream::kStderr, "stderr"},
};

// What a step of the runbook is (kStep, kPreflight, kSuccessCriteria, kRollback), and what a
// journaled record is: every step of the flow is kStep, the items beneath it kStep (an
// action block), kCheck, kManual or kVerification, rollback blocks kRollback or
// kCompensation. The numbers of the first four are part of a runbook's structure hash
// (fingerprint.h), which journals keep to compare on resume.
enum class StepKind {
  kStep,
  kPreflight,        // checklist before the first step: runs before anything changes
  kSuccessCriteria,  // checked after the last step
  kRollback,         // a block of the rollback procedure section
  kCheck,            // a checklist item with an action (exit 0 passes)
  kManual,           // a checklist item without an action, or a gate: a person confirms it
  kVerification,     // a **Verification:** block run after its action
  kCompensation,     // a step's own **Rollback:** block
};
inline constexpr Names<StepKind> kStepKindNames[] = {
    {StepKind::kStep, "step"},
    {StepKind::kPreflight, "preflight"},
    {StepKind::kSuccessCriteria, "success_criteria"},
    {StepKind::kRollback, "rollback"},
    {StepKind::kCheck, "check"},
    {StepKind::kManual, "manual"},
    {StepKind::kVerification, "verification"},
    {StepKind::kCompensation, "compensation"},
};

// The state of a step, of an item of a step, or of one attempt at either.
enum class StepStatus {
  kPending,  // planned, not reached
  kRunning,
  kSucceeded,
  kFailed,
  kSkipped,
  kApproved,     // a manual confirmation or gate that a person approved
  kInterrupted,  // was running when the run was interrupted or crashed
  kWaiting,      // a gate nobody has approved or rejected yet
};
inline constexpr Names<StepStatus> kStepStatusNames[] = {
    {StepStatus::kPending, "pending"},         {StepStatus::kRunning, "running"},
    {StepStatus::kSucceeded, "succeeded"},     {StepStatus::kFailed, "failed"},
    {StepStatus::kSkipped, "skipped"},         {StepStatus::kApproved, "approved"},
    {StepStatus::kInterrupted, "interrupted"}, {StepStatus::kWaiting, "waiting"},
};

// How a run ended, or kRunning while it has not.
enum class RunStatus {
  kRunning,
  kSucceeded,
  kFailed,          // a step failed; rollback was not requested or succeeded partially
  kRolledBack,      // a step failed and the rollback succeeded
  kRollbackFailed,  // a rollback block failed
  kInterrupted,     // SIGINT/SIGTERM, or found abandoned after a crash
  kStopped,         // --on-failure stop: left as is
  kWaiting,         // at a gate nobody has answered yet: `approve`, then `resume`
};
inline constexpr Names<RunStatus> kRunStatusNames[] = {
    {RunStatus::kRunning, "running"},
    {RunStatus::kSucceeded, "succeeded"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kRolledBack, "rolled_back"},
    {RunStatus::kRollbackFailed, "rollback_failed"},
    {RunStatus::kInterrupted, "interrupted"},
    {RunStatus::kStopped, "stopped"},
    {RunStatus::kWaiting, "waiting"},
};

enum class ApprovalMethod {
  kPrompt,   // answered on the terminal
  kYesFlag,  // `run --yes` or `--approve STEP`
  kCommand,  // `stagecraft approve RUN STEP` from elsewhere
};
inline constexpr Names<ApprovalMethod> kApprovalMethodNames[] = {
    {ApprovalMethod::kPrompt, "prompt"},
    {ApprovalMethod::kYesFlag, "--yes"},
    {ApprovalMethod::kCommand, "approve"},
};

enum class ApprovalDecision { kApproved, kRejected };
inline constexpr Names<ApprovalDecision> kApprovalDecisionNames[] = {
    {ApprovalDecision::kApproved, "approved"},
    {ApprovalDecision::kRejected, "rejected"},
};

// Each enum's names, for Name and Parse.
constexpr const auto& NamesOf(Stream) {
  return kStreamNames;
}
constexpr const auto& NamesOf(StepKind) {
  return kStepKindNames;
}
constexpr const auto& NamesOf(StepStatus) {
  return kStepStatusNames;
}
constexpr const auto& NamesOf(RunStatus) {
  return kRunStatusNames;
}
constexpr const auto& NamesOf(ApprovalMethod) {
  return kApprovalMethodNames;
}
constexpr const auto& NamesOf(ApprovalDecision) {
  return kApprovalDecisionNames;
}

// "stderr", "success_criteria", "rolled_back", "--yes"...
template <typename E>
constexpr std::string_view Name(E value) {
  for (const auto& [each, name] : NamesOf(value))
    if (each == value) return name;
  return "unknown";
}

// The value `text` names, or nothing for a word outside the vocabulary.
template <typename E>
constexpr std::optional<E> Parse(std::string_view text) {
  for (const auto& [value, name] : NamesOf(E{}))
    if (name == text) return value;
  return std::nullopt;
}

// True for every status except kRunning.
constexpr bool IsFinished(RunStatus status) {
  return status != RunStatus::kRunning;
}

// True for the kinds of rollback blocks: kRollback and kCompensation.
constexpr bool IsRollbackKind(StepKind kind) {
  return kind == StepKind::kRollback || kind == StepKind::kCompensation;
}

}  // namespace stagecraft
