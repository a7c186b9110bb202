#pragma once

// The journal in an embedded SQLite database, DIR/journal.db (DIR defaults to
// .stagecraft in the working directory). Schema: schema.cc and docs/journal-format.md.
// Opening, transactions, runs and approvals are in sqlite_journal.cc, steps and attempts in
// sqlite_steps.cc, output in sqlite_output.cc.
//
// Durability. The database runs in WAL mode with synchronous=NORMAL, and every DURABLE
// call of the Journal interface commits with synchronous=FULL: the WAL is fsynced before
// the call returns, so a step's start survives a crash or power loss before its process
// is spawned. Output batches commit with NORMAL (written to the WAL, no fsync): they
// survive a crash of stagecraft, and the next durable commit fsyncs them along with it,
// since the WAL is one append-only file. That keeps bulk output at disk speed instead
// of fsync speed.
//
// Output batching. AppendOutput copies bytes into an in-memory buffer, merging
// consecutive appends of the same attempt and stream into chunks of up to 64 KiB. The
// buffer is written, in one transaction, by the call that finds it due: an AppendOutput
// after which it holds `flush_bytes` or its oldest byte is `flush_interval` old (so a
// step printing slowly still reaches `logs -f` line by line), FlushOutput, and every
// durable call, which writes it first (a step's start and end are durable, so a step's
// output is written by its end at the latest). There is no writer thread: output that
// arrives while nothing calls the journal stays buffered until the next call, so the
// last line of a step that then goes quiet appears when the step ends. Batches reach
// SQLite in the order their bytes were appended.
//
// Large output. An attempt's first `inline_output_bytes` of output are stored in the
// output rows themselves; beyond that, its batches are appended to the attempt's side file
// DIR/output/ATTEMPT_ID.log (output_files.h) and the rows only record offset and length,
// so each byte is written once instead of twice (WAL, then checkpoint). A batch's bytes
// reach the side file before its rows are committed; a durable call fdatasyncs the side
// files written since the previous one before its commit (with `fsync_commits`), so the
// contract in journal.h holds for file-backed output too.
//
// Lost output. A batch that cannot be written (disk full) is dropped, so that it cannot
// block the step records that follow; the error says how many bytes were lost.
// AppendOutput and FlushOutput report it when they made the write; otherwise (durable
// calls) the next AppendOutput or FlushOutput does.
//
// Crash safety. A step's start is durable before the engine spawns its process. A batch's
// side file bytes are written before its rows commit, and a batch whose rows fail is
// rewound out of the side file, so no row ever points past the bytes of its file, even
// after kill -9. With `fsync_commits`, durable calls fdatasync the side files first.
//
// Thread-safety: all methods may be called from any thread; one mutex serializes them,
// the output buffer included. ReadOutput holds it while streaming, so its callback must
// not call the journal.
//
// Ownership: owns its SQLite connection; the destructor writes buffered output (call
// FlushOutput first to see any error).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/duration.h"
#include "journal/database_options.h"
#include "journal/journal.h"
#include "journal/output_files.h"

namespace stagecraft::journal {

class Database;

class SqliteJournal final : public Journal {
 public:
  struct Options : DatabaseOptions {
    // Output batching thresholds (see above).
    size_t flush_bytes = 256 * 1024;
    Millis flush_interval{100};
    // Output an attempt keeps in the database before the rest goes to its side file. A
    // side file costs a file, a descriptor and, with fsync_commits, an fdatasync and a
    // directory fsync at the step's end; inline output is written twice (WAL, then
    // checkpoint). Ordinary steps print far less than this, so most runs create no side
    // file at all.
    size_t inline_output_bytes = 1 << 20;
    // Caps each side file at this many bytes; 0 = unlimited. Tests use it to simulate a
    // full disk.
    int64_t max_output_file_bytes = 0;
  };

  static Result<std::unique_ptr<SqliteJournal>> Open(const Options& options);

  ~SqliteJournal() override;
  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;

  // DIR/journal.db as opened.
  const std::string& path() const { return path_; }
  // SQL statements compiled since Open; reused ones are not counted (Database::Prepare).
  int64_t compiled_statements() const;

