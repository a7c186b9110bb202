// End-to-end tests of commands that need what a plain run does not give them: an end
// (`tail -f` runs for its stream window, then stops, counting as success) or a terminal
// (given the operator's at a terminal, a manual step without one).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kFollowLog = R"md(# Watch the rollout

## Follow the log

```bash { stream=1s }
echo "started" > app.log
tail -f app.log
echo "still here"
```

**Expected Output:**
```
started
still here
```

## Afterwards

```bash
echo "next step ran"
```
)md";

TEST(Streams, NeverEndingCommandStopsAfterItsWindowAndTheBlockGoesOn) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kFollowLog);
  auto started = std::chrono::steady_clock::now();
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out,
                       "'tail -f app.log' does not end on its own: stopped after 1s "
                       "(stream window)"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "stagecraft: stopped tail after its stream window (1.000s)"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "next step ran")) << run.out;
  EXPECT_GE(seconds, 1.0);
}

TEST(Streams, InAShellWithoutThePreludeTheWholeBlockHasTheWindow) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Watch\n\n## Follow\n\n```sh { stream=1s }\necho started > app.log\n"
            "tail -f app.log\n```\n\n## Next\n\n```bash\necho next step ran\n```\n");
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "started")) << run.out;
  EXPECT_TRUE(Contains(run.out, "next step ran")) << run.out;
}

TEST(Streams, AFailureWithinTheWindowStillFails) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Watch\n\n## Follow\n\n```bash { stream=5s }\ntail -f missing.log\n```\n");
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "step follow FAILED: exited with status 1")) << run.out;
}

TEST(Streams, MalformedWindowIsAnError) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Watch\n\n## Follow\n\n```bash { stream=soon }\ntail -f a\n```\n");
  auto plan = RunStagecraft({"plan", "book.md"}, dir.path());
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_TRUE(Contains(plan.err, "book.md:5:")) << plan.err;
  EXPECT_TRUE(Contains(plan.err, "for stream")) << plan.err;
}

constexpr const char* kAskVersion = R"md(# Release

## Choose the version

```bash
read -r -p "Version? " version
echo "got $version" | tee chosen.txt
```
)md";

TEST(Terminal, CommandThatWaitsForAnAnswerIsRefusedWithoutATerminal) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kAskVersion);
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(
      Contains(run.out,
               "'read -r -p \"Version? \" version' (it waits for an answer) needs a terminal, "
               "and stdin is not one: run stagecraft from a terminal, or pass --yes to "
               "treat the block as a manual step"))
      << run.out;
  EXPECT_FALSE(fs::exists(dir.File("chosen.txt")));
}

TEST(Terminal, WithYesItBecomesAManualStepAndSaysSo) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kAskVersion);
  auto run = RunStagecraft({"run", "book.md", "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(
      Contains(run.out,
               "line 5: 'read -r -p \"Version? \" version' (it waits for an answer) needs a "
               "terminal and stdin is not one; treated as a manual step"))
      << run.out;
  EXPECT_FALSE(fs::exists(dir.File("chosen.txt")));
}

TEST(Terminal, AtATerminalTheBlockGetsIt) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kAskVersion);
  auto run = RunStagecraftOnTerminal({"run", "book.md", "--no-color"}, dir.path(),
                                     {{"Version? ", "2.4.1\n"}});
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(Contains(run.out, "got 2.4.1")) << run.out;
}

}  // namespace
}  // namespace stagecraft::testing
