// End-to-end tests of what must hold when the operator's console is slow, stdin is not a
// terminal, a rollback is interrupted or stagecraft itself is killed: nothing lost,
// nothing left running unnoticed, nothing waiting forever.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string LatestRunId(const std::string& cwd) {
  auto runs = nlohmann::json::parse(RunStagecraft({"runs", "--json"}, cwd).out, nullptr, false);
  if (!runs.is_array() || runs.empty()) return "";
  return runs[0].value("id", "");
}

// A console piped into a reader taking about 800 KB/s, as when an operator pipes the run
// into a pager or a slow log shipper.
constexpr size_t kSlowReader = 800 * 1000;

constexpr const char* kRedFlagLast = R"md(# Migration
## Migrate
```bash
seq 1 300000 | sed 's/^/row /'
echo "Error: migration 42 failed"
```

**Red Flags:**
```
Error:
```
)md";

TEST(Reliability, RedFlagPrintedLastIsSeenThroughASlowConsole) {
  TempDir dir;
  WriteFile(dir.File("m.md"), kRedFlagLast);
  PipeOptions slow;
  slow.stdout_bytes_per_second = kSlowReader;
  auto result = RunStagecraftPiped({"run", "m.md", "--no-color"}, dir.path(), slow);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(Contains(result.out, "FAILED line 3: a red flag appeared in the output"))
      << result.out.substr(result.out.size() > 2000 ? result.out.size() - 2000 : 0);
  EXPECT_TRUE(Contains(result.out, "  | row 300000\n  | Error: migration 42 failed\n"));
  // The journal has every line too, up to the last.
  auto logs = RunStagecraft({"logs", LatestRunId(dir.path())}, dir.path());
  EXPECT_TRUE(Contains(logs.out, "row 299999\nrow 300000\nError: migration 42 failed\n"))
      << logs.out.substr(logs.out.size() > 500 ? logs.out.size() - 500 : 0);
}

TEST(Reliability, ExpectedLastLineAndCaptureOfTheLastLineSurviveASlowConsole) {
  TempDir dir;
  WriteFile(dir.File("m.md"), R"md(# Migration
## Migrate
```bash
seq 1 150000 | sed 's/^/row /'
echo "migration done"
```

**Expected Output:**
```
migration done
```

## Version
```bash { capture="VERSION:/^version=(\d+)$/" }
seq 1 150000 | sed 's/^/row /'
echo "version=42"
```

## Report
```bash
echo "deployed version $VERSION"
```
)md");
  PipeOptions slow;
  slow.stdout_bytes_per_second = kSlowReader;
  auto result = RunStagecraftPiped({"run", "m.md", "--no-color"}, dir.path(), slow);
  EXPECT_EQ(result.exit_code, 0) << result.err << result.out.substr(result.out.size() - 2000);
  EXPECT_TRUE(Contains(result.out, "captured VERSION=42\n"));
  EXPECT_TRUE(Contains(result.out, "  | deployed version 42\n"));
}

constexpr const char* kInteractive = R"md(# Login
## Login
```bash { interactive }
read -r answer
echo "got $answer" > answered
```
)md";

TEST(Reliability, InteractiveBlockWithoutATerminalFailsAtOnce) {
  TempDir dir;
  WriteFile(dir.File("i.md"), kInteractive);
  PipeOptions ci;
  ci.stdin_open_pipe = true;  // nobody types, and the pipe never closes
  ci.timeout_seconds = 30;
  auto start = Clock::now();
  auto result = RunStagecraftPiped({"run", "i.md", "--no-color"}, dir.path(), ci);
  EXPECT_LT(SecondsSince(start), 10);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out,
                       "FAILED line 3: { interactive } block needs a terminal, and stdin is not "
                       "one: run stagecraft from a terminal, or pass --yes to treat the block as "
                       "a manual step\n"))
      << result.out;
  EXPECT_FALSE(std::filesystem::exists(dir.File("answered")));
}

TEST(Reliability, InteractiveBlockWithoutATerminalIsAManualStepWithYes) {
  TempDir dir;
  WriteFile(dir.File("i.md"), kInteractive);
  PipeOptions ci;
  ci.stdin_open_pipe = true;
  ci.timeout_seconds = 30;
  auto result = RunStagecraftPiped({"run", "i.md", "--yes", "--no-color"}, dir.path(), ci);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out,
                       "warning: line 3: { interactive } block needs a terminal and stdin is not "
                       "one; treated as a manual step\n"))
      << result.out;
  EXPECT_TRUE(Contains(result.out, "approved by")) << result.out;
  EXPECT_FALSE(std::filesystem::exists(dir.File("answered")));
}

