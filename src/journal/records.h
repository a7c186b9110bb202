#pragma once

// Value types the journal stores, plus the small helpers that make them (ids, the clock,
// the identity of this process). Every type here is a plain value: copyable, no shared
// state, safe to hand between threads as long as each copy has one owner at a time.
// JSON fields use nlohmann::json so the engine can carry the scope and captures without
// re-parsing; the journal stores them as JSON text.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/vocabulary.h"

namespace stagecraft::journal {

// Wall-clock time in milliseconds since the Unix epoch. Journaled times are wall-clock
// (not steady) because they are shown to people and compared across processes.
using TimeMs = int64_t;

TimeMs NowMs();

struct RunRecord {
  // "20261122-153012-ab12cd": UTC start time plus a random suffix, so ids sort by start
  // time as text and two runs started in the same second still differ. CreateRun
  // assigns one when left empty.
  std::string id;
  std::string runbook_path;    // absolute
  std::string runbook_hash;    // hex digest of the file's bytes
  std::string structure_hash;  // hex digest of the step structure; resume compares it
  std::string environment;     // "" when the runbook has no environments
  std::string user;
  std::string host;
  int64_t pid = 0;  // the process driving the run (updated by ReopenRun)
  TimeMs started_at = 0;
  std::optional<TimeMs> ended_at;
  RunStatus status = RunStatus::kRunning;
  std::optional<int> exit_code;
  // Variables in effect (vars, --var, environment vars, captures, exports). The engine
  // removes secrets before handing the scope over; the journal stores what it gets.
  nlohmann::json scope = nlohmann::json::object();
  std::string cwd;
  // The run's options as the engine wants to replay them on resume (--on-failure,
  // --yes, --dry-run...).
  nlohmann::json options = nlohmann::json::object();
  // How many times the run was reopened by `resume` or `rollback`.
  int resumes = 0;

  friend bool operator==(const RunRecord&, const RunRecord&) = default;
};

// A step of a run as planned: one row per step key, whatever the number of attempts.
//
// The hierarchy is explicit: a step of the flow and a rollback block have no parent; an
// item of a step (action block, check, confirmation, verification) has its step's key as
// parent. `ordinal` counts from 1 among siblings: steps in flow order, a step's items in
// run order, rollback blocks (kind kRollback or kCompensation) in run order. Keys are
// identifiers only: nothing may read structure from their spelling.
struct StepRecord {
  std::string run_id;
  std::string key;         // stable within a run, e.g. "deploy" or "deploy/2"
  std::string parent_key;  // the step an item belongs to; "" for steps and rollback blocks
  int ordinal = 0;         // 1-based position among the records with the same parent
  std::string phase;
  std::string title;
  StepKind kind = StepKind::kStep;
  std::optional<int64_t> budget_ms;
  // Digest of what the step runs, so resume can name the steps that changed.
  std::string content_hash;
  // Maintained by the journal from the latest attempt; kPending until one begins.
  StepStatus status = StepStatus::kPending;
  int attempts = 0;  // read-only: filled when listing

  friend bool operator==(const StepRecord&, const StepRecord&) = default;
};

// A step of the flow (preflight, a runbook step, success criteria): no parent and not a
// rollback block.
bool IsFlowStep(const StepRecord& record);

// One execution of a step. BeginAttempt fills `id`, `attempt` and `started_at`.
struct AttemptRecord {
  int64_t id = 0;  // unique in the journal; output chunks refer to it
  std::string run_id;
  std::string step_key;
  // Step fields: used to plan the step when BeginAttempt meets an unplanned key, and
  // filled from the plan when attempts are listed.
  std::string parent_key;
  int ordinal = 0;
  std::string phase;
  std::string title;
  StepKind kind = StepKind::kStep;
  StepStatus status = StepStatus::kRunning;
  int attempt = 0;  // 1-based per (run, step); 0 asks BeginAttempt for the next one
  TimeMs started_at = 0;
  std::optional<TimeMs> ended_at;
  std::optional<int> exit_code;
  std::optional<int> signal;  // set instead of exit_code when a signal ended the process
  std::optional<int64_t> budget_ms;
  std::string message;  // one line: why it failed / was skipped, expectation summary...
  std::string detail;   // lines that explain it: expectation diff, red-flag report
  nlohmann::json captures = nlohmann::json::object();  // name -> value
  // The process group the attempt's command ran in, and the start time (clock ticks since
  // boot, /proc/PID/stat field 22) of its leader, which tells the group apart from a later
  // one that reuses the number. Set by RecordProcess; empty when nothing was spawned.
  std::optional<int64_t> process_group;
  std::optional<int64_t> process_start;

