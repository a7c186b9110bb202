#include "journal/lock.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <system_error>

#include "journal/sqlite_db.h"

namespace stagecraft::journal {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kLockColumns =
    "lock_key, lock_id, run_id, user, host, pid, started_at, heartbeat_at, lease_ms";

LockInfo ReadLock(const Statement& row) {
  LockInfo info;
  info.key = row.Text(0);
  info.lock_id = row.Text(1);
  info.run_id = row.Text(2);
  info.user = row.Text(3);
  info.host = row.Text(4);
  info.pid = row.Int(5);
  info.started_at = row.Int(6);
  info.heartbeat_at = row.Int(7);
  info.lease_ms = row.Int(8);
  return info;
}

// The locks whose `column` is `value`: at most one, since both columns it is used with are
// unique.
Result<std::vector<LockInfo>> LocksWhere(Database& db, std::string_view column,
                                         const std::string& value) {
  return db.Rows<LockInfo>(
      ReadLock, fmt::format("SELECT {} FROM locks WHERE {} = ?1", kLockColumns, column), value);
}

Result<std::unique_ptr<Database>> OpenLockDatabase(const std::string& state_dir, bool create,
                                                   Millis busy_timeout) {
  DatabaseOptions options;
  options.dir = state_dir;
  options.create = create;
  options.busy_timeout = busy_timeout;
  return Database::Open(options);
}

// Why `holder` no longer holds its lock, or nothing while it is alive.
std::optional<std::string> StaleReason(const LockInfo& holder, TimeMs now,
                                       const std::string& this_host) {
  if (holder.host == this_host && journal::ProcessIsGone(holder.pid)) {
    return fmt::format("pid {} is gone", holder.pid);
  }
  if (now - holder.heartbeat_at > holder.lease_ms) {
    return fmt::format("no heartbeat for {} (lease {})",
                       FormatDuration(Millis(now - holder.heartbeat_at)),
                       FormatDuration(Millis(holder.lease_ms)));
  }
  return std::nullopt;
}

// "12:00:01" today, "2026-11-21 12:00:01" on another day; local time, as people read it.
std::string FormatSince(TimeMs at, TimeMs now) {
  time_t then_seconds = static_cast<time_t>(at / 1000);
  time_t now_seconds = static_cast<time_t>(now / 1000);
  std::tm then{};
  std::tm today{};
  localtime_r(&then_seconds, &then);
  localtime_r(&now_seconds, &today);
  std::string time = fmt::format("{:02}:{:02}:{:02}", then.tm_hour, then.tm_min, then.tm_sec);
  if (then.tm_year == today.tm_year && then.tm_yday == today.tm_yday) return time;
  return fmt::format("{:04}-{:02}-{:02} {}", then.tm_year + 1900, then.tm_mon + 1, then.tm_mday,
                     time);
}

std::string LockedMessage(const LockInfo& holder) {
  return fmt::format("{} is locked by run {} ({}@{}, pid {}, since {}, lock id {})", holder.key,
                     holder.run_id.empty() ? "?" : holder.run_id, holder.user, holder.host,
                     holder.pid, FormatSince(holder.started_at, NowMs()), holder.lock_id);
}

struct TryResult {
  bool acquired = false;
  LockInfo holder;  // the live holder when not acquired
  std::optional<LockInfo> replaced;
  std::string replaced_reason;
};

// One atomic attempt: under the write lock, read the holder, drop it if stale, insert us.
Result<TryResult> TryAcquire(Database& db, LockInfo& mine, const std::string& this_host) {
  Result<Transaction> transaction = Transaction::Begin(db, /*durable=*/true);
  if (!transaction.ok()) return transaction.status();

  TryResult result;
  Result<std::vector<LockInfo>> held = LocksWhere(db, "lock_key", mine.key);
  if (!held.ok()) return held.status();
  TimeMs now = NowMs();
  if (!held->empty()) {
    LockInfo& holder = held->front();
    std::optional<std::string> stale = StaleReason(holder, now, this_host);
    if (!stale) {
      result.holder = std::move(holder);
      return result;  // the transaction rolls back: nothing was written
    }
    Status removed = db.Run("DELETE FROM locks WHERE lock_key = ?1", mine.key);
    if (!removed.ok()) return removed;
    result.replaced = std::move(holder);
    result.replaced_reason = std::move(*stale);
  }

  mine.lock_id = NewLockId();
  mine.started_at = now;
  mine.heartbeat_at = now;
  Status inserted =
      db.Run(fmt::format("INSERT INTO locks ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                         kLockColumns),
             mine.key, mine.lock_id, mine.run_id, mine.user, mine.host, mine.pid, mine.started_at,
             mine.heartbeat_at, mine.lease_ms);
  if (!inserted.ok()) return inserted;
  if (Status status = transaction->Commit(); !status.ok()) return status;
  result.acquired = true;
  return result;
}

}  // namespace

std::string DefaultLockKey(std::string_view runbook_path, std::string_view environment) {
  if (environment.empty()) return std::string(runbook_path);
  return fmt::format("{} [{}]", runbook_path, environment);
}

Result<std::unique_ptr<RunLock>> RunLock::Acquire(const std::string& key,
                                                  const LockOptions& options) {
  if (key.empty()) return Status::Error("journal: a lock key must not be empty");
  if (options.lease.count() <= 0) return Status::Error("journal: a lock lease must be positive");
  Result<std::unique_ptr<Database>> db =
      OpenLockDatabase(options.state_dir, /*create=*/true, options.busy_timeout);
  if (!db.ok()) return db.status();

  ProcessIdentity me = CurrentIdentity();
  ProcessIdentity holder = options.identity.value_or(me);
  LockInfo mine;
  mine.key = key;
  mine.run_id = options.run_id;
  mine.user = holder.user;
  mine.host = holder.host;
  mine.pid = holder.pid;
  mine.lease_ms = options.lease.count();

  const auto deadline = SteadyClock::now() + options.wait;
  TryResult attempt;
  while (true) {
    Result<TryResult> tried = TryAcquire(**db, mine, me.host);
    if (!tried.ok()) return tried.status();
    attempt = std::move(*tried);
    if (attempt.acquired) break;
    auto now = SteadyClock::now();
    if (now >= deadline) {
      std::string message = LockedMessage(attempt.holder);
      if (options.wait.count() > 0)
        message += fmt::format(" (waited {})", FormatDuration(options.wait));
      return Status::Error(std::move(message));
    }
    auto pause = std::min<SteadyClock::duration>(options.poll_interval, deadline - now);
    std::this_thread::sleep_for(pause);
  }

  std::unique_ptr<RunLock> lock(new RunLock(std::move(*db), std::move(mine)));
  lock->replaced_ = std::move(attempt.replaced);
  lock->replaced_reason_ = std::move(attempt.replaced_reason);
  Millis interval = options.heartbeat_interval.value_or(options.lease / 3);
  if (interval.count() > 0) {
    try {
      RunLock* self = lock.get();
      lock->heartbeat_ = std::thread([self, interval] { self->HeartbeatLoop(interval); });
    } catch (const std::system_error& error) {
      // The destructor releases the row we just inserted.
      return Status::Error(
          fmt::format("journal: cannot start the lock heartbeat thread: {}", error.what()));
    }
  }
  return lock;
}

RunLock::RunLock(std::unique_ptr<Database> db, LockInfo info)
    : db_(std::move(db)), info_(std::move(info)) {}

RunLock::~RunLock() {
  Release();  // best effort: a destructor has nobody to report to
}

void RunLock::HeartbeatLoop(Millis interval) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, interval);
    if (stopping_) break;
    Status status = HeartbeatLocked();
    if (!status.ok() && health_.ok()) health_ = status;
  }
}

