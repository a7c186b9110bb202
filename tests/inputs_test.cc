// End-to-end tests of inputs: placeholders in shell code that `plan` lists, that `run`
// fills in from --var, a front matter default or command, and that `resume` remembers
// unless they look secret. Also a notebook written for Runme, run as it is.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Step 2 fails until a file named `go` exists, so a run can be resumed.
const char kBook[] = R"(---
title: Stop a task
on_failure: stop
inputs:
  TASK_ARN:
    description: ARN of the task to stop
  REVISION:
    default: "42"
  ACCOUNT_ID:
    command: echo 123456789012
---

## Record the account

```bash
echo "account=YOUR_ACCOUNT_ID" >> seen.txt
```

## Stop the task

```bash
echo task=<TASK_ARN> rev=<revision> env=$TASK_ARN >> seen.txt
test -f go
```
)";

const char kMissing[] =
    "book.md:22:11: error: step 'stop-the-task' needs input TASK_ARN, which has no value: pass "
    "--var TASK_ARN=VALUE, or give it a default or a command under inputs: in the front "
    "matter\n";

struct Book {
  TempDir dir;
  Book(const std::string& text = kBook) { WriteFile(dir.File("book.md"), text); }
  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "book.md", "--no-color"});
    return RunStagecraft(args, dir.path());
  }
  std::string Seen() const { return ReadFile(dir.File("seen.txt")); }
};

TEST(Inputs, PlanListsWhatEachStepNeeds) {
  Book book;
  auto plan = RunStagecraft({"plan", "book.md"}, book.dir.path());
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out,
                       "Inputs    TASK_ARN, REVISION (default 42), ACCOUNT_ID (from its "
                       "command)\n"))
      << plan.out;
  EXPECT_TRUE(Contains(plan.out, "needs   input ACCOUNT_ID")) << plan.out;
  EXPECT_TRUE(Contains(plan.out, "needs   input TASK_ARN")) << plan.out;
  EXPECT_TRUE(Contains(plan.out, "needs   input REVISION")) << plan.out;

  auto json = RunStagecraft({"plan", "book.md", "--json"}, book.dir.path());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["steps"][0]["inputs"], nlohmann::json({"ACCOUNT_ID"}));
  EXPECT_EQ(parsed["steps"][1]["inputs"], nlohmann::json({"TASK_ARN", "REVISION"}));
  ASSERT_EQ(parsed["inputs"].size(), 3u);
  EXPECT_EQ(parsed["inputs"][0], nlohmann::json({{"command", nullptr},
                                                 {"default", nullptr},
                                                 {"description", "ARN of the task to stop"},
                                                 {"name", "TASK_ARN"},
                                                 {"steps", {"stop-the-task"}}}));
  EXPECT_EQ(parsed["inputs"][1]["default"], "42");
  EXPECT_EQ(parsed["inputs"][2]["command"], "echo 123456789012");
}

TEST(Inputs, RunWithoutAValueStopsBeforeAnyStep) {
  Book book;
  auto run = book.Run({});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_EQ(run.err, kMissing);
  EXPECT_FALSE(fs::exists(book.dir.File("seen.txt")));
}

