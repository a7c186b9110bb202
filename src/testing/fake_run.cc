#include "testing/fake_run.h"

#include <algorithm>

namespace stagecraft::testing {

journal::StepRecord PlannedStep(std::string key, std::string parent, int ordinal, StepKind kind,
                                std::string title, std::string phase,
                                std::optional<int64_t> budget_ms) {
  journal::StepRecord step;
  step.key = std::move(key);
  step.parent_key = std::move(parent);
  step.ordinal = ordinal;
  step.kind = kind;
  step.title = std::move(title);
  step.phase = std::move(phase);
  step.budget_ms = budget_ms;
  return step;
}

FakeRun::FakeRun(journal::Journal& journal, journal::RunRecord run) : journal_(journal) {
  Result<journal::RunRecord> created = journal_.CreateRun(std::move(run));
  if (Check(created)) id_ = created->id;
}

bool FakeRun::Check(const Status& status) {
  if (status_.ok()) status_ = status;
  return status_.ok();
}

void FakeRun::Plan(std::vector<journal::StepRecord> steps) {
  for (journal::StepRecord& step : steps)
    step.run_id = id_;
  if (status_.ok() && Check(journal_.PlanSteps(id_, steps)))
    plan_.insert(plan_.end(), steps.begin(), steps.end());
}

const journal::StepRecord& FakeRun::Step(const std::string& key) const {
  static const journal::StepRecord kUnplanned;
  auto found = std::find_if(plan_.begin(), plan_.end(),
                            [&](const journal::StepRecord& step) { return step.key == key; });
  return found == plan_.end() ? kUnplanned : *found;
}

void FakeRun::Attempt(const journal::StepRecord& step, TimeMs start, TimeMs end,
                      const FakeOutcome& outcome) {
  if (!status_.ok()) return;
  journal::AttemptRecord attempt;
  attempt.run_id = id_;
  attempt.step_key = step.key;
  attempt.parent_key = step.parent_key;
  attempt.ordinal = step.ordinal;
  attempt.kind = step.kind;
  attempt.title = step.title;
  attempt.phase = step.phase;
  attempt.started_at = start;
  Result<journal::AttemptRecord> begun = journal_.BeginAttempt(attempt);
  if (!Check(begun)) return;
  if (!outcome.output.empty())
    Check(journal_.AppendOutput(begun->id, Stream::kStdout, outcome.output, start));
  if (!outcome.stderr_output.empty())
    Check(journal_.AppendOutput(begun->id, Stream::kStderr, outcome.stderr_output, start));
  journal::AttemptOutcome ended;
  ended.status = outcome.status;
  ended.ended_at = end;
  ended.message = outcome.message;
  ended.detail = outcome.detail;
  ended.exit_code = outcome.exit_code;
  Check(journal_.EndAttempt(begun->id, ended));
}

void FakeRun::Approve(const std::string& key, const std::string& who, TimeMs at, ApprovalMethod how,
                      const std::string& comment) {
  if (!status_.ok()) return;
  journal::ApprovalRecord approval;
  approval.run_id = id_;
  approval.step_key = key;
  approval.who = who;
  approval.at = at;
  approval.how = how;
  approval.comment = comment;
  Check(journal_.RecordApproval(approval));
}

void FakeRun::Finish(RunStatus status, int exit_code, TimeMs at) {
  if (status_.ok()) Check(journal_.FinishRun(id_, status, exit_code, at));
}

}  // namespace stagecraft::testing