Status RunLock::Heartbeat() {
  std::lock_guard<std::mutex> lock(mu_);
  return HeartbeatLocked();
}

Status RunLock::HeartbeatLocked() {
  if (released_) {
    return Status::Error(
        fmt::format("journal: lock {} on {} was released", info_.lock_id, info_.key));
  }
  TimeMs now = NowMs();
  // Not fsynced: a heartbeat lost to a power cut only makes the lock look older.
  Result<Transaction> transaction = Transaction::Begin(*db_, /*durable=*/false);
  if (!transaction.ok()) return transaction.status();
  Status updated = db_->Update(
      Status::Error(fmt::format(
          "journal: lost the lock on {} (lock id {}): it was force-unlocked or taken over",
          info_.key, info_.lock_id)),
      "UPDATE locks SET heartbeat_at = ?3 WHERE lock_key = ?1 AND lock_id = ?2", info_.key,
      info_.lock_id, now);
  if (!updated.ok()) return updated;
  if (Status status = transaction->Commit(); !status.ok()) return status;
  info_.heartbeat_at = now;
  return Status::Ok();
}

Status RunLock::health() {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void RunLock::StopHeartbeats() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (heartbeat_.joinable()) heartbeat_.join();
}

Status RunLock::Release() {
  StopHeartbeats();
  std::lock_guard<std::mutex> lock(mu_);
  if (released_) return Status::Ok();
  released_ = true;
  Result<Transaction> transaction = Transaction::Begin(*db_, /*durable=*/true);
  if (!transaction.ok()) return transaction.status();
  // Only our own row: after a force-unlock the key may belong to another run by now.
  Status removed =
      db_->Run("DELETE FROM locks WHERE lock_key = ?1 AND lock_id = ?2", info_.key, info_.lock_id);
  return removed.ok() ? transaction->Commit() : removed;
}

Result<std::optional<LockInfo>> RunLock::Holder(const std::string& state_dir,
                                                const std::string& key) {
  Result<std::unique_ptr<Database>> db =
      OpenLockDatabase(state_dir, /*create=*/false, Millis(5000));
  if (!db.ok()) return db.status();
  Result<std::vector<LockInfo>> held = LocksWhere(**db, "lock_key", key);
  if (!held.ok()) return held.status();
  if (held->empty()) return std::optional<LockInfo>();
  return std::optional<LockInfo>(held->front());
}

Result<std::vector<LockInfo>> RunLock::List(const std::string& state_dir) {
  Result<std::unique_ptr<Database>> db =
      OpenLockDatabase(state_dir, /*create=*/false, Millis(5000));
  if (!db.ok()) return db.status();
  return (*db)->Rows<LockInfo>(ReadLock,
                               fmt::format("SELECT {} FROM locks ORDER BY lock_key", kLockColumns));
}

Result<LockInfo> RunLock::ForceUnlock(const std::string& state_dir, const std::string& lock_id) {
  Result<std::unique_ptr<Database>> db =
      OpenLockDatabase(state_dir, /*create=*/false, Millis(5000));
  if (!db.ok()) return db.status();
  Database& database = **db;
  Result<Transaction> transaction = Transaction::Begin(database, /*durable=*/true);
  if (!transaction.ok()) return transaction.status();
  Result<LockInfo> removed = FirstRow(
      LocksWhere(database, "lock_id", lock_id),
      Status::Error(fmt::format("journal: no lock with id {} (already released?)", lock_id)));
  if (!removed.ok()) return removed;
  if (Status status = database.Run("DELETE FROM locks WHERE lock_id = ?1", lock_id); !status.ok())
    return status;
  if (Status status = transaction->Commit(); !status.ok()) return status;
  return removed;
}

}  // namespace stagecraft::journal
