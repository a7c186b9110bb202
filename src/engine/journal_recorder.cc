#include "engine/journal_recorder.h"

#include <fmt/format.h>

#include "base/sha256.h"
#include "engine/engine.h"

namespace stagecraft::engine {

std::string StepContentHash(const runbook::Step& step) {
  std::string text = fmt::format("{}\n{}\n", step.manual, step.skip);
  auto add_action = [&](const runbook::Action& action) {
    text += action.interpreter + '\n' + action.block.text + '\x1f';
    for (const auto& verification : action.verifications)
      text += verification.text + '\x1f';
  };
  for (const auto& action : step.actions)
    add_action(action);
  std::vector<const runbook::ChecklistItem*> items;
  for (const auto& item : step.checklist)
    items.push_back(&item);
  for (size_t i = 0; i < items.size(); ++i) {
    text += items[i]->text + '\x1e';
    for (const auto& action : items[i]->actions)
      add_action(action);
    for (const auto& child : items[i]->children)
      items.push_back(&child);
  }
  for (const auto& block : step.compensation)
    text += block.text + '\x1d';
  return Sha256Hex(text);
}

std::string StructureHash(const runbook::Runbook& runbook) {
  std::string text;
  for (const auto& step : runbook.steps)
    text +=
        fmt::format("{}\t{}\t{}\n", static_cast<int>(step.kind), step.name, StepContentHash(step));
  return Sha256Hex(text);
}

journal::StepStatus ToJournalStatus(ItemStatus status) {
  switch (status) {
    case ItemStatus::kPassed:
      return journal::StepStatus::kSucceeded;
    case ItemStatus::kSkipped:
      return journal::StepStatus::kSkipped;
    case ItemStatus::kApproved:
      return journal::StepStatus::kApproved;
    case ItemStatus::kInterrupted:
      return journal::StepStatus::kInterrupted;
    case ItemStatus::kNotReached:
      return journal::StepStatus::kPending;
    case ItemStatus::kFailed:
    case ItemStatus::kWaiting:
    case ItemStatus::kDeclined:
      return journal::StepStatus::kFailed;
  }
  return journal::StepStatus::kFailed;
}

void JournalRecorder::Fail(const Status& status) {
  if (error_.empty()) error_ = status.message();
}

void JournalRecorder::PlanSteps(const std::vector<journal::StepRecord>& steps) {
  if (!journal_ || failed()) return;
  Status status = journal_->PlanSteps(run_id_, steps);
  if (!status.ok()) Fail(status);
}

int64_t JournalRecorder::Begin(const JournalItem& item) {
  if (!journal_ || failed()) return 0;
  journal::AttemptRecord attempt;
  attempt.run_id = run_id_;
  attempt.step_key = item.key;
  attempt.step_index = item.index;
  attempt.phase = item.phase;
  attempt.title = item.title;
  attempt.kind = item.kind;
  if (item.budget) attempt.budget_ms = item.budget->count();
  auto stored = journal_->BeginAttempt(std::move(attempt));
  if (!stored.ok()) {
    Fail(stored.status());
    return 0;
  }
  return stored.value().id;
}

void JournalRecorder::Process(int64_t attempt_id, int64_t process_group,
                              unsigned long long start_ticks) {
  if (!journal_ || attempt_id == 0) return;
  Status status =
      journal_->RecordProcess(attempt_id, process_group, static_cast<int64_t>(start_ticks));
  if (!status.ok()) Fail(status);
}

void JournalRecorder::End(int64_t attempt_id, ItemStatus status, const std::string& message,
                          const std::string& detail, const ProcessOutcome* outcome,
                          const std::map<std::string, std::string>& captures) {
  if (!journal_ || attempt_id == 0) return;
  journal::AttemptOutcome ended;
  ended.status = ToJournalStatus(status);
  ended.message = detail.empty() ? message : message + "\n" + detail;
  if (outcome) {
    if (outcome->kind == ProcessOutcome::Kind::kExited) ended.exit_code = outcome->exit_code;
    if (outcome->kind == ProcessOutcome::Kind::kSignaled) ended.signal = outcome->signal;
  }
  for (const auto& [name, value] : captures)
    ended.captures[name] = value;
  Status stored = journal_->EndAttempt(attempt_id, ended);
  if (!stored.ok()) Fail(stored);
}

void JournalRecorder::Approval(const std::string& key, const std::string& who,
                               journal::ApprovalMethod how, bool approved,
                               const std::string& comment) {
  if (!journal_ || failed()) return;
  journal::ApprovalRecord record;
  record.run_id = run_id_;
  record.step_key = key;
  record.who = who;
  record.how = how;
  record.decision =
      approved ? journal::ApprovalDecision::kApproved : journal::ApprovalDecision::kRejected;
  record.comment = comment;
  auto stored = journal_->RecordApproval(std::move(record));
  if (!stored.ok()) Fail(stored.status());
}

void JournalRecorder::UpdateScope(const nlohmann::json& scope) {
  if (!journal_ || failed()) return;
  Status status = journal_->UpdateScope(run_id_, scope);
  if (!status.ok()) Fail(status);
}

void JournalRecorder::OutputWriter::OnOutput(exec::Stream stream, std::string_view bytes) {
  if (!recorder_.journal_ || attempt_id_ == 0) return;
  Status status = recorder_.journal_->AppendOutput(
      attempt_id_,
      stream == exec::Stream::kStderr ? journal::Stream::kStderr : journal::Stream::kStdout, bytes);
  if (!status.ok() && recorder_.lost_output_.empty()) recorder_.lost_output_ = status.message();
}

}  // namespace stagecraft::engine
