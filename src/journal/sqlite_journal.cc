#include "journal/sqlite_journal.h"

#include <fmt/format.h>

#include "journal/sqlite_db.h"

namespace stagecraft::journal {
namespace {

constexpr const char* kRunColumns =
    "id, runbook_path, runbook_hash, structure_hash, environment, user, host, pid, "
    "started_at, ended_at, status, exit_code, scope, cwd, options, resumes";

Status NoRun(const std::string& run_id) {
  return Status::Error(fmt::format("journal: no run {}", run_id));
}

Result<RunRecord> ReadRun(const Statement& row) {
  RunRecord run;
  run.id = row.Text(0);
  run.runbook_path = row.Text(1);
  run.runbook_hash = row.Text(2);
  run.structure_hash = row.Text(3);
  run.environment = row.Text(4);
  run.user = row.Text(5);
  run.host = row.Text(6);
  run.pid = row.Int(7);
  run.started_at = row.Int(8);
  run.ended_at = row.OptionalInt(9);
  std::optional<RunStatus> status = Parse<RunStatus>(row.Text(10));
  if (!status) {
    return Status::Error(
        fmt::format("journal: run {} has an unknown status '{}'", run.id, row.Text(10)));
  }
  run.status = *status;
  run.exit_code = row.OptionalInt32(11);
  Result<nlohmann::json> scope = ParseJson(row.Text(12), "scope of run " + run.id);
  if (!scope.ok()) return scope.status();
  run.scope = std::move(*scope);
  run.cwd = row.Text(13);
  Result<nlohmann::json> options = ParseJson(row.Text(14), "options of run " + run.id);
  if (!options.ok()) return options.status();
  run.options = std::move(*options);
  run.resumes = static_cast<int>(row.Int(15));
  return run;
}

Result<ApprovalRecord> ReadApproval(const Statement& row) {
  ApprovalRecord approval;
  approval.id = row.Int(0);
  approval.run_id = row.Text(1);
  approval.step_key = row.Text(2);
  approval.who = row.Text(3);
  approval.at = row.Int(4);
  std::optional<ApprovalMethod> how = Parse<ApprovalMethod>(row.Text(5));
  std::optional<ApprovalDecision> decision = Parse<ApprovalDecision>(row.Text(6));
  if (!how || !decision) {
    return Status::Error(
        fmt::format("journal: approval {} has an unknown method or decision", approval.id));
  }
  approval.how = *how;
  approval.decision = *decision;
  approval.comment = row.Text(7);
  return approval;
}

}  // namespace

// --- Lifecycle ---

Result<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(const Options& options) {
  Result<std::unique_ptr<Database>> db = Database::Open(options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteJournal>(new SqliteJournal(options, std::move(*db)));
}

SqliteJournal::SqliteJournal(Options options, std::unique_ptr<Database> db)
    : options_(std::move(options)),
      path_(db->path()),
      dir_(options_.dir.empty() ? std::string(".") : options_.dir),
      db_(std::move(db)),
      side_files_(dir_, options_.max_output_file_bytes,
                  /*start_writeback=*/options_.durable && options_.fsync_commits),
      sync_side_files_(options_.durable && options_.fsync_commits) {}

SqliteJournal::~SqliteJournal() {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked();  // best effort: a destructor has nobody to report to
}

int64_t SqliteJournal::compiled_statements() const {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->compiled_statements();
}

Status SqliteJournal::InTransactionLocked(bool durable, const std::function<Status()>& body) {
  // Buffered output goes first so chunks keep their order relative to attempts, and the
  // durable commit below fsyncs it too (one WAL). It is a transaction of its own: output
  // that cannot be written (disk full) must not stop the step records from being written.
  if (Status flushed = FlushLocked(); !flushed.ok()) DeferError(std::move(flushed));
  // The side files' bytes must be on the disk before a durable commit that may refer to
  // them. A failure loses output, not the step record: it is reported like lost output.
  if (durable && sync_side_files_) {
    if (Status synced = side_files_.Sync(); !synced.ok()) DeferError(std::move(synced));
  }
  Result<Transaction> transaction = Transaction::Begin(*db_, durable);
  if (!transaction.ok()) return transaction.status();
  if (Status done = body(); !done.ok()) return done;
  return transaction->Commit();
}

Status SqliteJournal::RequireRunLocked(const std::string& run_id) {
  Result<int64_t> found =
      FirstRow(db_->Rows<int64_t>([](const Statement& row) { return row.Int(0); },
                                  "SELECT 1 FROM runs WHERE id = ?1", run_id),
               NoRun(run_id));
  return found.ok() ? Status::Ok() : found.status();
}

// --- Runs ---

Result<RunRecord> SqliteJournal::CreateRun(RunRecord run) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool generate_id = run.id.empty();
  if (run.started_at == 0) run.started_at = NowMs();
  if (run.user.empty() || run.host.empty() || run.pid == 0) {
    ProcessIdentity me = CurrentIdentity();
    if (run.user.empty()) run.user = me.user;
    if (run.host.empty()) run.host = me.host;
    if (run.pid == 0) run.pid = me.pid;
  }
  run.status = RunStatus::kRunning;
  run.ended_at.reset();
  run.exit_code.reset();
  run.resumes = 0;

  // A generated id collides only when two runs start in the same second and draw the
  // same 24 random bits; drawing again is cheaper than a longer id.
  for (int tries = 0;; ++tries) {
    if (generate_id) run.id = NewRunId(run.started_at);
    bool taken = false;
    Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
      if (RequireRunLocked(run.id).ok()) {
        taken = true;
        return Status::Error(fmt::format("journal: a run with id {} already exists", run.id));
      }
      return db_->Run(
          "INSERT INTO runs (id, runbook_path, runbook_hash, structure_hash, environment, user, "
          "host, pid, started_at, ended_at, status, exit_code, scope, cwd, options, resumes) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, NULL, ?11, ?12, ?13, 0)",
          run.id, run.runbook_path, run.runbook_hash, run.structure_hash, run.environment, run.user,
          run.host, run.pid, run.started_at, Name(run.status), DumpJson(run.scope), run.cwd,
          DumpJson(run.options));
    });
    if (status.ok()) return run;
    if (!(taken && generate_id && tries < 5)) return status;
  }
}

