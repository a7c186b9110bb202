// SqliteJournal: steps as planned and the attempts at them.

#include <fmt/format.h>

#include "journal/sqlite_db.h"
#include "journal/sqlite_journal.h"

namespace stagecraft::journal {
namespace {

constexpr const char* kAttemptSelect =
    "SELECT a.id, a.run_id, a.step_key, s.ordinal, s.phase, s.title, s.kind, a.status, "
    "a.attempt, a.started_at, a.ended_at, a.exit_code, a.signal, a.budget_ms, a.message, "
    "a.captures, a.pgid, a.pgid_start, COALESCE(s.parent_key, ''), a.detail FROM attempts a "
    "JOIN steps s ON s.run_id = a.run_id AND s.step_key = a.step_key";

Status NoAttempt(int64_t attempt_id) {
  return Status::Error(fmt::format("journal: no attempt {}", attempt_id));
}

Result<StepRecord> ReadStep(const Statement& row) {
  StepRecord step;
  step.run_id = row.Text(0);
  step.key = row.Text(1);
  step.ordinal = static_cast<int>(row.Int(2));
  step.phase = row.Text(3);
  step.title = row.Text(4);
  std::optional<StepKind> kind = Parse<StepKind>(row.Text(5));
  step.budget_ms = row.OptionalInt(6);
  step.content_hash = row.Text(7);
  std::optional<StepStatus> status = Parse<StepStatus>(row.Text(8));
  if (!kind || !status) {
    return Status::Error(fmt::format("journal: step {} of run {} has an unknown kind or status",
                                     step.key, step.run_id));
  }
  step.kind = *kind;
  step.status = *status;
  step.attempts = static_cast<int>(row.Int(9));
  step.parent_key = row.Text(10);
  return step;
}

Result<AttemptRecord> ReadAttempt(const Statement& row) {
  AttemptRecord attempt;
  attempt.id = row.Int(0);
  attempt.run_id = row.Text(1);
  attempt.step_key = row.Text(2);
  attempt.ordinal = static_cast<int>(row.Int(3));
  attempt.phase = row.Text(4);
  attempt.title = row.Text(5);
  std::optional<StepKind> kind = Parse<StepKind>(row.Text(6));
  std::optional<StepStatus> status = Parse<StepStatus>(row.Text(7));
  if (!kind || !status) {
    return Status::Error(fmt::format("journal: attempt {} has an unknown kind '{}' or status '{}'",
                                     attempt.id, row.Text(6), row.Text(7)));
  }
  attempt.kind = *kind;
  attempt.status = *status;
  attempt.attempt = static_cast<int>(row.Int(8));
  attempt.started_at = row.Int(9);
  attempt.ended_at = row.OptionalInt(10);
  attempt.exit_code = row.OptionalInt32(11);
  attempt.signal = row.OptionalInt32(12);
  attempt.budget_ms = row.OptionalInt(13);
  attempt.message = row.Text(14);
  Result<nlohmann::json> captures =
      ParseJson(row.Text(15), fmt::format("captures of attempt {}", attempt.id));
  if (!captures.ok()) return captures.status();
  attempt.captures = std::move(*captures);
  attempt.process_group = row.OptionalInt(16);
  attempt.process_start = row.OptionalInt(17);
  attempt.parent_key = row.Text(18);
  attempt.detail = row.Text(19);
  return attempt;
}

}  // namespace

Status SqliteJournal::PlanSteps(const std::string& run_id, const std::vector<StepRecord>& steps) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
    Result<Statement> upsert = db_->Prepare(
        "INSERT INTO steps (run_id, step_key, parent_key, ordinal, phase, title, kind, "
        "budget_ms, content_hash, status) VALUES (?1, ?2, NULLIF(?9, ''), ?3, ?4, ?5, ?6, ?7, "
        "?8, ?10) ON CONFLICT (run_id, step_key) DO UPDATE SET "
        "parent_key = excluded.parent_key, ordinal = excluded.ordinal, phase = excluded.phase, "
        "title = excluded.title, kind = excluded.kind, budget_ms = excluded.budget_ms, "
        "content_hash = excluded.content_hash");
    if (!upsert.ok()) return upsert.status();
    for (const StepRecord& step : steps) {
      if (step.key.empty()) return Status::Error("journal: a step key must not be empty");
      upsert->Reset();
      upsert->BindAll(run_id, step.key, int64_t{step.ordinal}, step.phase, step.title,
                      Name(step.kind), step.budget_ms, step.content_hash, step.parent_key,
                      Name(StepStatus::kPending));
      if (Status status = upsert->Run(); !status.ok()) return status;
    }
    return Status::Ok();
  });
}

Result<std::vector<StepRecord>> SqliteJournal::ListSteps(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  // The order a report shows: each step followed by its items, then the rollback blocks.
  return db_->Rows<StepRecord>(
      ReadStep,
      "SELECT s.run_id, s.step_key, s.ordinal, s.phase, s.title, s.kind, s.budget_ms, "
      "s.content_hash, s.status, (SELECT count(*) FROM attempts a WHERE a.run_id = s.run_id "
      "AND a.step_key = s.step_key), COALESCE(s.parent_key, '') FROM steps s "
      "LEFT JOIN steps p ON p.run_id = s.run_id AND p.step_key = s.parent_key "
      "WHERE s.run_id = ?1 ORDER BY s.kind IN (?2, ?3), "
      "COALESCE(p.ordinal, s.ordinal), s.parent_key IS NOT NULL, s.ordinal, s.step_key",
      run_id, Name(StepKind::kRollback), Name(StepKind::kCompensation));
}

