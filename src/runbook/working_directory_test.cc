#include "runbook/working_directory.h"

#include <gtest/gtest.h>

#include <string>

#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

// Where the session stands after each script, followed command by command.
std::string After(std::initializer_list<std::string_view> scripts) {
  WorkingDirectory cwd;
  for (std::string_view script : scripts) {
    ShellScript shell = ParseShell(script);
    for (const ShellCommand& command : shell.commands)
      cwd.Apply(command, 7);
  }
  return cwd.get();
}

TEST(WorkingDirectory, FollowsLiteralCdsAsTheEngineDoes) {
  EXPECT_EQ(After({"cd infra/queues"}), "infra/queues");
  EXPECT_EQ(After({"cd infra", "cd queues/", "cd ../keys"}), "infra/keys");
  // Already there: the engine's cd stays put, however often a guide repeats it.
  EXPECT_EQ(After({"cd infra/queues", "cd infra/queues", "cd queues"}), "infra/queues");
  EXPECT_EQ(After({"cd /srv/app", "cd .."}), "/srv");
  EXPECT_EQ(After({"echo $(cd elsewhere && pwd)"}), ".");
  EXPECT_EQ(After({"cd -P infra"}), "infra");
}

TEST(WorkingDirectory, ADirectoryOnlyTheRunKnowsStaysUnknownUntilAnAbsoluteCd) {
  WorkingDirectory cwd;
  for (std::string_view script : {"cd \"$APP_DIR\"", "cd sub"}) {
    ShellScript shell = ParseShell(script);
    cwd.Apply(shell.commands.at(0), script == "cd sub" ? 9 : 4);
  }
  EXPECT_FALSE(cwd.known());
  EXPECT_EQ(cwd.line_unknown_since(), 9);
  cwd.Apply(ParseShell("cd /opt/app").commands.at(0));
  EXPECT_TRUE(cwd.known());
  EXPECT_EQ(cwd.get(), "/opt/app");
}

TEST(WorkingDirectory, StepsStartWhereTheEarlierStepsLeftTheShell) {
  ParseResult parsed = ParseRunbook(
      "book.md",
      "# Book\n\n## Enter\n```bash\ncd app\n```\n\n## Build\n```bash\nmake\n```\n\n"
      "## Elsewhere\n```bash\ncd \"$WORK\"\n```\n\n## Test\n```bash\nmake test\n```\n\n"
      "## Rollback\n```bash\ncd /\n```\n");
  const Runbook& book = parsed.runbook;
  std::map<const Step*, StepDirectory> dirs = StepDirectories(book);
  ASSERT_EQ(dirs.size(), 3u);  // build and elsewhere start in app, test where only the run knows
  const StepDirectory& build = dirs.at(&book.steps.at(1));
  EXPECT_TRUE(build.known);
  EXPECT_EQ(build.path, "app");
  const StepDirectory& test = dirs.at(&book.steps.at(3));
  EXPECT_FALSE(test.known);
  EXPECT_EQ(test.since_line, 15);
  EXPECT_EQ(dirs.count(&book.steps.at(0)), 0u);  // the root
}

}  // namespace
}  // namespace stagecraft::runbook
