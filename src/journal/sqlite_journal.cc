#include "journal/sqlite_journal.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "journal/sqlite_db.h"

namespace stagecraft::journal {
namespace {

// Output rows hold at most this much. Big enough that the per-row cost stays small next to
// the bytes, small enough that `logs` streams a row at a time without large allocations.
constexpr size_t kMaxChunkBytes = 64 * 1024;

constexpr const char* kRunColumns =
    "id, runbook_path, runbook_hash, structure_hash, environment, user, host, pid, "
    "started_at, ended_at, status, exit_code, scope, cwd, options, resumes";

constexpr const char* kAttemptSelect =
    "SELECT a.id, a.run_id, a.step_key, s.ordinal, s.phase, s.title, s.kind, a.status, "
    "a.attempt, a.started_at, a.ended_at, a.exit_code, a.signal, a.budget_ms, a.message, "
    "a.captures, a.pgid, a.pgid_start, COALESCE(s.parent_key, ''), a.detail FROM attempts a "
    "JOIN steps s ON s.run_id = a.run_id AND s.step_key = a.step_key";

Status NoRun(const std::string& run_id) {
  return Status::Error(fmt::format("journal: no run {}", run_id));
}

Result<nlohmann::json> ParseStoredJson(const std::string& text, std::string_view what) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    return Status::Error(fmt::format("journal: stored {} is not valid JSON", what));
  return value;
}

std::optional<int> OptionalInt32(const Statement& row, int column) {
  std::optional<int64_t> value = row.OptionalInt(column);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

std::optional<int64_t> Widen(std::optional<int> value) {
  if (!value) return std::nullopt;
  return *value;
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
  run.exit_code = OptionalInt32(row, 11);
  Result<nlohmann::json> scope = ParseStoredJson(row.Text(12), "scope of run " + run.id);
  if (!scope.ok()) return scope.status();
  run.scope = std::move(*scope);
  run.cwd = row.Text(13);
  Result<nlohmann::json> options = ParseStoredJson(row.Text(14), "options of run " + run.id);
  if (!options.ok()) return options.status();
  run.options = std::move(*options);
  run.resumes = static_cast<int>(row.Int(15));
  return run;
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
  attempt.exit_code = OptionalInt32(row, 11);
  attempt.signal = OptionalInt32(row, 12);
  attempt.budget_ms = row.OptionalInt(13);
  attempt.message = row.Text(14);
  Result<nlohmann::json> captures =
      ParseStoredJson(row.Text(15), fmt::format("captures of attempt {}", attempt.id));
  if (!captures.ok()) return captures.status();
  attempt.captures = std::move(*captures);
  attempt.process_group = row.OptionalInt(16);
  attempt.process_start = row.OptionalInt(17);
  attempt.parent_key = row.Text(18);
  attempt.detail = row.Text(19);
  return attempt;
}

}  // namespace

// --- Lifecycle ---

Result<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(const Options& options) {
  DatabaseOptions db_options;
  db_options.dir = options.dir;
  db_options.create = options.create;
  db_options.busy_timeout = options.busy_timeout;
  db_options.durable = options.durable;
  db_options.fsync_commits = options.fsync_commits;
  db_options.max_pages = options.max_pages;
  Result<std::unique_ptr<Database>> db = Database::Open(db_options);
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

bool SqliteJournal::FlushDueLocked(SteadyClock::time_point now) const {
  return !pending_.empty() && (pending_bytes_ >= options_.flush_bytes ||
                               now - pending_since_ >= options_.flush_interval);
}

// --- Transactions and buffered output ---

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

Status SqliteJournal::WriteSideFilesLocked(const std::vector<PendingChunk>& batch,
                                           std::vector<int64_t>& offsets) {
  offsets.assign(batch.size(), -1);
  // A batch rarely holds more than one attempt past its inline share; each gets one
  // append of all its chunks, in batch order.
  std::vector<std::pair<int64_t, std::vector<size_t>>> by_attempt;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingChunk& chunk = batch[i];
    size_t& inlined = inline_bytes_[chunk.attempt_id];
    if (inlined < options_.inline_output_bytes) {
      inlined += chunk.bytes.size();
      continue;
    }
    auto group = std::find_if(by_attempt.begin(), by_attempt.end(),
                              [&](const auto& entry) { return entry.first == chunk.attempt_id; });
    if (group == by_attempt.end())
      group = by_attempt.insert(by_attempt.end(), {chunk.attempt_id, {}});
    group->second.push_back(i);
  }
  std::vector<std::string_view> pieces;
  for (size_t g = 0; g < by_attempt.size(); ++g) {
    const auto& [attempt_id, chunks] = by_attempt[g];
    pieces.clear();
    for (size_t i : chunks)
      pieces.push_back(batch[i].bytes);
    Result<int64_t> start = side_files_.Append(attempt_id, pieces);
    if (!start.ok()) {
      RewindSideFilesLocked(batch, offsets);
      offsets.assign(batch.size(), -1);
      return start.status();
    }
    int64_t offset = *start;
    for (size_t i : chunks) {
      offsets[i] = offset;
      offset += static_cast<int64_t>(batch[i].bytes.size());
    }
  }
  return Status::Ok();
}

void SqliteJournal::RewindSideFilesLocked(const std::vector<PendingChunk>& batch,
                                          const std::vector<int64_t>& offsets) {
  // Each attempt's first file-backed chunk in the batch is where its append began.
  std::unordered_set<int64_t> rewound;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (offsets[i] < 0 || !rewound.insert(batch[i].attempt_id).second) continue;
    side_files_.Rewind(batch[i].attempt_id, offsets[i]);
  }
}

