#pragma once

// Run locks: at most one run at a time per lock key (by default the runbook's absolute
// path plus the environment, see DefaultLockKey).
//
// Mechanism. A row in the `locks` table of DIR/journal.db, keyed by the lock key, taken
// inside a BEGIN IMMEDIATE transaction: SQLite's write lock makes check-stale-then-insert
// atomic across threads and processes, and the row carries what a lock file would not
// (run id, holder, heartbeat) in the one place `runs`, `show` and `unlock --force`
// already read. An O_EXCL/flock lock file was the alternative; it would need the same
// metadata written beside it non-atomically, and flock's release-on-exit is exactly what
// we cannot have here: a stale row must stay visible until someone decides to take over.
//
// Staleness. A holder is stale when it runs on this host and its pid is gone
// (kill(pid, 0) fails with ESRCH), or when its last heartbeat is older than its lease.
// Acquire replaces a stale holder and reports it (replaced()). The pid test assumes the
// holder shared our pid namespace when it has our host name; pid reuse only delays
// takeover until the lease expires.
//
// Heartbeats. A RunLock refreshes heartbeat_at from a background thread every
// heartbeat_interval (default lease / 3), so a long step does not let the lease expire.
// The thread only touches the lock's own connection under the lock's mutex. If a
// heartbeat finds the row gone or owned by another id (force-unlocked, or taken over
// after a lease expiry), health() reports it so the engine can stop.
//
// Thread-safety: RunLock's methods may be called from any thread; destruction must not
// race with other calls. The static functions are independent of each other.
//
// Ownership: a RunLock owns its SQLite connection and heartbeat thread; the destructor
// stops the thread and releases the lock (RAII). A process that dies without running the
// destructor leaves a row that the pid or lease test later declares stale.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/duration.h"
#include "base/status.h"
#include "journal/records.h"

namespace stagecraft::journal {

class Database;

struct LockInfo {
  std::string key;
  std::string lock_id;  // random, 12 hex digits; what `unlock --force` takes
  std::string run_id;
  std::string user;
  std::string host;
  int64_t pid = 0;
  TimeMs started_at = 0;
  TimeMs heartbeat_at = 0;
  int64_t lease_ms = 0;  // the holder's lease: stale once heartbeat_at + lease_ms < now

  friend bool operator==(const LockInfo&, const LockInfo&) = default;
};

struct LockOptions {
  std::string state_dir = ".stagecraft";
  std::string run_id;  // recorded for the error message other runs will see
  Millis lease{60'000};
  // How long Acquire keeps trying while a live holder has the key; 0 fails at once.
  Millis wait{0};
  Millis poll_interval{250};
  // Background heartbeat period; unset means lease / 3, zero turns the thread off (call
  // Heartbeat() yourself, more often than the lease).
  std::optional<Millis> heartbeat_interval;
  // The holder recorded in the row; unset means CurrentIdentity(). Staleness is always
  // judged against this machine's real host name, so tests can pose as another host.
  std::optional<ProcessIdentity> identity;
  Millis busy_timeout{5000};
};

// "/abs/path/deploy.md [staging]", or just the path when there is no environment.
std::string DefaultLockKey(std::string_view runbook_path, std::string_view environment);

class RunLock {
 public:
  // Takes the lock on `key`, replacing a stale holder. While a live holder has it, retries
  // every poll_interval for up to options.wait, then fails with a message naming the
  // holder: "KEY is locked by run R (alice@host, pid 1234, since 12:00:01, lock id L)".
  static Result<std::unique_ptr<RunLock>> Acquire(const std::string& key,
                                                  const LockOptions& options);

  // The current holder of `key`, if any (stale or not).
  static Result<std::optional<LockInfo>> Holder(const std::string& state_dir,
                                                const std::string& key);
  // Every lock row, by key.
  static Result<std::vector<LockInfo>> List(const std::string& state_dir);
  // Removes the lock whose id is `lock_id` and returns what it was. Another id (a typo,
  // or a lock that was already released and retaken) removes nothing and fails.
  static Result<LockInfo> ForceUnlock(const std::string& state_dir, const std::string& lock_id);

  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const LockInfo& info() const { return info_; }
  // The stale holder this lock replaced, and why it was stale ("pid 123 is gone").
  const std::optional<LockInfo>& replaced() const { return replaced_; }
  const std::string& replaced_reason() const { return replaced_reason_; }

  // Refreshes heartbeat_at. Fails when the lock is no longer ours.
  Status Heartbeat();
  // OK while background heartbeats succeed; otherwise the first failure.
  Status health();
  // Stops heartbeats and deletes the row if it is still ours. Idempotent.
  Status Release();

 private:
  RunLock(std::unique_ptr<Database> db, LockInfo info);
  Status HeartbeatLocked();
  void StopHeartbeats();
  void HeartbeatLoop(Millis interval);

  std::unique_ptr<Database> db_;  // guarded by mu_
  LockInfo info_;
  std::optional<LockInfo> replaced_;
  std::string replaced_reason_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool released_ = false;  // guarded by mu_
  Status health_;          // guarded by mu_
  std::mutex join_mu_;     // serializes joining the thread (Release from two threads)
  std::thread heartbeat_;
};

}  // namespace stagecraft::journal
