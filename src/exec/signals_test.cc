#include "exec/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace stagecraft::exec {
namespace {

void CustomHandler(int) {}

TEST(InterruptWatcherTest, CountsEveryWatchedSignal) {
  InterruptWatcher watcher;
  EXPECT_FALSE(watcher.pending());
  raise(SIGINT);
  raise(SIGTERM);
  raise(SIGHUP);
  EXPECT_TRUE(watcher.pending());
  EXPECT_EQ(watcher.count(), 3);
  EXPECT_EQ(watcher.last_signal(), SIGHUP);
}

TEST(InterruptWatcherTest, ClearAcknowledgesSignalsSeenSoFar) {
  InterruptWatcher watcher;
  raise(SIGINT);
  watcher.Clear();
  EXPECT_FALSE(watcher.pending());
  raise(SIGINT);
  EXPECT_EQ(watcher.count(), 1);
}

TEST(InterruptWatcherTest, LaterWatcherDoesNotInheritEarlierSignals) {
  {
    InterruptWatcher first;
    raise(SIGINT);
    EXPECT_TRUE(first.pending());
  }
  InterruptWatcher second;
  EXPECT_FALSE(second.pending());
}

TEST(InterruptWatcherTest, NestedWatchersShareSignals) {
  InterruptWatcher outer;
  {
    InterruptWatcher inner;
    raise(SIGTERM);
    EXPECT_EQ(inner.count(), 1);
  }
  // The inner watcher put the outer's handler back, and the signal counted for both.
  EXPECT_EQ(outer.count(), 1);
  raise(SIGTERM);
  EXPECT_EQ(outer.count(), 2);
}

TEST(InterruptWatcherTest, DestructorRestoresPreviousHandlers) {
  struct sigaction custom = {};
  custom.sa_handler = CustomHandler;
  struct sigaction saved;
  ASSERT_EQ(sigaction(SIGHUP, &custom, &saved), 0);
  { InterruptWatcher watcher; }
  struct sigaction now;
  sigaction(SIGHUP, nullptr, &now);
  EXPECT_EQ(now.sa_handler, CustomHandler);
  sigaction(SIGHUP, &saved, nullptr);
}

TEST(InterruptWatcherTest, IgnoresSigpipe) {
  InterruptWatcher watcher;
  struct sigaction now;
  sigaction(SIGPIPE, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
}

TEST(InterruptWatcherTest, WatchedSignalsAreIntTermHup) {
  sigset_t set = InterruptWatcher::WatchedSignals();
  EXPECT_TRUE(sigismember(&set, SIGINT));
  EXPECT_TRUE(sigismember(&set, SIGTERM));
  EXPECT_TRUE(sigismember(&set, SIGHUP));
  EXPECT_FALSE(sigismember(&set, SIGQUIT));
}

TEST(SignalNameTest, NamesKnownSignalsAndNumbersTheRest) {
  EXPECT_EQ(SignalName(SIGINT), "SIGINT");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(1000), "signal 1000");
}

}  // namespace
}  // namespace stagecraft::exec
