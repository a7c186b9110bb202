// End-to-end tests that no terminal escape sequence from a runbook, a step's output or the
// journal reaches the console, except through `logs --raw`.

#include <gtest/gtest.h>

#include <string>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

constexpr char kEsc = '\x1b';

// Title and heading set the window title and clear the screen; the step prints the same
// and fails, so its output tail is shown under FAILED.
const std::string kHostileRunbook =
    "# Deploy \x1b]0;pwned\x07 now\n"
    "\n"
    "## Migrate \x1b[2J the database\n"
    "\n"
    "```bash\n"
    "printf 'title \\033]0;owned\\007 clear \\033[2J c1 \\302\\233 end\\n'\n"
    "exit 1\n"
    "```\n";

void ExpectNoEscape(const CommandResult& result, const std::string& what) {
  EXPECT_EQ(result.out.find(kEsc), std::string::npos) << what << " stdout:\n" << result.out;
  EXPECT_EQ(result.err.find(kEsc), std::string::npos) << what << " stderr:\n" << result.err;
  // The C1 control U+009B, which some terminals obey like ESC [.
  EXPECT_EQ(result.out.find("\xc2\x9b"), std::string::npos) << what;
}

TEST(TerminalEscapes, NeverReachTheConsoleOfARun) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kHostileRunbook);
  auto run = RunStagecraft({"run", "book.md"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  ExpectNoEscape(run, "run");
  // Shown escaped, in the streamed lines and in the tail under FAILED alike.
  EXPECT_NE(run.out.find("Migrate \\x1b[2J the database"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("      title \\x1b]0;owned\\x07 clear \\x1b[2J c1 \\xc2\\x9b end"),
            std::string::npos)
      << run.out;
}

TEST(TerminalEscapes, NeverReachTheConsoleOfHistoryCommands) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kHostileRunbook);
  ASSERT_EQ(RunStagecraft({"run", "book.md"}, dir.path()).exit_code, 1);
  for (std::vector<std::string> command :
       {std::vector<std::string>{"show", "latest"}, {"runs"}, {"logs", "latest"}}) {
    auto result = RunStagecraft(command, dir.path());
    EXPECT_EQ(result.exit_code, 0) << command[0] << result.err;
    ExpectNoEscape(result, command[0]);
  }
  auto show = RunStagecraft({"show", "latest"}, dir.path());
  EXPECT_NE(show.out.find("(Deploy \\x1b]0;pwned\\x07 now)"), std::string::npos) << show.out;
  auto logs = RunStagecraft({"logs", "latest"}, dir.path());
  EXPECT_EQ(logs.out, "title \\x1b]0;owned\\x07 clear \\x1b[2J c1 \\xc2\\x9b end\n");
  // --raw is the way to the bytes as the step wrote them.
  auto raw = RunStagecraft({"logs", "--raw", "latest"}, dir.path());
  EXPECT_EQ(raw.out, "title \x1b]0;owned\x07 clear \x1b[2J c1 \xc2\x9b end\n");
}

TEST(TerminalEscapes, NeverReachTheConsoleOfPlanAndLint) {
  TempDir dir;
  WriteFile(dir.File("book.md"), kHostileRunbook);
  auto plan = RunStagecraft({"plan", "book.md"}, dir.path());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  ExpectNoEscape(plan, "plan");
  EXPECT_NE(plan.out.find("Deploy \\x1b]0;pwned\\x07 now"), std::string::npos) << plan.out;
  // A diagnostic quotes the runbook's line.
  WriteFile(dir.File("broken.md"), "## A\n```bash \x1b[2J\nmake\n");
  for (const char* command : {"lint", "plan"}) {
    auto result = RunStagecraft({command, "broken.md"}, dir.path());
    EXPECT_NE(result.exit_code, 0) << command;
    EXPECT_NE((result.out + result.err).find("```bash \\x1b[2J"), std::string::npos)
        << command << result.out << result.err;
    ExpectNoEscape(result, command);
  }
}

}  // namespace
}  // namespace stagecraft::testing