Status SqliteJournal::WriteBatchLocked(const std::vector<PendingChunk>& batch,
                                       const std::vector<int64_t>& offsets) {
  Result<Statement> insert = db_->Prepare(
      "INSERT INTO output (run_id, attempt_id, stream, at, bytes, file_offset, file_length) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) return insert.status();
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingChunk& chunk = batch[i];
    Result<std::string> run_id = RunOfAttemptLocked(chunk.attempt_id);
    if (!run_id.ok()) return run_id.status();
    insert->Reset();
    insert->Bind(1, *run_id);
    insert->Bind(2, chunk.attempt_id);
    insert->Bind(3, static_cast<int64_t>(chunk.stream));
    insert->Bind(4, chunk.at);
    if (offsets[i] < 0) {
      // file_offset and file_length stay NULL: a NULL after the blob costs nothing to
      // read, so filters and length() still never touch the blob's overflow pages.
      insert->BindBlobNoCopy(5, chunk.bytes);
    } else {
      insert->BindBlobNoCopy(5, std::string_view());
      insert->Bind(6, offsets[i]);
      insert->Bind(7, static_cast<int64_t>(chunk.bytes.size()));
    }
    if (Status status = insert->Run(); !status.ok()) return status;
  }
  return Status::Ok();
}

Status SqliteJournal::FlushLocked() {
  if (pending_.empty()) return Status::Ok();
  std::vector<PendingChunk> batch;
  batch.swap(pending_);
  size_t batch_bytes = pending_bytes_;
  pending_bytes_ = 0;
  Status status = [&] {
    // Side files first: once the rows are committed, the bytes they point at are written.
    std::vector<int64_t> offsets;
    if (Status written = WriteSideFilesLocked(batch, offsets); !written.ok()) return written;
    Status committed = [&] {
      Result<Transaction> transaction = Transaction::Begin(*db_, /*durable=*/false);
      if (!transaction.ok()) return transaction.status();
      if (Status written = WriteBatchLocked(batch, offsets); !written.ok()) return written;
      return transaction->Commit();
    }();
    if (!committed.ok()) RewindSideFilesLocked(batch, offsets);
    return committed;
  }();
  // A failed batch is dropped, not kept for a retry: the failures that reach here (disk
  // full, I/O errors, a lock held past busy_timeout) rarely clear up within a step, and
  // a growing buffer would make every later write fail the same way.
  if (!status.ok()) {
    status = Status::Error(
        fmt::format("{}; {} bytes of output were not journaled", status.message(), batch_bytes));
  }
  // The next batch fills the same buffers instead of allocating fresh ones.
  const size_t max_spares = options_.flush_bytes / kMaxChunkBytes + 1;
  for (PendingChunk& chunk : batch) {
    if (spare_chunks_.size() >= max_spares) break;
    chunk.bytes.clear();
    spare_chunks_.push_back(std::move(chunk.bytes));
  }
  return status;
}