TEST(Inputs, VarFillsThePlaceholderAndTheVariable) {
  Book book;
  WriteFile(book.dir.File("go"), "");
  auto run = book.Run({"--var", "TASK_ARN=arn:aws:ecs:task/it's 1"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // The default and the command filled the others; bash read each value as given.
  EXPECT_EQ(book.Seen(),
            "account=123456789012\n"
            "task=arn:aws:ecs:task/it's 1 rev=42 env=arn:aws:ecs:task/it's 1\n");
}

TEST(Inputs, ResumeKeepsTheValuesGiven) {
  Book book;
  auto run = book.Run({"--var", "TASK_ARN=arn:first", "--var", "REVISION=7"});
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  WriteFile(book.dir.File("go"), "");
  auto resumed = RunStagecraft({"resume", "latest", "--no-color"}, book.dir.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(book.Seen(),
            "account=123456789012\n"
            "task=arn:first rev=7 env=arn:first\n"
            "task=arn:first rev=7 env=arn:first\n");
}

const char kSecretBook[] = R"(---
on_failure: stop
inputs:
  API_TOKEN:
    description: token of the deploy API
---

## Call the API

```bash
echo "calling with <API_TOKEN> and $API_TOKEN"
test -f go
```
)";

TEST(Inputs, SecretLookingInputsAreMaskedAndAskedForAgain) {
  const std::string canary = "t0k3n-c4n4ry-v4lue";
  Book book(kSecretBook);
  auto run = book.Run({"--var", "API_TOKEN=" + canary});
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "calling with *** and ***")) << run.out;
  EXPECT_FALSE(Contains(run.out + run.err, canary));
  for (const auto& entry : fs::recursive_directory_iterator(book.dir.File(".stagecraft")))
    if (entry.is_regular_file())
      EXPECT_FALSE(Contains(ReadFile(entry.path().string()), canary)) << entry.path();

  WriteFile(book.dir.File("go"), "");
  auto again = RunStagecraft({"resume", "latest", "--no-color"}, book.dir.path());
  EXPECT_EQ(again.exit_code, 2) << again.out << again.err;
  EXPECT_TRUE(Contains(again.err,
                       " needs API_TOKEN again: the journal does not keep secrets and "
                       "could not re-derive it. Pass it with --var NAME=value (the "
                       "values the run had)\n"))
      << again.err;
  auto resumed = RunStagecraft({"resume", "latest", "--no-color", "--var", "API_TOKEN=" + canary},
                               book.dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
}

TEST(Inputs, UndeclaredAngleBracketsAreStillRefused) {
  Book book("## Stop\n\n```bash\naws ecs stop-task --task <TASK_ARN>\n```\n");
  auto run = book.Run({"--var", "TASK_ARN=x"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err,
                       "book.md:4:26: error: '<TASK_ARN>' is a placeholder, but bash "
                       "reads it as redirections: input from a file named 'TASK_ARN'"))
      << run.err;
}

TEST(Inputs, BadDeclarationsAreErrors) {
  Book book("---\ninputs:\n  1ST:\n  REVISION:\n    default: a\n    command: b\n---\n");
  auto run = book.Run({});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(Contains(run.err, "book.md:3:3: error: input '1ST' is not a valid variable name"))
      << run.err;
  EXPECT_TRUE(Contains(
      run.err, "book.md:4:3: error: input REVISION has both a default and a command; give one"))
      << run.err;
  EXPECT_TRUE(Contains(run.err, "book.md: cannot run: 2 errors")) << run.err;
}

// --- Runme ---------------------------------------------------------------------------------

struct Notebook {
  TempDir dir;
  Notebook() { fs::copy(TestsDir() + "/fixtures/runme", dir.path(), fs::copy_options::recursive); }
};

TEST(Runme, NotebookLintsClean) {
  Notebook notebook;
  auto lint = RunStagecraft({"lint", "notebook.md"}, notebook.dir.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  EXPECT_EQ(lint.out, "notebook.md: no problems found\n");
  EXPECT_EQ(lint.err, "");
}

TEST(Runme, NotebookRunsWithItsAttributes) {
  Notebook notebook;
  auto run = RunStagecraft({"run", "notebook.md", "--no-color"}, notebook.dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_FALSE(Contains(run.err, "warning")) << run.err;
  EXPECT_TRUE(Contains(run.out, "working in workdir")) << run.out;  // front matter cwd
  EXPECT_TRUE(Contains(run.out, "README.txt")) << run.out;
  EXPECT_TRUE(Contains(run.out, "shell: bash")) << run.out;  // interpreter=bash for a sh block
  EXPECT_TRUE(Contains(run.out, "hello from the notebook")) << run.out;
  // excludeFromRunAll: shown as skipped, never run.
  EXPECT_TRUE(Contains(run.out, "skipped (skip attribute): by-hand")) << run.out;
  EXPECT_FALSE(Contains(run.out, "| tidied by hand")) << run.out;
  // promptEnv (auto in a notebook): the export's value is the input's default; never: not one.
  EXPECT_TRUE(Contains(run.out, "region: eu-central-1")) << run.out;
}

TEST(Runme, PromptEnvExportsAreInputs) {
  Notebook notebook;
  auto plan = RunStagecraft({"plan", "notebook.md"}, notebook.dir.path());
  EXPECT_TRUE(Contains(plan.out, "Inputs    DEPLOY_REGION (default eu-central-1)\n")) << plan.out;
  EXPECT_FALSE(Contains(plan.out, "GREETING")) << plan.out;  // promptEnv=never
  auto run = RunStagecraft({"run", "notebook.md", "--no-color", "--var", "DEPLOY_REGION=us west"},
                           notebook.dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "region: us west")) << run.out;
}

TEST(Runme, PromptEnvAsksAtATerminalOfferingTheValueWritten) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Regions\n\n## Pick\n\n```bash { promptEnv=auto }\nexport ZONE=\"north\"\n"
            "export TIER=\"gold\"\necho \"zone=$ZONE tier=$TIER\"\n```\n");
  auto run = RunStagecraftOnTerminal(
      {"run", "book.md", "--no-color"}, dir.path(),
      {{"Value for ZONE [north]: ", "south\r"}, {"Value for TIER [gold]: ", "\r"}});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(Contains(run.out, "zone=south tier=gold")) << run.out;
}

}  // namespace
}  // namespace stagecraft::testing