TEST(Reliability, SigintDuringRollbackExits130AndRollbackFinishesTheRest) {
  TempDir dir;
  WriteFile(dir.File("r.md"), R"md(# Rollback interrupted
## Prepare
```bash
touch prepared
```

**Rollback:**
```bash
touch prepare-undone
```

## Second
```bash
touch second
```

**Rollback:**
```bash
if [ ! -e undo-started ]; then touch undo-started; sleep 300; fi
touch second-undone
```

## Third
```bash
touch third
```

**Rollback:**
```bash
echo undone >> third-undone
```

## Fails
```bash
exit 3
```
)md");
  RunningStagecraft run({"run", "r.md", "--no-color"}, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("undo-started"), 20));
  kill(run.pid(), SIGINT);
  CommandResult result = run.Wait();
  EXPECT_EQ(result.exit_code, 130) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "undo prepare (line 8): not run: the rollback was interrupted"))
      << result.out;
  EXPECT_FALSE(std::filesystem::exists(dir.File("prepare-undone")));
  auto shown = RunStagecraft({"show", LatestRunId(dir.path())}, dir.path());
  EXPECT_TRUE(Contains(shown.out, "not run: the rollback was interrupted")) << shown.out;

  auto finished = RunStagecraft({"rollback", LatestRunId(dir.path()), "--no-color"}, dir.path());
  EXPECT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  EXPECT_TRUE(std::filesystem::exists(dir.File("second-undone")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("prepare-undone")));
  // Undone before the interrupt, so not undone twice.
  EXPECT_EQ(ReadFile(dir.File("third-undone")), "undone\n");
  EXPECT_TRUE(
      Contains(finished.out, "undo third (line 29): done before the rollback was interrupted"))
      << finished.out;
}

constexpr const char* kIdempotentStep = R"md(# Leftovers
## Work
```bash { idempotent }
echo start >> log
sleep 3
echo end >> log
```
)md";

TEST(Reliability, ResumeRefusesWhileTheKilledSessionsStepStillRuns) {
  TempDir dir;
  WriteFile(dir.File("w.md"), kIdempotentStep);
  {
    RunningStagecraft run({"run", "w.md"}, dir.path());
    ASSERT_TRUE(WaitForFile(dir.File("log"), 20));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(run.pid(), SIGKILL);
    EXPECT_EQ(run.Wait().exit_code, 128 + SIGKILL);
  }
  auto refused = RunStagecraft({"resume"}, dir.path());
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_TRUE(Contains(refused.err, "stagecraft: error: step work of run " +
                                        LatestRunId(dir.path()) +
                                        " is still running from the session that was killed "
                                        "(pids "))
      << refused.err;
  EXPECT_TRUE(Contains(refused.err, "pass --kill-leftovers")) << refused.err;

  auto resumed = RunStagecraft({"resume", "--kill-leftovers"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(Contains(resumed.err, "(--kill-leftovers)")) << resumed.err;
  // The first attempt was stopped before it could write "end": the two never overlapped.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReadFile(dir.File("log")), "start\nstart\nend\n");
}

constexpr const char* kOverlapDrill = R"md(# Overlap drill
## One
```bash { idempotent }
echo "start $$" >> log
sleep 1
echo "end $$" >> log
```

## Two
```bash { idempotent }
echo "start $$" >> log
sleep 1
echo "end $$" >> log
```

## Three
```bash { idempotent }
echo "start $$" >> log
sleep 1
echo "end $$" >> log
```
)md";

// Pids of the processes that carry `text` in their environment: a session's steps carry
// its scratch directory there.
std::vector<int> ProcessesMentioning(const std::string& text) {
  std::vector<int> pids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (ReadFile(entry.path().string() + "/environ").find(text) != std::string::npos)
      pids.push_back(std::stoi(name));
  }
  return pids;
}

// Every "end P" must directly follow "start P": any other line between them is a second
// attempt that ran while the first was still going.
std::string FirstOverlap(const std::string& log) {
  std::istringstream lines(log);
  std::string previous, line;
  while (std::getline(lines, line)) {
    if (line.rfind("end ", 0) == 0 && previous != "start " + line.substr(4))
      return "'" + line + "' after '" + previous + "'";
    previous = line;
  }
  return "";
}

TEST(Reliability, KillNineAtRandomMomentsNeverLeavesAStepRunningUnderItsRerun) {
  int iterations = 2;
  if (const char* text = std::getenv("STAGECRAFT_KILL_ITERATIONS")) iterations = std::atoi(text);
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < iterations; ++round) {
    TempDir dir;
    WriteFile(dir.File("o.md"), kOverlapDrill);
    std::filesystem::create_directory(dir.File("tmp"));
    setenv("TMPDIR", dir.File("tmp").c_str(), 1);
    std::vector<std::string> args = {"run", "o.md"};
    int kills = 0;
    for (int session = 0; session < 12; ++session) {
      RunningStagecraft running(args, dir.path());
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1500)(random)));
      kill(running.pid(), SIGKILL);
      CommandResult ended = running.Wait();
      if (ended.exit_code == 0) break;
      if (ended.exit_code == 2 && Contains(ended.err, "nothing to resume")) break;
      ASSERT_EQ(ended.exit_code, 128 + SIGKILL) << ended.out << ended.err;
      ++kills;
      if (LatestRunId(dir.path()).empty()) continue;  // killed before the run was recorded
      args = {"resume", "--kill-leftovers"};
    }
    auto last = RunStagecraft({"resume", "--kill-leftovers"}, dir.path());
    if (last.exit_code != 0) EXPECT_TRUE(Contains(last.err, "nothing to resume")) << last.err;
    // Nothing of any killed session is left running once the run is complete.
    EXPECT_EQ(ProcessesMentioning(dir.File("tmp")), std::vector<int>{})
        << "round " << round << ", " << kills << " kills";
    std::string log = ReadFile(dir.File("log"));
    EXPECT_EQ(FirstOverlap(log), "") << "round " << round << ":\n" << log;
    unsetenv("TMPDIR");
  }
}

}  // namespace
}  // namespace stagecraft::testing