void SqliteJournal::DeferError(Status status) {
  if (deferred_error_.ok()) deferred_error_ = std::move(status);
}

Status SqliteJournal::TakeDeferredError() {
  Status error = std::move(deferred_error_);
  deferred_error_ = Status::Ok();
  return error;
}

Status SqliteJournal::RequireRunLocked(const std::string& run_id) {
  Result<Statement> select = db_->Prepare("SELECT 1 FROM runs WHERE id = ?1");
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  return *row ? Status::Ok() : NoRun(run_id);
}

Result<std::string> SqliteJournal::RunOfAttemptLocked(int64_t attempt_id) {
  if (auto it = attempt_runs_.find(attempt_id); it != attempt_runs_.end()) return it->second;
  Result<Statement> select = db_->Prepare("SELECT run_id FROM attempts WHERE id = ?1");
  if (!select.ok()) return select.status();
  select->Bind(1, attempt_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error(fmt::format("journal: no attempt {}", attempt_id));
  std::string run_id = select->Text(0);
  attempt_runs_.emplace(attempt_id, run_id);
  return run_id;
}

Status SqliteJournal::AppendOutput(int64_t attempt_id, Stream stream, std::string_view bytes,
                                   TimeMs at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Result<std::string> run = RunOfAttemptLocked(attempt_id); !run.ok()) return run.status();
  Status status = TakeDeferredError();
  if (bytes.empty()) return status;
  if (at == 0) at = NowMs();

  if (pending_.empty()) pending_since_ = SteadyClock::now();
  while (!bytes.empty()) {
    // Consecutive appends of one stream share a row: a process writing a line at a time
    // would otherwise cost a row per line.
    if (pending_.empty() || pending_.back().attempt_id != attempt_id ||
        pending_.back().stream != stream || pending_.back().bytes.size() >= kMaxChunkBytes) {
      std::string chunk_bytes;
      if (!spare_chunks_.empty()) {
        chunk_bytes = std::move(spare_chunks_.back());
        spare_chunks_.pop_back();
      }
      pending_.push_back(PendingChunk{attempt_id, stream, at, std::move(chunk_bytes)});
    }
    std::string& chunk = pending_.back().bytes;
    size_t take = std::min(bytes.size(), kMaxChunkBytes - chunk.size());
    chunk.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    pending_bytes_ += take;
  }
  if (!FlushDueLocked(SteadyClock::now())) return status;
  Status flushed = FlushLocked();
  if (status.ok()) return flushed;
  if (!flushed.ok()) DeferError(std::move(flushed));
  return status;
}

Status SqliteJournal::FlushOutput() {
  std::lock_guard<std::mutex> lock(mu_);
  Status status = FlushLocked();
  // Taken after the flush: a batch a durable call failed to write before counts too.
  Status deferred = TakeDeferredError();
  if (deferred.ok()) return status;
  if (!status.ok()) DeferError(std::move(status));
  return deferred;
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
      Result<Statement> insert = db_->Prepare(
          "INSERT INTO runs (id, runbook_path, runbook_hash, structure_hash, environment, user, "
          "host, pid, started_at, ended_at, status, exit_code, scope, cwd, options, resumes) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, NULL, ?11, ?12, ?13, 0)");
      if (!insert.ok()) return insert.status();
      insert->Bind(1, run.id);
      insert->Bind(2, run.runbook_path);
      insert->Bind(3, run.runbook_hash);
      insert->Bind(4, run.structure_hash);
      insert->Bind(5, run.environment);
      insert->Bind(6, run.user);
      insert->Bind(7, run.host);
      insert->Bind(8, run.pid);
      insert->Bind(9, run.started_at);
      insert->Bind(10, Name(run.status));
      insert->Bind(11, DumpJson(run.scope));
      insert->Bind(12, run.cwd);
      insert->Bind(13, DumpJson(run.options));
      return insert->Run();
    });
    if (status.ok()) return run;
    if (!(taken && generate_id && tries < 5)) return status;
  }
}