Result<AttemptRecord> SqliteJournal::LoadAttemptLocked(int64_t attempt_id) {
  return FirstRow(db_->Rows<AttemptRecord>(
                      ReadAttempt, fmt::format("{} WHERE a.id = ?1", kAttemptSelect), attempt_id),
                  NoAttempt(attempt_id));
}

Result<std::string> SqliteJournal::RunOfAttemptLocked(int64_t attempt_id) {
  if (auto it = attempt_runs_.find(attempt_id); it != attempt_runs_.end()) return it->second;
  Result<std::string> run_id =
      FirstRow(db_->Rows<std::string>([](const Statement& row) { return row.Text(0); },
                                      "SELECT run_id FROM attempts WHERE id = ?1", attempt_id),
               NoAttempt(attempt_id));
  if (run_id.ok()) attempt_runs_.emplace(attempt_id, *run_id);
  return run_id;
}

Result<AttemptRecord> SqliteJournal::BeginAttempt(AttemptRecord attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attempt.step_key.empty()) return Status::Error("journal: a step key must not be empty");
  if (attempt.started_at == 0) attempt.started_at = NowMs();
  int64_t id = 0;
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status exists = RequireRunLocked(attempt.run_id); !exists.ok()) return exists;
    // Unplanned keys (compensations, steps added by a resume) are planned on the spot.
    Status planned = db_->Run(
        "INSERT INTO steps (run_id, step_key, parent_key, ordinal, phase, title, kind, "
        "budget_ms, content_hash, status) VALUES (?1, ?2, NULLIF(?9, ''), ?3, ?4, ?5, ?6, ?7, "
        "'', ?8) ON CONFLICT (run_id, step_key) DO UPDATE SET status = excluded.status",
        attempt.run_id, attempt.step_key, int64_t{attempt.ordinal}, attempt.phase, attempt.title,
        Name(attempt.kind), attempt.budget_ms, Name(attempt.status), attempt.parent_key);
    if (!planned.ok()) return planned;
    Status inserted = db_->Run(
        "INSERT INTO attempts (run_id, step_key, attempt, status, started_at, ended_at, "
        "exit_code, signal, budget_ms, message, captures, detail) VALUES (?1, ?2, "
        "CASE WHEN ?3 > 0 THEN ?3 ELSE (SELECT COALESCE(MAX(attempt), 0) + 1 FROM attempts "
        "WHERE run_id = ?1 AND step_key = ?2) END, ?4, ?5, ?6, ?7, ?8, "
        "COALESCE(?9, (SELECT budget_ms FROM steps WHERE run_id = ?1 AND step_key = ?2)), "
        "?10, ?11, ?12)",
        attempt.run_id, attempt.step_key, int64_t{attempt.attempt}, Name(attempt.status),
        attempt.started_at, attempt.ended_at, attempt.exit_code, attempt.signal, attempt.budget_ms,
        attempt.message, DumpJson(attempt.captures), attempt.detail);
    id = db_->LastInsertId();
    return inserted;
  });
  if (!status.ok()) return status;
  attempt_runs_[id] = attempt.run_id;
  return LoadAttemptLocked(id);
}

Status SqliteJournal::EndAttempt(int64_t attempt_id, const AttemptOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  TimeMs ended_at = outcome.ended_at == 0 ? NowMs() : outcome.ended_at;
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Status ended =
        db_->Update(NoAttempt(attempt_id),
                    "UPDATE attempts SET status = ?2, ended_at = ?3, exit_code = ?4, "
                    "signal = ?5, message = ?6, captures = ?7, detail = ?8 WHERE id = ?1",
                    attempt_id, Name(outcome.status), ended_at, outcome.exit_code, outcome.signal,
                    outcome.message, DumpJson(outcome.captures), outcome.detail);
    if (!ended.ok()) return ended;
    return db_->Run(
        "UPDATE steps SET status = ?2 WHERE (run_id, step_key) = "
        "(SELECT run_id, step_key FROM attempts WHERE id = ?1)",
        attempt_id, Name(outcome.status));
  });
  // The transaction wrote (and synced) the attempt's last output before its commit; the
  // attempt's side file is not written again.
  side_files_.Close(attempt_id);
  inline_bytes_.erase(attempt_id);
  return status;
}

Status SqliteJournal::RecordProcess(int64_t attempt_id, int64_t process_group,
                                    int64_t process_start) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&] {
    return db_->Update(NoAttempt(attempt_id),
                       "UPDATE attempts SET pgid = ?2, pgid_start = ?3 WHERE id = ?1", attempt_id,
                       process_group, process_start);
  });
}

Result<std::vector<AttemptRecord>> SqliteJournal::ListAttempts(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  return db_->Rows<AttemptRecord>(
      ReadAttempt, fmt::format("{} WHERE a.run_id = ?1 ORDER BY a.id", kAttemptSelect), run_id);
}

}  // namespace stagecraft::journal