  Result<RunRecord> CreateRun(RunRecord run) override;
  Status UpdateScope(const std::string& run_id, const nlohmann::json& scope) override;
  Status FinishRun(const std::string& run_id, RunStatus status, int exit_code,
                   TimeMs ended_at = 0) override;
  Status ReopenRun(const std::string& run_id, const ProcessIdentity& owner) override;
  Status MarkWaiting(const std::string& run_id, bool waiting) override;
  Result<RunRecord> GetRun(const std::string& run_id) override;
  Result<std::vector<RunRecord>> ListRuns(const RunQuery& query) override;
  Result<std::string> ResolveRunId(std::string_view id_or_prefix) override;

  Status PlanSteps(const std::string& run_id, const std::vector<StepRecord>& steps) override;
  Result<std::vector<StepRecord>> ListSteps(const std::string& run_id) override;
  Result<AttemptRecord> BeginAttempt(AttemptRecord attempt) override;
  Status RecordProcess(int64_t attempt_id, int64_t process_group, int64_t process_start) override;
  Status EndAttempt(int64_t attempt_id, const AttemptOutcome& outcome) override;
  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override;

  Status AppendOutput(int64_t attempt_id, Stream stream, std::string_view bytes,
                      TimeMs at = 0) override;
  Status FlushOutput() override;
  Status ReadOutput(const OutputQuery& query, const OutputCallback& callback) override;

  Result<ApprovalRecord> RecordApproval(ApprovalRecord approval) override;
  Result<std::vector<ApprovalRecord>> ListApprovals(const std::string& run_id) override;

  // sqlite_journal_notifications.cc
  Result<NotificationRecord> RecordNotification(NotificationRecord notification) override;
  Result<std::vector<NotificationRecord>> ListNotifications(const std::string& run_id) override;

 private:
  using SteadyClock = std::chrono::steady_clock;

  struct PendingChunk {
    int64_t attempt_id;
    Stream stream;
    TimeMs at;
    std::string bytes;
  };

  SqliteJournal(Options options, std::unique_ptr<Database> db);

  // *Locked methods expect mu_ held.
  // Writes buffered output, then runs `body` in one transaction, fsynced when `durable`.
  Status InTransactionLocked(bool durable, const std::function<Status()>& body);
  // Takes the buffered output and writes it in its own (non-durable) transaction; the
  // batch is dropped whether or not that worked.
  Status FlushLocked();
  // Appends the chunks past their attempt's inline share to the side files; `offsets`
  // gets each chunk's file offset, or -1 for a chunk that stays inline. On failure
  // nothing is left appended.
  Status WriteSideFilesLocked(const std::vector<PendingChunk>& batch,
                              std::vector<int64_t>& offsets);
  // Inserts the batch's rows, in the caller's transaction.
  Status WriteBatchLocked(const std::vector<PendingChunk>& batch,
                          const std::vector<int64_t>& offsets);
  // Gives back what WriteSideFilesLocked appended for a batch whose rows failed.
  void RewindSideFilesLocked(const std::vector<PendingChunk>& batch,
                             const std::vector<int64_t>& offsets);
  // Keeps `status` for the next AppendOutput/FlushOutput unless an earlier loss is pending.
  void DeferError(Status status);
  Status TakeDeferredError();
  Status RequireRunLocked(const std::string& run_id);
  Result<std::string> RunOfAttemptLocked(int64_t attempt_id);
  Result<AttemptRecord> LoadAttemptLocked(int64_t attempt_id);
  bool FlushDueLocked(SteadyClock::time_point now) const;

  const Options options_;
  const std::string path_;
  const std::string dir_;  // the state directory, "." for an empty Options::dir

  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<Database> db_;
  OutputFileWriter side_files_;
  // Whether durable calls fdatasync the side files first.
  const bool sync_side_files_;
  // attempt id -> bytes of its output stored inline so far, for attempts with output.
  std::unordered_map<int64_t, size_t> inline_bytes_;
  // attempt id -> run id, for attempts this journal has begun or seen output for.
  std::unordered_map<int64_t, std::string> attempt_runs_;

  // The output buffer.
  std::vector<PendingChunk> pending_;
  size_t pending_bytes_ = 0;
  SteadyClock::time_point pending_since_;
  // Emptied chunk buffers, reused by the next batch.
  std::vector<std::string> spare_chunks_;
  // Output dropped by a durable call's flush, which cannot report it, reported by the
  // next AppendOutput or FlushOutput.
  Status deferred_error_;
};

}  // namespace stagecraft::journal