Status SqliteJournal::UpdateScope(const std::string& run_id, const nlohmann::json& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Result<Statement> update = db_->Prepare("UPDATE runs SET scope = ?2 WHERE id = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, run_id);
    update->Bind(2, DumpJson(scope));
    if (Status status = update->Run(); !status.ok()) return status;
    return db_->Changes() == 0 ? NoRun(run_id) : Status::Ok();
  });
}

Status SqliteJournal::FinishRun(const std::string& run_id, RunStatus status, int exit_code,
                                TimeMs ended_at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_at == 0) ended_at = NowMs();
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Result<Statement> update =
        db_->Prepare("UPDATE runs SET status = ?2, exit_code = ?3, ended_at = ?4 WHERE id = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, run_id);
    update->Bind(2, Name(status));
    update->Bind(3, int64_t{exit_code});
    update->Bind(4, ended_at);
    if (Status done = update->Run(); !done.ok()) return done;
    return db_->Changes() == 0 ? NoRun(run_id) : Status::Ok();
  });
}

Status SqliteJournal::ReopenRun(const std::string& run_id, const ProcessIdentity& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Result<Statement> update = db_->Prepare(
        "UPDATE runs SET status = 'running', ended_at = NULL, exit_code = NULL, user = ?2, "
        "host = ?3, pid = ?4, resumes = resumes + 1 WHERE id = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, run_id);
    update->Bind(2, owner.user);
    update->Bind(3, owner.host);
    update->Bind(4, owner.pid);
    if (Status done = update->Run(); !done.ok()) return done;
    return db_->Changes() == 0 ? NoRun(run_id) : Status::Ok();
  });
}

Result<RunRecord> SqliteJournal::GetRun(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Statement> select =
      db_->Prepare(fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns));
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NoRun(run_id);
  return ReadRun(*select);
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
  Result<Statement> select = db_->Prepare(sql);
  if (!select.ok()) return select.status();
  if (query.runbook_path) select->Bind(1, *query.runbook_path);
  if (query.environment) select->Bind(2, *query.environment);
  if (query.status) select->Bind(3, Name(*query.status));
  select->Bind(4, query.limit == 0 ? int64_t{-1} : static_cast<int64_t>(query.limit));

  std::vector<RunRecord> runs;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<RunRecord> run = ReadRun(*select);
    if (!run.ok()) return run.status();
    runs.push_back(std::move(*run));
  }
  return runs;
}

Result<std::string> SqliteJournal::ResolveRunId(std::string_view id_or_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix(id_or_prefix);
  if (prefix.empty()) return Status::Error("journal: empty run id");
  if (RequireRunLocked(prefix).ok()) return prefix;

  // Ids are printable ASCII, so [prefix, prefix + DEL) is exactly the ids starting with
  // prefix, and the primary key index answers it.
  Result<Statement> select =
      db_->Prepare("SELECT id FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 6");
  if (!select.ok()) return select.status();
  select->Bind(1, prefix);
  select->Bind(2, prefix + "\x7f");
  std::vector<std::string> matches;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    matches.push_back(select->Text(0));
  }
  if (matches.empty()) return Status::Error(fmt::format("journal: no run matches '{}'", prefix));
  if (matches.size() == 1) return matches.front();
  std::string listed;
  for (size_t i = 0; i < matches.size() && i < 5; ++i)
    listed += (i ? ", " : "") + matches[i];
  if (matches.size() > 5) listed += ", ...";
  return Status::Error(fmt::format("journal: '{}' matches several runs: {}", prefix, listed));
}

// --- Steps and attempts ---

