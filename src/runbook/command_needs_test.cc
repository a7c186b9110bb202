#include "runbook/command_needs.h"

#include <gtest/gtest.h>

namespace stagecraft::runbook {
namespace {

TEST(CommandNeeds, FindsNeverEndingCommandsWhereTheyStart) {
  std::string code =
      "echo start\nLOG=app tail -f \"$LOG\".log | grep -v debug\nkubectl logs -f x\n";
  CommandNeeds needs = ReadCommandNeeds("bash", code);
  ASSERT_EQ(needs.never_ending.size(), 2u);
  EXPECT_EQ(code.substr(needs.never_ending[0], 4), "tail");
  EXPECT_EQ(code.substr(needs.never_ending[1], 7), "kubectl");
  EXPECT_EQ(needs.first_never_ending, "LOG=app tail -f \"$LOG\".log");
  EXPECT_FALSE(needs.terminal);
}

TEST(CommandNeeds, BoundedOrEndedCommandsAreLeftAlone) {
  for (const char* code :
       {"timeout 60 tail -f a\n", "tail -f a &\n", "tail -f a | grep -m1 ready\n",
        "tail -n 100 a\n", "kubectl rollout status deploy/x --watch\n", "x=$(tail -f a)\n"})
    EXPECT_TRUE(ReadCommandNeeds("bash", code).never_ending.empty()) << code;
}

TEST(CommandNeeds, OnlyShellCodeIsRead) {
  EXPECT_TRUE(ReadCommandNeeds("python3", "tail -f a\n").never_ending.empty());
  EXPECT_EQ(ReadCommandNeeds("sh", "tail -f a\n").never_ending.size(), 1u);
}

TEST(CommandNeeds, SaysWhichCommandNeedsATerminalAndWhy) {
  CommandNeeds needs = ReadCommandNeeds("bash", "echo hi\npsql -h db app\nvim x\n");
  ASSERT_TRUE(needs.terminal);
  EXPECT_EQ(needs.terminal_command, "psql -h db app");
  EXPECT_EQ(needs.terminal->why, "it opens an interactive SQL prompt");
  EXPECT_FALSE(ReadCommandNeeds("bash", "psql -c 'select 1'\necho y | read -p x v\n").terminal);
}

TEST(CommandNeeds, BoundStreamsWrapsEachCommandOnItsOwnLine) {
  std::string code = "echo a\nLOG=x tail -f y | grep z\nwatch ls\n";
  CommandNeeds needs = ReadCommandNeeds("bash", code);
  EXPECT_EQ(BoundStreams(code, needs.never_ending, Millis(1500)),
            "echo a\nLOG=x __sc_stream 1.500s tail -f y | grep z\n__sc_stream 1.500s watch ls\n");
  EXPECT_EQ(BoundStreams(code, {}, Millis(1500)), code);
}

}  // namespace
}  // namespace stagecraft::runbook
