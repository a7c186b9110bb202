#include "engine/journal_recorder.h"

#include <fmt/format.h>

#include "runbook/fingerprint.h"

namespace stagecraft::engine {
namespace {

// Keys identify records; the journal's parent and ordinal columns carry the structure.
std::string KeyOf(const ItemRef& item) {
  switch (item.scope) {
    case ItemRef::Scope::kStep:
      return item.step;
    case ItemRef::Scope::kItem:
      return fmt::format("{}/{}", item.step, item.ordinal);
    case ItemRef::Scope::kRollback:
      return fmt::format("rollback/{}", item.ordinal);
  }
  return item.step;
}

std::string ParentOf(const ItemRef& item) {
  return item.scope == ItemRef::Scope::kItem ? item.step : std::string();
}

int OrdinalOf(const ItemRef& item) {
  return item.scope == ItemRef::Scope::kStep ? item.step_number : item.ordinal;
}

}  // namespace

void JournalRecorder::Fail(const Status& status) {
  if (error_.empty()) error_ = status.message();
}

void JournalRecorder::OnRunPlanned(const runbook::Runbook& runbook,
                                   const std::vector<const runbook::Step*>& flow) {
  if (!ok()) return;
  std::vector<journal::StepRecord> records;
  for (size_t i = 0; i < flow.size(); ++i) {
    const runbook::Step& step = *flow[i];
    journal::StepRecord record;
    record.key = step.name;
    record.ordinal = static_cast<int>(i + 1);
    if (step.phase >= 0) record.phase = runbook.phases[step.phase].title;
    record.title = step.title;
    record.kind = StepKind::kStep;
    if (step.budget) record.budget_ms = step.budget->count();
    record.content_hash = runbook::StepContentHash(step);
    records.push_back(std::move(record));
  }
  if (Status status = journal_->PlanSteps(run_id_, records); !status.ok()) Fail(status);
}

int64_t JournalRecorder::Begin(const ItemRef& item) {
  if (!ok()) return 0;
  journal::AttemptRecord attempt;
  attempt.run_id = run_id_;
  attempt.step_key = KeyOf(item);
  attempt.parent_key = ParentOf(item);
  attempt.ordinal = OrdinalOf(item);
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

void JournalRecorder::End(int64_t attempt_id, const AttemptEnd& end) {
  if (!journal_ || attempt_id == 0) return;
  journal::AttemptOutcome ended;
  ended.status = end.status;
  ended.message = end.message;
  ended.detail = end.detail;
  if (const exec::ProcessOutcome* outcome = end.outcome) {
    if (outcome->kind == exec::ProcessOutcome::Kind::kExited) ended.exit_code = outcome->exit_code;
    if (outcome->kind == exec::ProcessOutcome::Kind::kSignaled) ended.signal = outcome->signal;
  }
  for (const auto& [name, value] : end.captures)
    ended.captures[name] = value;
  if (Status stored = journal_->EndAttempt(attempt_id, ended); !stored.ok()) Fail(stored);
}

void JournalRecorder::OnStepStarted(const ItemRef& step, int /*total*/) {
  step_attempt_ = Begin(step);
}

void JournalRecorder::OnStepFinished(const ItemRef& /*step*/, const StepResult& result) {
  AttemptEnd end;
  end.status = result.status;
  end.message = result.message;
  End(step_attempt_, end);
  step_attempt_ = 0;
}

void JournalRecorder::OnAttemptStarted(const ItemRef& item, int /*attempt*/) {
  attempt_ = Begin(item);
}

void JournalRecorder::OnProcessStarted(int64_t process_group, unsigned long long start_ticks) {
  if (!journal_ || attempt_ == 0 || process_group <= 0) return;
  Status status =
      journal_->RecordProcess(attempt_, process_group, static_cast<int64_t>(start_ticks));
  if (!status.ok()) Fail(status);
}

void JournalRecorder::OnOutput(Stream stream, std::string_view bytes) {
  if (!journal_ || attempt_ == 0) return;
  Status status = journal_->AppendOutput(attempt_, stream, bytes);
  if (!status.ok() && lost_output_.empty()) lost_output_ = status.message();
}

void JournalRecorder::OnAttemptFinished(const ItemRef& /*item*/, const AttemptEnd& end) {
  End(attempt_, end);
  attempt_ = 0;
}

void JournalRecorder::OnApproval(const ItemRef& item, const ApprovalEvent& approval) {
  if (!ok()) return;
  journal::ApprovalRecord record;
  record.run_id = run_id_;
  record.step_key = KeyOf(item);
  record.who = approval.who;
  record.how = approval.how;
  record.decision = approval.approved ? ApprovalDecision::kApproved : ApprovalDecision::kRejected;
  record.comment = approval.comment;
  auto stored = journal_->RecordApproval(std::move(record));
  if (!stored.ok()) Fail(stored.status());
}

void JournalRecorder::OnWaiting(const ItemRef& /*item*/, bool waiting) {
  if (!ok()) return;
  if (Status status = journal_->MarkWaiting(run_id_, waiting); !status.ok()) Fail(status);
}

void JournalRecorder::OnScopeChanged(const nlohmann::json& scope) {
  if (!ok()) return;
  if (Status status = journal_->UpdateScope(run_id_, scope); !status.ok()) Fail(status);
}

}  // namespace stagecraft::engine