Status SqliteJournal::PlanSteps(const std::string& run_id, const std::vector<StepRecord>& steps) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
    Result<Statement> upsert = db_->Prepare(
        "INSERT INTO steps (run_id, step_key, parent_key, ordinal, phase, title, kind, "
        "budget_ms, content_hash, status) VALUES (?1, ?2, NULLIF(?9, ''), ?3, ?4, ?5, ?6, ?7, "
        "?8, 'pending') ON CONFLICT (run_id, step_key) DO UPDATE SET "
        "parent_key = excluded.parent_key, ordinal = excluded.ordinal, phase = excluded.phase, "
        "title = excluded.title, kind = excluded.kind, budget_ms = excluded.budget_ms, "
        "content_hash = excluded.content_hash");
    if (!upsert.ok()) return upsert.status();
    for (const StepRecord& step : steps) {
      if (step.key.empty()) return Status::Error("journal: a step key must not be empty");
      upsert->Reset();
      upsert->Bind(1, run_id);
      upsert->Bind(2, step.key);
      upsert->Bind(3, int64_t{step.ordinal});
      upsert->Bind(4, step.phase);
      upsert->Bind(5, step.title);
      upsert->Bind(6, Name(step.kind));
      upsert->Bind(7, step.budget_ms);
      upsert->Bind(8, step.content_hash);
      upsert->Bind(9, step.parent_key);
      if (Status status = upsert->Run(); !status.ok()) return status;
    }
    return Status::Ok();
  });
}

Result<std::vector<StepRecord>> SqliteJournal::ListSteps(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  // The order a report shows: each step followed by its items, then the rollback blocks.
  Result<Statement> select = db_->Prepare(
      "SELECT s.step_key, s.ordinal, s.phase, s.title, s.kind, s.budget_ms, s.content_hash, "
      "s.status, (SELECT count(*) FROM attempts a WHERE a.run_id = s.run_id AND "
      "a.step_key = s.step_key), COALESCE(s.parent_key, '') FROM steps s "
      "LEFT JOIN steps p ON p.run_id = s.run_id AND p.step_key = s.parent_key "
      "WHERE s.run_id = ?1 ORDER BY s.kind IN ('rollback', 'compensation'), "
      "COALESCE(p.ordinal, s.ordinal), s.parent_key IS NOT NULL, s.ordinal, s.step_key");
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  std::vector<StepRecord> steps;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StepRecord step;
    step.run_id = run_id;
    step.key = select->Text(0);
    step.ordinal = static_cast<int>(select->Int(1));
    step.parent_key = select->Text(9);
    step.phase = select->Text(2);
    step.title = select->Text(3);
    std::optional<StepKind> kind = Parse<StepKind>(select->Text(4));
    step.budget_ms = select->OptionalInt(5);
    step.content_hash = select->Text(6);
    std::optional<StepStatus> status = Parse<StepStatus>(select->Text(7));
    if (!kind || !status) {
      return Status::Error(fmt::format("journal: step {} of run {} has an unknown kind or status",
                                       step.key, run_id));
    }
    step.kind = *kind;
    step.status = *status;
    step.attempts = static_cast<int>(select->Int(8));
    steps.push_back(std::move(step));
  }
  return steps;
}

