#include "exec/process_tree.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

namespace stagecraft::exec {
namespace {

// 52 fields as the kernel writes them; only the ones we read vary.
std::string Stat(const std::string& pid_and_name, char state, int ppid, int pgid,
                 unsigned long long start) {
  std::string line = pid_and_name + " " + state + " " + std::to_string(ppid) + " " +
                     std::to_string(pgid) + " 5 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " +
                     std::to_string(start) + " 2260992 179 18446744073709551615\n";
  return line;
}

TEST(ParseProcStatTest, ReadsTheFieldsWeNeed) {
  std::optional<ProcessInfo> info = ParseProcStat(Stat("123 (sleep)", 'S', 45, 67, 890));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pid, 123);
  EXPECT_EQ(info->state, 'S');
  EXPECT_EQ(info->ppid, 45);
  EXPECT_EQ(info->pgid, 67);
  EXPECT_EQ(info->start_ticks, 890u);
  EXPECT_FALSE(info->dead());
}

TEST(ParseProcStatTest, CommandNameWithSpacesAndParentheses) {
  // The command name is "a) S 1 (c)": only the last ')' ends it.
  std::optional<ProcessInfo> info = ParseProcStat(Stat("9 (a) S 1 (c))", 'Z', 1, 9, 7));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pid, 9);
  EXPECT_EQ(info->state, 'Z');
  EXPECT_TRUE(info->dead());
  EXPECT_EQ(info->start_ticks, 7u);
}

TEST(ParseProcStatTest, TruncatedLineIsRejected) {
  EXPECT_FALSE(ParseProcStat("123 (sleep) S 1 2 3").has_value());
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_FALSE(ParseProcStat("x (sleep) S").has_value());
}

TEST(ProcessTreeTest, ReadsOurOwnProcess) {
  std::optional<ProcessInfo> self = ReadProcessInfo(getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->pid, getpid());
  EXPECT_EQ(self->ppid, getppid());
  EXPECT_EQ(self->pgid, getpgrp());
  EXPECT_TRUE(IsAlive(*self));
}

TEST(ProcessTreeTest, ListIncludesOurselves) {
  std::vector<ProcessInfo> all = ListProcesses();
  EXPECT_TRUE(
      std::any_of(all.begin(), all.end(), [](const ProcessInfo& p) { return p.pid == getpid(); }));
}

TEST(ProcessTreeTest, CollectDescendantsFollowsParentLinks) {
  std::vector<ProcessInfo> snapshot = {
      {.pid = 10, .ppid = 1},  {.pid = 11, .ppid = 10}, {.pid = 12, .ppid = 11},
      {.pid = 13, .ppid = 10}, {.pid = 20, .ppid = 1},  {.pid = 21, .ppid = 20},
  };
  std::vector<pid_t> pids;
  for (const ProcessInfo& p : CollectDescendants(snapshot, {10, 11, 99}))
    pids.push_back(p.pid);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{10, 11, 12, 13}));
}

TEST(ProcessTreeTest, RecycledPidIsNotSignalled) {
  std::optional<ProcessInfo> self = ReadProcessInfo(getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_TRUE(SignalProcess(*self, 0));
  ProcessInfo impostor = *self;
  impostor.start_ticks += 1;  // same pid, different process
  EXPECT_FALSE(IsAlive(impostor));
  EXPECT_FALSE(SignalProcess(impostor, 0));
}

TEST(ProcessTreeTest, BecomeChildSubreaper) {
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  EXPECT_TRUE(IsChildSubreaper());
}

}  // namespace
}  // namespace stagecraft::exec
