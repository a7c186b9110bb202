#pragma once

// The journal: everything a run did, written as it happens so a crash can resume and
// reports are built from evidence. The engine talks to this interface; SqliteJournal
// (sqlite_journal.h) is the real one, and engine tests use a fake.
//
// Ordering and durability contract (what the engine may rely on):
//  - Calls marked DURABLE have reached stable storage when they return OK: the engine
//    may act on the outside world (spawn a process, start the next step) right after.
//  - AppendOutput is buffered. Buffered output is written no later than the next
//    DURABLE call, FlushOutput, or an implementation-defined size/age threshold; it is
//    visible to other readers after that. Output that cannot be written (disk full) is
//    dropped, and AppendOutput or FlushOutput reports the loss; DURABLE calls never fail
//    because of it.
//  - Output chunks of a run read back in the order they were appended.
//
// Thread-safety: implementations document their own. The engine calls a journal from one
// thread at a time; SqliteJournal is safe to call from several.
//
// Errors come back as Status/Result with a message fit for the terminal
// ("journal: disk full writing .stagecraft/journal.db"); nothing throws.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "journal/records.h"

namespace stagecraft::journal {

struct RunQuery {
  size_t limit = 20;  // 0 means no limit
  std::optional<std::string> runbook_path;
  std::optional<std::string> environment;
  std::optional<RunStatus> status;
};

struct OutputQuery {
  std::string run_id;
  std::optional<std::string> step_key;  // all steps when unset
  std::optional<int64_t> attempt_id;    // all attempts when unset
  std::optional<Stream> stream;         // both streams when unset
  int64_t after_seq = 0;                // only chunks with seq > after_seq (`logs -f`)
  // When not 0, chunks of an attempt that lie wholly before its last `tail_bytes` bytes
  // may be left out: a report keeps only a tail, and reading a GiB of output back for it
  // would take longer than the run's other journaling. The first chunk delivered after
  // left-out ones counts them in OutputChunk::skipped_before.
  size_t tail_bytes = 0;
};

// Receives chunks in order; return false to stop early. The callback must not call
// back into the journal (implementations may hold a lock while streaming).
using OutputCallback = std::function<bool(const OutputChunk&)>;

class Journal {
 public:
  virtual ~Journal() = default;

  // --- Runs ---

  // DURABLE. Stores a new run with status kRunning. Fills id (NewRunId), started_at (now),
  // and user/host/pid (CurrentIdentity) when left empty; returns the stored record.
  // A caller-chosen id (e.g. one already used for the run lock) must be unused.
  virtual Result<RunRecord> CreateRun(RunRecord run) = 0;

  // DURABLE. Replaces the run's scope (secrets already removed by the caller).
  virtual Status UpdateScope(const std::string& run_id, const nlohmann::json& scope) = 0;

  // DURABLE. Sets the final status, exit code and ended_at (0 means now), after writing
  // any buffered output.
  virtual Status FinishRun(const std::string& run_id, RunStatus status, int exit_code,
                           TimeMs ended_at = 0) = 0;

  // DURABLE. A run whose engine is still attached waits at a gate (kWaiting) or goes on
  // (kRunning): other processes see it in `runs` and `pending`.
  virtual Status MarkWaiting(const std::string& run_id, bool waiting) = 0;

  // DURABLE. Marks a finished run as running again for `resume`/`rollback`: clears
  // ended_at and exit_code, records `owner` as the driving process, and counts the resume.
  virtual Status ReopenRun(const std::string& run_id, const ProcessIdentity& owner) = 0;

  virtual Result<RunRecord> GetRun(const std::string& run_id) = 0;

  // Newest first (by started_at, then id).
  virtual Result<std::vector<RunRecord>> ListRuns(const RunQuery& query) = 0;

  // The full id for an exact id or a unique prefix of one ("20261122-1530").
  // Errors name the candidates when the prefix is ambiguous.
  virtual Result<std::string> ResolveRunId(std::string_view id_or_prefix) = 0;

  // The newest run of `runbook_path` in `environment`, if any.
  Result<std::optional<RunRecord>> LatestRun(const std::string& runbook_path,
                                             const std::string& environment);

  // --- Steps and attempts ---

  // DURABLE. Records the planned steps of a run (status kPending). Planning a key again
  // (on resume) updates its index, phase, title, kind, budget and hash but keeps its
  // status and attempts.
  virtual Status PlanSteps(const std::string& run_id, const std::vector<StepRecord>& steps) = 0;

  // Ordered by index, then key.
  virtual Result<std::vector<StepRecord>> ListSteps(const std::string& run_id) = 0;

  // DURABLE: call it before spawning the step's process, so a crash after the spawn is
  // never mistaken for "not started". Plans the step when its key is new, sets the step
  // status to kRunning, and returns the stored attempt with id, attempt number (next for
  // the step when 0) and started_at (now when 0) filled in.
  virtual Result<AttemptRecord> BeginAttempt(AttemptRecord attempt) = 0;

  // DURABLE: call it before the next step starts. Writes buffered output, then the
  // outcome, and sets the step status to the outcome's status — in one transaction.
  virtual Status EndAttempt(int64_t attempt_id, const AttemptOutcome& outcome) = 0;

  // DURABLE: call it as soon as the attempt's command is spawned, so an engine killed with
  // SIGKILL leaves behind where to look for the processes that outlive it.
  virtual Status RecordProcess(int64_t attempt_id, int64_t process_group,
                               int64_t process_start) = 0;

  // Ordered by attempt id (the order they began).
  virtual Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) = 0;

  // --- Output ---

  // Buffers `bytes` of `attempt_id`'s output. Errors: unknown attempt, or lost output
  // (this call's write failed, or an earlier write made by another call did; each loss
  // is reported once). The bytes of a failed call are not retried.
  virtual Status AppendOutput(int64_t attempt_id, Stream stream, std::string_view bytes,
                              TimeMs at = 0) = 0;

  // Writes buffered output now.
  virtual Status FlushOutput() = 0;

  // Streams matching chunks in seq order, after writing this journal's buffered output.
  virtual Status ReadOutput(const OutputQuery& query, const OutputCallback& callback) = 0;

  // --- Approvals ---

  // DURABLE. Returns the stored record (id and `at` filled in).
  virtual Result<ApprovalRecord> RecordApproval(ApprovalRecord approval) = 0;

  // In the order they were recorded.
  virtual Result<std::vector<ApprovalRecord>> ListApprovals(const std::string& run_id) = 0;

  // --- Notifications ---

  // Not durable: a notification attempt is evidence for `show`, nothing a resume needs.
  // Returns the stored record (id and `at` filled in).
  virtual Result<NotificationRecord> RecordNotification(NotificationRecord notification) = 0;

  // In the order they were recorded.
  virtual Result<std::vector<NotificationRecord>> ListNotifications(const std::string& run_id) = 0;
};

}  // namespace stagecraft::journal