Result<AttemptRecord> SqliteJournal::LoadAttemptLocked(int64_t attempt_id) {
  Result<Statement> select = db_->Prepare(fmt::format("{} WHERE a.id = ?1", kAttemptSelect));
  if (!select.ok()) return select.status();
  select->Bind(1, attempt_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error(fmt::format("journal: no attempt {}", attempt_id));
  return ReadAttempt(*select);
}

Result<AttemptRecord> SqliteJournal::BeginAttempt(AttemptRecord attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attempt.step_key.empty()) return Status::Error("journal: a step key must not be empty");
  if (attempt.started_at == 0) attempt.started_at = NowMs();
  int64_t id = 0;
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status exists = RequireRunLocked(attempt.run_id); !exists.ok()) return exists;
    // Unplanned keys (compensations, steps added by a resume) are planned on the spot.
    Result<Statement> step = db_->Prepare(
        "INSERT INTO steps (run_id, step_key, parent_key, ordinal, phase, title, kind, "
        "budget_ms, content_hash, status) VALUES (?1, ?2, NULLIF(?9, ''), ?3, ?4, ?5, ?6, ?7, "
        "'', ?8) "
        "ON CONFLICT (run_id, step_key) DO UPDATE SET status = excluded.status");
    if (!step.ok()) return step.status();
    step->Bind(1, attempt.run_id);
    step->Bind(2, attempt.step_key);
    step->Bind(3, int64_t{attempt.ordinal});
    step->Bind(4, attempt.phase);
    step->Bind(5, attempt.title);
    step->Bind(6, Name(attempt.kind));
    step->Bind(7, attempt.budget_ms);
    step->Bind(8, Name(attempt.status));
    step->Bind(9, attempt.parent_key);
    if (Status done = step->Run(); !done.ok()) return done;

    Result<Statement> insert = db_->Prepare(
        "INSERT INTO attempts (run_id, step_key, attempt, status, started_at, ended_at, "
        "exit_code, signal, budget_ms, message, captures, detail) VALUES (?1, ?2, "
        "CASE WHEN ?3 > 0 THEN ?3 ELSE (SELECT COALESCE(MAX(attempt), 0) + 1 FROM attempts "
        "WHERE run_id = ?1 AND step_key = ?2) END, ?4, ?5, ?6, ?7, ?8, "
        "COALESCE(?9, (SELECT budget_ms FROM steps WHERE run_id = ?1 AND step_key = ?2)), "
        "?10, ?11, ?12)");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, attempt.run_id);
    insert->Bind(2, attempt.step_key);
    insert->Bind(3, int64_t{attempt.attempt});
    insert->Bind(4, Name(attempt.status));
    insert->Bind(5, attempt.started_at);
    insert->Bind(6, attempt.ended_at);
    insert->Bind(7, Widen(attempt.exit_code));
    insert->Bind(8, Widen(attempt.signal));
    insert->Bind(9, attempt.budget_ms);
    insert->Bind(10, attempt.message);
    insert->Bind(11, DumpJson(attempt.captures));
    insert->Bind(12, attempt.detail);
    if (Status done = insert->Run(); !done.ok()) return done;
    id = db_->LastInsertId();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  attempt_runs_[id] = attempt.run_id;
  return LoadAttemptLocked(id);
}