  friend bool operator==(const AttemptRecord&, const AttemptRecord&) = default;
};

// How an attempt ended; see Journal::EndAttempt.
struct AttemptOutcome {
  StepStatus status = StepStatus::kSucceeded;
  TimeMs ended_at = 0;  // 0 means now
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string message;  // one line
  std::string detail;   // expectation diff, red-flag report; "" when none
  nlohmann::json captures = nlohmann::json::object();
};

struct ApprovalRecord {
  int64_t id = 0;  // assigned by RecordApproval
  std::string run_id;
  std::string step_key;
  std::string who;
  TimeMs at = 0;  // 0 means now
  ApprovalMethod how = ApprovalMethod::kPrompt;
  ApprovalDecision decision = ApprovalDecision::kApproved;
  std::string comment;

  friend bool operator==(const ApprovalRecord&, const ApprovalRecord&) = default;
};

// One attempt at delivering a notification (notify: in the front matter). `target` is the
// target's label ("webhook #1 (hooks.example.com)"), never its URL, which may hold a token.
struct NotificationRecord {
  int64_t id = 0;  // assigned by RecordNotification
  std::string run_id;
  std::string target;
  std::string event;  // "started", "waiting", "failed", "rolled_back", "succeeded"
  int attempt = 0;    // 1-based; 0 for a target the event's time budget left no time for
  TimeMs at = 0;      // 0 means now
  int64_t duration_ms = 0;
  std::optional<int> http_status;  // when a server answered
  bool delivered = false;
  std::string error;  // "" when delivered

  friend bool operator==(const NotificationRecord&, const NotificationRecord&) = default;
};

// A slice of one attempt's output. Chunks of a run come back in the order the bytes
// arrived, stdout and stderr interleaved as they were appended.
struct OutputChunk {
  int64_t seq = 0;  // increases with arrival; `logs -f` resumes after the last seen
  std::string run_id;
  std::string step_key;
  int64_t attempt_id = 0;
  int attempt = 0;
  Stream stream = Stream::kStdout;
  TimeMs at = 0;      // when the first byte of the chunk was appended
  std::string bytes;  // raw bytes, may hold NULs and invalid UTF-8
  // Bytes of this attempt's output left out just before this chunk (OutputQuery::tail_bytes).
  int64_t skipped_before = 0;
};

// Who is running: recorded on runs and locks.
struct ProcessIdentity {
  std::string user;
  std::string host;
  int64_t pid = 0;
};

// This process: the effective user's login name (falling back to $USER, then the uid),
// the host name, and getpid().
ProcessIdentity CurrentIdentity();

// True when no process `pid` runs on this machine any more: it does not exist, or it is a
// zombie (killed, not yet reaped by its parent). A process of another user counts as alive.
bool ProcessIsGone(int64_t pid);

// "20261122-153012-ab12cd" for `at` (UTC) plus 24 random bits.
std::string NewRunId(TimeMs at);

// 12 random hex digits: short enough to type into `unlock --force`.
std::string NewLockId();

// `bytes` random bytes as lower-case hex, from getrandom(2) (falling back to a
// clock/pid mix when the kernel refuses, which only costs uniqueness guarantees).
std::string RandomHex(size_t bytes);

// Serializes for storage. Invalid UTF-8 in strings is replaced rather than throwing,
// because the journal must not lose a run over one odd byte in a captured value.
std::string DumpJson(const nlohmann::json& value);
// Reads back what DumpJson stored; `what` names it in the error ("scope of run ID").
Result<nlohmann::json> ParseJson(const std::string& text, std::string_view what);

}  // namespace stagecraft::journal
