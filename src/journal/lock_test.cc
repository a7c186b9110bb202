#include "journal/lock.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kKey = "/srv/deploy/runbook.md [staging]";

LockOptions Options(const TempDir& dir, const std::string& run_id = "run-1") {
  LockOptions options;
  options.state_dir = dir.path();
  options.run_id = run_id;
  options.heartbeat_interval = Millis(0);  // tests heartbeat by hand unless they say so
  return options;
}

std::unique_ptr<RunLock> AcquireOrDie(const std::string& key, const LockOptions& options) {
  Result<std::unique_ptr<RunLock>> lock = RunLock::Acquire(key, options);
  EXPECT_TRUE(lock.ok()) << (lock.ok() ? "" : lock.error());
  if (!lock.ok()) return nullptr;
  return std::move(lock).value();
}

std::string LocalTime(TimeMs at) {
  time_t seconds = static_cast<time_t>(at / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

// Runs `body` in a child process and returns its exit code. The child never returns into
// the test runner.
template <typename Body>
int InChild(Body body) {
  pid_t child = fork();
  if (child == 0) _exit(body());
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(LockTest, DefaultKeyIsPathAndEnvironment) {
  EXPECT_EQ(DefaultLockKey("/srv/runbook.md", "staging"), "/srv/runbook.md [staging]");
  EXPECT_EQ(DefaultLockKey("/srv/runbook.md", ""), "/srv/runbook.md");
}

TEST(LockTest, AcquireRecordsTheHolder) {
  TempDir dir;
  TimeMs before = NowMs();
  auto lock = AcquireOrDie(kKey, Options(dir));
  ASSERT_NE(lock, nullptr);
  const LockInfo& info = lock->info();
  EXPECT_EQ(info.key, kKey);
  EXPECT_THAT(info.lock_id, ::testing::MatchesRegex("[0-9a-f]{12}"));
  EXPECT_EQ(info.run_id, "run-1");
  EXPECT_EQ(info.pid, getpid());
  EXPECT_EQ(info.host, CurrentIdentity().host);
  EXPECT_EQ(info.user, CurrentIdentity().user);
  EXPECT_GE(info.started_at, before);
  EXPECT_EQ(info.heartbeat_at, info.started_at);
  EXPECT_EQ(info.lease_ms, 60'000);
  EXPECT_FALSE(lock->replaced().has_value());

  Result<std::optional<LockInfo>> holder = RunLock::Holder(dir.path(), kKey);
  ASSERT_TRUE(holder.ok()) << holder.error();
  ASSERT_TRUE(holder->has_value());
  EXPECT_EQ(**holder, info);
}

TEST(LockTest, SecondAcquireFailsNamingTheHolder) {
  TempDir dir;
  LockOptions options = Options(dir, "20261122-120001-ab12cd");
  options.identity = ProcessIdentity{"alice", CurrentIdentity().host, getpid()};
  auto first = AcquireOrDie(kKey, options);
  ASSERT_NE(first, nullptr);

  Result<std::unique_ptr<RunLock>> second = RunLock::Acquire(kKey, Options(dir, "run-2"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(),
            fmt::format("/srv/deploy/runbook.md [staging] is locked by run "
                        "20261122-120001-ab12cd (alice@{}, pid {}, since {}, lock id {})",
                        CurrentIdentity().host, getpid(), LocalTime(first->info().started_at),
                        first->info().lock_id));
}

TEST(LockTest, DifferentKeysDoNotConflict) {
  TempDir dir;
  auto staging = AcquireOrDie("/r.md [staging]", Options(dir));
  auto production = AcquireOrDie("/r.md [production]", Options(dir));
  EXPECT_NE(staging, nullptr);
  EXPECT_NE(production, nullptr);
  Result<std::vector<LockInfo>> locks = RunLock::List(dir.path());
  ASSERT_TRUE(locks.ok()) << locks.error();
  ASSERT_EQ(locks->size(), 2u);
  EXPECT_EQ((*locks)[0].key, "/r.md [production]");
}

TEST(LockTest, DestructionReleasesTheLock) {
  TempDir dir;
  { auto lock = AcquireOrDie(kKey, Options(dir)); }
  Result<std::optional<LockInfo>> holder = RunLock::Holder(dir.path(), kKey);
  ASSERT_TRUE(holder.ok()) << holder.error();
  EXPECT_FALSE(holder->has_value());
  EXPECT_NE(AcquireOrDie(kKey, Options(dir, "run-2")), nullptr);
}

TEST(LockTest, StaleHolderWhosePidIsGoneIsTakenOver) {
  TempDir dir;
  pid_t dead_pid = 0;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  // The child takes the lock and dies without releasing it, as after a SIGKILL.
  int code = InChild([&] {
    Result<std::unique_ptr<RunLock>> lock = RunLock::Acquire(kKey, Options(dir, "crashed"));
    pid_t me = getpid();
    if (write(pipe_fds[1], &me, sizeof me) != sizeof me) _exit(3);
    _exit(lock.ok() ? 0 : 2);  // before `lock` goes out of scope: no release
    return 1;
  });
  ASSERT_EQ(code, 0);
  ASSERT_EQ(read(pipe_fds[0], &dead_pid, sizeof dead_pid), static_cast<ssize_t>(sizeof dead_pid));
  close(pipe_fds[0]);
  close(pipe_fds[1]);

  auto lock = AcquireOrDie(kKey, Options(dir, "run-2"));
  ASSERT_NE(lock, nullptr);
  ASSERT_TRUE(lock->replaced().has_value());
  EXPECT_EQ(lock->replaced()->run_id, "crashed");
  EXPECT_EQ(lock->replaced()->pid, dead_pid);
  EXPECT_EQ(lock->replaced_reason(), fmt::format("pid {} is gone", dead_pid));
}

TEST(LockTest, HolderOnAnotherHostIsStaleOnlyOnceItsLeaseExpires) {
  TempDir dir;
  LockOptions remote = Options(dir, "remote-run");
  // Another machine: its pid means nothing here, only the lease counts.
  remote.identity = ProcessIdentity{"bob", "elsewhere.invalid", 1};
  remote.lease = Millis(300);
  auto held = AcquireOrDie(kKey, remote);
  ASSERT_NE(held, nullptr);

  Result<std::unique_ptr<RunLock>> early = RunLock::Acquire(kKey, Options(dir, "run-2"));
  ASSERT_FALSE(early.ok());
  EXPECT_THAT(early.error(), HasSubstr("locked by run remote-run (bob@elsewhere.invalid"));

  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto lock = AcquireOrDie(kKey, Options(dir, "run-2"));
  ASSERT_NE(lock, nullptr);
  ASSERT_TRUE(lock->replaced().has_value());
  EXPECT_EQ(lock->replaced()->lock_id, held->info().lock_id);
  EXPECT_THAT(lock->replaced_reason(), StartsWith("no heartbeat for "));
  EXPECT_THAT(lock->replaced_reason(), HasSubstr("(lease 300ms)"));

  // The old holder finds out at its next heartbeat, and its release leaves ours alone.
  EXPECT_THAT(held->Heartbeat().message(), HasSubstr("lost the lock on"));
  EXPECT_TRUE(held->Release().ok());
  Result<std::optional<LockInfo>> holder = RunLock::Holder(dir.path(), kKey);
  ASSERT_TRUE(holder.ok()) << holder.error();
  ASSERT_TRUE(holder->has_value());
  EXPECT_EQ((*holder)->lock_id, lock->info().lock_id);
}

TEST(LockTest, BackgroundHeartbeatsKeepTheLeaseAlive) {
  TempDir dir;
  LockOptions remote = Options(dir, "remote-run");
  remote.identity = ProcessIdentity{"bob", "elsewhere.invalid", 1};
  remote.lease = Millis(300);
  remote.heartbeat_interval = std::nullopt;  // lease / 3
  auto held = AcquireOrDie(kKey, remote);
  ASSERT_NE(held, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  Result<std::unique_ptr<RunLock>> other = RunLock::Acquire(kKey, Options(dir, "run-2"));
  EXPECT_FALSE(other.ok());
  EXPECT_TRUE(held->health().ok()) << held->health().message();
  Result<std::optional<LockInfo>> holder = RunLock::Holder(dir.path(), kKey);
  ASSERT_TRUE(holder.ok() && holder->has_value());
  EXPECT_GT((*holder)->heartbeat_at, held->info().started_at);
}

TEST(LockTest, BackgroundHeartbeatReportsAForceUnlock) {
  TempDir dir;
  LockOptions options = Options(dir);
  options.heartbeat_interval = Millis(20);
  auto held = AcquireOrDie(kKey, options);
  ASSERT_NE(held, nullptr);
  ASSERT_TRUE(RunLock::ForceUnlock(dir.path(), held->info().lock_id).ok());
  Status health;
  for (int i = 0; i < 100 && health.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    health = held->health();
  }
  EXPECT_EQ(health.message(),
            fmt::format("journal: lost the lock on {} (lock id {}): it was force-unlocked or "
                        "taken over",
                        kKey, held->info().lock_id));
}

TEST(LockTest, ForceUnlockWithAWrongIdIsRefused) {
  TempDir dir;
  auto held = AcquireOrDie(kKey, Options(dir));
  ASSERT_NE(held, nullptr);
  Result<LockInfo> removed = RunLock::ForceUnlock(dir.path(), "0123456789ab");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error(), "journal: no lock with id 0123456789ab (already released?)");
  EXPECT_TRUE(held->Heartbeat().ok());
}

TEST(LockTest, ForceUnlockWithTheRightIdReleases) {
  TempDir dir;
  auto held = AcquireOrDie(kKey, Options(dir));
  ASSERT_NE(held, nullptr);
  Result<LockInfo> removed = RunLock::ForceUnlock(dir.path(), held->info().lock_id);
  ASSERT_TRUE(removed.ok()) << removed.error();
  EXPECT_EQ(*removed, held->info());

  auto next = AcquireOrDie(kKey, Options(dir, "run-2"));
  ASSERT_NE(next, nullptr);
  EXPECT_FALSE(next->replaced().has_value());
  // The unlocked holder's release must not remove the new holder's row.
  held.reset();
  EXPECT_TRUE(next->Heartbeat().ok());
}

TEST(LockTest, WaitingAcquireSucceedsOnceTheHolderReleases) {
  TempDir dir;
  auto held = AcquireOrDie(kKey, Options(dir));
  ASSERT_NE(held, nullptr);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held->Release();
  });
  LockOptions waiting = Options(dir, "run-2");
  waiting.wait = Millis(5000);
  waiting.poll_interval = Millis(20);
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<RunLock>> lock = RunLock::Acquire(kKey, waiting);
  releaser.join();
  ASSERT_TRUE(lock.ok()) << lock.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(LockTest, WaitingAcquireGivesUpNamingTheHolder) {
  TempDir dir;
  auto held = AcquireOrDie(kKey, Options(dir));
  ASSERT_NE(held, nullptr);
  LockOptions waiting = Options(dir, "run-2");
  waiting.wait = Millis(150);
  waiting.poll_interval = Millis(20);
  Result<std::unique_ptr<RunLock>> lock = RunLock::Acquire(kKey, waiting);
  ASSERT_FALSE(lock.ok());
  EXPECT_THAT(lock.error(), StartsWith(std::string(kKey) + " is locked by run run-1 ("));
  EXPECT_THAT(lock.error(),
              ::testing::EndsWith(fmt::format("lock id {}) (waited 150ms)", held->info().lock_id)));
}

TEST(LockTest, TwentyThreadsRacingYieldExactlyOneHolder) {
  TempDir dir;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<RunLock>> winners(20);
  std::vector<std::string> errors(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load())
        std::this_thread::yield();
      Result<std::unique_ptr<RunLock>> lock =
          RunLock::Acquire(kKey, Options(dir, fmt::format("run-{}", i)));
      if (lock.ok()) {
        winners[i] = std::move(lock).value();
      } else {
        errors[i] = lock.error();
      }
    });
  }
  go = true;
  for (std::thread& thread : threads)
    thread.join();
  int held = 0;
  for (int i = 0; i < 20; ++i) {
    if (winners[i]) {
      ++held;
    } else {
      EXPECT_THAT(errors[i], HasSubstr(" is locked by run ")) << i;
    }
  }
  EXPECT_EQ(held, 1);
}

TEST(LockTest, TwentyProcessesRacingYieldExactlyOneHolder) {
  TempDir dir;
  int start[2], results[2], release[2];
  ASSERT_EQ(pipe(start), 0);
  ASSERT_EQ(pipe(results), 0);
  ASSERT_EQ(pipe(release), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 20; ++i) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(start[1]);
      close(results[0]);
      close(release[1]);
      char byte;
      // Everyone blocks here until the parent closes `start`, then races.
      if (read(start[0], &byte, 1) != 0) _exit(10);
      Result<std::unique_ptr<RunLock>> lock =
          RunLock::Acquire(kKey, Options(dir, fmt::format("proc-{}", i)));
      char outcome = lock.ok()                                                      ? 'W'
                     : lock.error().find(" is locked by run ") != std::string::npos ? 'L'
                                                                                    : 'E';
      if (outcome == 'E') fprintf(stderr, "child %d: %s\n", i, lock.error().c_str());
      if (write(results[1], &outcome, 1) != 1) _exit(11);
      // The winner holds the lock until every racer has reported.
      if (outcome == 'W' && read(release[0], &byte, 1) != 0) _exit(12);
      if (lock.ok()) lock.value().reset();  // releases
      _exit(0);
    }
    children.push_back(child);
  }
  close(start[0]);
  close(results[1]);
  close(release[0]);
  close(start[1]);  // go

  std::string outcomes;
  char buffer[32];
  ssize_t got;
  while (outcomes.size() < 20 && (got = read(results[0], buffer, sizeof buffer)) > 0)
    outcomes.append(buffer, static_cast<size_t>(got));
  close(release[1]);
  close(results[0]);
  for (pid_t child : children) {
    int status = 0;
    EXPECT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), 'W'), 1) << outcomes;
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), 'L'), 19) << outcomes;

  Result<std::optional<LockInfo>> holder = RunLock::Holder(dir.path(), kKey);
  ASSERT_TRUE(holder.ok()) << holder.error();
  EXPECT_FALSE(holder->has_value());  // the winner released on its way out
}

}  // namespace
}  // namespace stagecraft::journal