Status SqliteJournal::EndAttempt(int64_t attempt_id, const AttemptOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  TimeMs ended_at = outcome.ended_at == 0 ? NowMs() : outcome.ended_at;
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Result<Statement> update = db_->Prepare(
        "UPDATE attempts SET status = ?2, ended_at = ?3, exit_code = ?4, signal = ?5, "
        "message = ?6, captures = ?7, detail = ?8 WHERE id = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, attempt_id);
    update->Bind(2, Name(outcome.status));
    update->Bind(3, ended_at);
    update->Bind(4, Widen(outcome.exit_code));
    update->Bind(5, Widen(outcome.signal));
    update->Bind(6, outcome.message);
    update->Bind(7, DumpJson(outcome.captures));
    update->Bind(8, outcome.detail);
    if (Status done = update->Run(); !done.ok()) return done;
    if (db_->Changes() == 0)
      return Status::Error(fmt::format("journal: no attempt {}", attempt_id));

    Result<Statement> step = db_->Prepare(
        "UPDATE steps SET status = ?2 WHERE (run_id, step_key) = "
        "(SELECT run_id, step_key FROM attempts WHERE id = ?1)");
    if (!step.ok()) return step.status();
    step->Bind(1, attempt_id);
    step->Bind(2, Name(outcome.status));
    return step->Run();
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
  return InTransactionLocked(/*durable=*/true, [&]() -> Status {
    Result<Statement> update =
        db_->Prepare("UPDATE attempts SET pgid = ?2, pgid_start = ?3 WHERE id = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, attempt_id);
    update->Bind(2, process_group);
    update->Bind(3, process_start);
    if (Status done = update->Run(); !done.ok()) return done;
    if (db_->Changes() == 0)
      return Status::Error(fmt::format("journal: no attempt {}", attempt_id));
    return Status::Ok();
  });
}

Result<std::vector<AttemptRecord>> SqliteJournal::ListAttempts(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  Result<Statement> select =
      db_->Prepare(fmt::format("{} WHERE a.run_id = ?1 ORDER BY a.id", kAttemptSelect));
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  std::vector<AttemptRecord> attempts;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<AttemptRecord> attempt = ReadAttempt(*select);
    if (!attempt.ok()) return attempt.status();
    attempts.push_back(std::move(*attempt));
  }
  return attempts;
}

// --- Output ---

Status SqliteJournal::ReadOutput(const OutputQuery& query, const OutputCallback& callback) {
  std::lock_guard<std::mutex> lock(mu_);
  // Lost output is reported by the next AppendOutput/FlushOutput; the reader still gets
  // everything that was written.
  if (Status flushed = FlushLocked(); !flushed.ok()) DeferError(std::move(flushed));
  if (Status status = RequireRunLocked(query.run_id); !status.ok()) return status;
  std::string filter = "WHERE o.run_id = ?1 AND o.seq > ?2";
  if (query.step_key) filter += " AND a.step_key = ?3";
  if (query.attempt_id) filter += " AND o.attempt_id = ?4";
  if (query.stream) filter += " AND o.stream = ?5";
  auto prepare = [&](std::string_view columns, std::string_view order) -> Result<Statement> {
    Result<Statement> statement = db_->Prepare(
        fmt::format("SELECT {} FROM output o JOIN attempts a ON a.id = o.attempt_id {} "
                    "ORDER BY o.seq {}",
                    columns, filter, order));
    if (!statement.ok()) return statement;
    statement->Bind(1, query.run_id);
    statement->Bind(2, query.after_seq);
    if (query.step_key) statement->Bind(3, *query.step_key);
    if (query.attempt_id) statement->Bind(4, *query.attempt_id);
    if (query.stream) statement->Bind(5, static_cast<int64_t>(*query.stream));
    return statement;
  };

  // With tail_bytes, the chunks' sizes come first, newest to oldest, to find where each
  // attempt's tail starts; length() of a blob reads only the row, not the overflow pages
  // holding the bytes, and file-backed rows carry their length. Only per-attempt figures
  // are kept: a run can hold millions of small chunks.
  struct TailStart {
    int64_t bytes_left = 0;       // of the tail, still to cover
    int64_t first_kept_seq = -1;  // the attempt's chunks before it are left out
    int64_t skipped = 0;          // their bytes
  };
  std::unordered_map<int64_t, TailStart> tails;  // by attempt id
  bool any_skipped = false;
  if (query.tail_bytes > 0) {
    Result<Statement> sizes =
        prepare("o.seq, o.attempt_id, COALESCE(o.file_length, length(o.bytes))", "DESC");
    if (!sizes.ok()) return sizes.status();
    while (true) {
      Result<bool> row = sizes->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto [it, first] = tails.try_emplace(sizes->Int(1));
      TailStart& tail = it->second;
      if (first) tail.bytes_left = static_cast<int64_t>(query.tail_bytes);
      if (tail.bytes_left > 0) {
        tail.bytes_left -= sizes->Int(2);
        tail.first_kept_seq = sizes->Int(0);
      } else {
        tail.skipped += sizes->Int(2);
        any_skipped = true;
      }
    }
  }

  // When some chunks are left out, the kept ones are fetched one by one so the others'
  // bytes are never read.
  Result<Statement> select =
      prepare(any_skipped ? "o.seq, a.step_key, o.attempt_id, a.attempt, o.stream, o.at"
                          : "o.seq, a.step_key, o.attempt_id, a.attempt, o.stream, o.at, o.bytes, "
                            "o.file_offset, o.file_length",
              "");
  if (!select.ok()) return select.status();
  Result<Statement> fetch =
      db_->Prepare("SELECT bytes, file_offset, file_length FROM output WHERE seq = ?1");
  if (!fetch.ok()) return fetch.status();
  OutputFileReader side_files(dir_);
  // A row's bytes: inline in column `column`, or in its side file when the next two
  // columns (offset, length) are set.
  auto read_bytes = [&](const Statement& row, int column, OutputChunk& chunk) -> Status {
    if (row.IsNull(column + 1)) {
      std::string_view bytes = row.Blob(column);
      chunk.bytes.assign(bytes.data(), bytes.size());
      return Status::Ok();
    }
    return side_files.Read(chunk.attempt_id, row.Int(column + 1), row.Int(column + 2), chunk.bytes);
  };
  OutputChunk chunk;
  chunk.run_id = query.run_id;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    chunk.seq = select->Int(0);
    chunk.step_key = select->Text(1);
    chunk.attempt_id = select->Int(2);
    chunk.attempt = static_cast<int>(select->Int(3));
    chunk.stream =
        select->Int(4) == static_cast<int64_t>(Stream::kStderr) ? Stream::kStderr : Stream::kStdout;
    chunk.at = select->Int(5);
    chunk.skipped_before = 0;
    if (!any_skipped) {
      if (Status read = read_bytes(*select, 6, chunk); !read.ok()) return read;
      if (!callback(chunk)) return Status::Ok();
      continue;
    }
    auto tail = tails.find(chunk.attempt_id);
    // A chunk written after the sizes were read is part of its attempt's tail.
    if (tail != tails.end() && chunk.seq < tail->second.first_kept_seq) continue;
    fetch->Reset();
    fetch->Bind(1, chunk.seq);
    Result<bool> found = fetch->Step();
    if (!found.ok()) return found.status();
    if (!*found) continue;  // deleted since the first query (with its run, by another process)
    if (Status read = read_bytes(*fetch, 0, chunk); !read.ok()) return read;
    if (tail != tails.end() && tail->second.skipped > 0) {
      chunk.skipped_before = tail->second.skipped;
      tail->second.skipped = 0;
    }
    if (!callback(chunk)) return Status::Ok();
  }
}