Status SqliteJournal::UpdateScope(const std::string& run_id, const nlohmann::json& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&] {
    return db_->Update(NoRun(run_id), "UPDATE runs SET scope = ?2 WHERE id = ?1", run_id,
                       DumpJson(scope));
  });
}

Status SqliteJournal::FinishRun(const std::string& run_id, RunStatus status, int exit_code,
                                TimeMs ended_at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_at == 0) ended_at = NowMs();
  return InTransactionLocked(/*durable=*/true, [&] {
    return db_->Update(NoRun(run_id),
                       "UPDATE runs SET status = ?2, exit_code = ?3, ended_at = ?4 WHERE id = ?1",
                       run_id, Name(status), int64_t{exit_code}, ended_at);
  });
}

Status SqliteJournal::ReopenRun(const std::string& run_id, const ProcessIdentity& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&] {
    return db_->Update(NoRun(run_id),
                       "UPDATE runs SET status = ?5, ended_at = NULL, exit_code = NULL, "
                       "user = ?2, host = ?3, pid = ?4, resumes = resumes + 1 WHERE id = ?1",
                       run_id, owner.user, owner.host, owner.pid, Name(RunStatus::kRunning));
  });
}

Status SqliteJournal::MarkWaiting(const std::string& run_id, bool waiting) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&] {
    return db_->Update(NoRun(run_id), "UPDATE runs SET status = ?2 WHERE id = ?1", run_id,
                       Name(waiting ? RunStatus::kWaiting : RunStatus::kRunning));
  });
}

Result<RunRecord> SqliteJournal::GetRun(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return FirstRow(
      db_->Rows<RunRecord>(ReadRun, fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns),
                           run_id),
      NoRun(run_id));
}

Result<std::vector<RunRecord>> SqliteJournal::ListRuns(const RunQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only the filters in use appear in the SQL, so the planner can pick runs_by_runbook
  // or walk runs_by_start backwards and stop after `limit` rows.
  std::string sql = fmt::format("SELECT {} FROM runs WHERE 1", kRunColumns);
  if (query.runbook_path) sql += " AND runbook_path = ?1";
  if (query.environment) sql += " AND environment = ?2";
  if (query.status) sql += " AND status = ?3";
  sql += " ORDER BY started_at DESC, id DESC LIMIT ?4";
  std::optional<std::string_view> status;
  if (query.status) status = Name(*query.status);
  return db_->Rows<RunRecord>(ReadRun, sql, query.runbook_path, query.environment, status,
                              query.limit == 0 ? int64_t{-1} : static_cast<int64_t>(query.limit));
}

Result<std::string> SqliteJournal::ResolveRunId(std::string_view id_or_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix(id_or_prefix);
  if (prefix.empty()) return Status::Error("journal: empty run id");
  if (RequireRunLocked(prefix).ok()) return prefix;

  // Ids are printable ASCII, so [prefix, prefix + DEL) is exactly the ids starting with
  // prefix, and the primary key index answers it.
  Result<std::vector<std::string>> matches = db_->Rows<std::string>(
      [](const Statement& row) { return row.Text(0); },
      "SELECT id FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 6", prefix,
      prefix + "\x7f");
  if (!matches.ok()) return matches.status();
  if (matches->empty()) return Status::Error(fmt::format("journal: no run matches '{}'", prefix));
  if (matches->size() == 1) return matches->front();
  std::string listed;
  for (size_t i = 0; i < matches->size() && i < 5; ++i)
    listed += (i ? ", " : "") + (*matches)[i];
  if (matches->size() > 5) listed += ", ...";
  return Status::Error(fmt::format("journal: '{}' matches several runs: {}", prefix, listed));
}

// --- Approvals ---

Result<ApprovalRecord> SqliteJournal::RecordApproval(ApprovalRecord approval) {
  std::lock_guard<std::mutex> lock(mu_);
  if (approval.at == 0) approval.at = NowMs();
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status exists = RequireRunLocked(approval.run_id); !exists.ok()) return exists;
    Status done = db_->Run(
        "INSERT INTO approvals (run_id, step_key, who, at, how, decision, comment) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        approval.run_id, approval.step_key, approval.who, approval.at, Name(approval.how),
        Name(approval.decision), approval.comment);
    approval.id = db_->LastInsertId();
    return done;
  });
  if (!status.ok()) return status;
  return approval;
}

Result<std::vector<ApprovalRecord>> SqliteJournal::ListApprovals(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  return db_->Rows<ApprovalRecord>(ReadApproval,
                                   "SELECT id, run_id, step_key, who, at, how, decision, comment "
                                   "FROM approvals WHERE run_id = ?1 ORDER BY id",
                                   run_id);
}

}  // namespace stagecraft::journal