// --- Approvals ---

Result<ApprovalRecord> SqliteJournal::RecordApproval(ApprovalRecord approval) {
  std::lock_guard<std::mutex> lock(mu_);
  if (approval.at == 0) approval.at = NowMs();
  Status status = InTransactionLocked(/*durable=*/true, [&]() -> Status {
    if (Status exists = RequireRunLocked(approval.run_id); !exists.ok()) return exists;
    Result<Statement> insert = db_->Prepare(
        "INSERT INTO approvals (run_id, step_key, who, at, how, decision, comment) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, approval.run_id);
    insert->Bind(2, approval.step_key);
    insert->Bind(3, approval.who);
    insert->Bind(4, approval.at);
    insert->Bind(5, Name(approval.how));
    insert->Bind(6, Name(approval.decision));
    insert->Bind(7, approval.comment);
    if (Status done = insert->Run(); !done.ok()) return done;
    approval.id = db_->LastInsertId();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return approval;
}

Result<std::vector<ApprovalRecord>> SqliteJournal::ListApprovals(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  Result<Statement> select = db_->Prepare(
      "SELECT id, step_key, who, at, how, decision, comment FROM approvals WHERE run_id = ?1 "
      "ORDER BY id");
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  std::vector<ApprovalRecord> approvals;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ApprovalRecord approval;
    approval.id = select->Int(0);
    approval.run_id = run_id;
    approval.step_key = select->Text(1);
    approval.who = select->Text(2);
    approval.at = select->Int(3);
    std::optional<ApprovalMethod> how = Parse<ApprovalMethod>(select->Text(4));
    std::optional<ApprovalDecision> decision = Parse<ApprovalDecision>(select->Text(5));
    if (!how || !decision) {
      return Status::Error(
          fmt::format("journal: approval {} has an unknown method or decision", approval.id));
    }
    approval.how = *how;
    approval.decision = *decision;
    approval.comment = select->Text(6);
    approvals.push_back(std::move(approval));
  }
  return approvals;
}

}  // namespace stagecraft::journal
