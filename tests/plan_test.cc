// End-to-end tests of `stagecraft plan` and `stagecraft lint` on the fixture runbooks, and
// of every kind of unusable input.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

class FixtureGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureGolden, PlanTextMatchesGolden) {
  auto result = RunStagecraft({"plan", "fixtures/" + GetParam() + ".md"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(CompareWithGolden(GetParam() + ".plan.txt", result.out), "");
}

TEST_P(FixtureGolden, PlanJsonMatchesGolden) {
  auto result = RunStagecraft({"plan", "--json", "fixtures/" + GetParam() + ".md"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(CompareWithGolden(GetParam() + ".plan.json", result.out), "");
}

class LintGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LintGolden, LintMatchesGolden) {
  auto result = RunStagecraft({"lint", "fixtures/" + GetParam() + ".md"});
  EXPECT_EQ(CompareWithGolden(GetParam() + ".lint.txt",
                              result.out + "exit " + std::to_string(result.exit_code) + "\n"),
            "");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureGolden,
                         ::testing::Values("lambda-rollout", "infra-rollout", "platform-rollout"));
INSTANTIATE_TEST_SUITE_P(Fixtures, LintGolden,
                         ::testing::Values("lambda-rollout", "infra-rollout", "platform-rollout",
                                           "lint-findings"));

TEST(Plan, EnvironmentVarsAreMergedIntoTheScope) {
  auto result = RunStagecraft({"plan", "--env", "production", "fixtures/platform-rollout.md"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Env       production (protected: asks for its name before running)"),
            std::string::npos);
  EXPECT_NE(result.out.find("Vars      API_PORT=8080, DB_HOST=db.internal"), std::string::npos);
}

// A plan that cannot be written (a full disk, a closed pipe) must not look like success.
TEST(Plan, FullOutputDeviceIsAnError) {
  TempDir dir;
  for (std::string flags : {"", " --json"}) {
    std::string command = std::string(STAGECRAFT_BINARY) + " plan" + flags + " " +
                          STAGECRAFT_TESTS_DIR + "/fixtures/platform-rollout.md >/dev/full 2>" +
                          dir.File("err");
    int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << flags;
    EXPECT_EQ(ReadFile(dir.File("err")),
              "stagecraft: error: cannot write the plan: No space left on device\n")
        << flags;
  }
}

TEST(Plan, UnknownEnvironmentIsAUsageError) {
  auto result = RunStagecraft({"plan", "--env", "prod", "fixtures/platform-rollout.md"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err,
            "fixtures/platform-rollout.md: error: unknown environment 'prod' (the runbook "
            "defines: staging, production)\n");
}

TEST(Plan, RunbookWithErrorsIsRefused) {
  TempDir dir;
  WriteFile(dir.File("bad.md"), "## Deploy\n```bash { retries=many }\nmake\n```\n");
  auto result = RunStagecraft({"plan", "bad.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "bad.md:2:11: error: invalid value 'many' for retries (expected a whole number from "
            "0 to 1000)\n"
            "  ```bash { retries=many }\n"
            "            ^\n"
            "bad.md: cannot plan: 1 error (stagecraft lint bad.md lists every finding)\n");
}

TEST(Lint, ExitsOneOnErrors) {
  TempDir dir;
  WriteFile(dir.File("bad.md"), "## Deploy\n```bash { capture=1BAD }\nmake\n```\n");
  auto result = RunStagecraft({"lint", "bad.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
}

TEST(Lint, CleanRunbookSaysSo) {
  TempDir dir;
  WriteFile(dir.File("ok.md"), "## Check\n```bash\nls\n```\n");
  auto result = RunStagecraft({"lint", "ok.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "ok.md: no problems found\n");
}

TEST(Cli, UnknownSubcommandIsAUsageError) {
  auto result = RunStagecraft({"deploy"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err.substr(0, 38), "stagecraft: unknown command 'deploy'\n\n");
  EXPECT_NE(result.err.find("Usage: stagecraft [OPTIONS] SUBCOMMAND"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("  plan "), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST(Cli, MissingArgumentIsAUsageError) {
  auto result = RunStagecraft({"plan"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("runbook is required"), std::string::npos) << result.err;
}

// --- unusable and odd input: never a crash or a hang, always a clear message ---

struct BadInput {
  const char* name;
  std::string contents;
  int plan_exit;
  const char* plan_stderr;  // exact, or nullptr when only stdout matters
  const char* plan_stdout_contains;
};

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, PlanReportsClearly) {
  const BadInput& input = GetParam();
  TempDir dir;
  WriteFile(dir.File("book.md"), input.contents);
  auto result = RunStagecraft({"plan", "book.md"}, dir.path());
  EXPECT_EQ(result.exit_code, input.plan_exit) << result.out << result.err;
  if (input.plan_stderr) EXPECT_EQ(result.err, input.plan_stderr);
  if (input.plan_stdout_contains)
    EXPECT_NE(result.out.find(input.plan_stdout_contains), std::string::npos) << result.out;
}

const char* kNothingToRun =
    "Nothing to run: the runbook has no executable blocks (```bash and the like) and no "
    "checklists.";

INSTANTIATE_TEST_SUITE_P(
    Inputs, BadInputTest,
    ::testing::Values(
        BadInput{"EmptyFile", "", 0, "", kNothingToRun},
        BadInput{"NulBytes", std::string("# Title\nab\0cd\n", 15), 2,
                 "book.md:2:3: error: file contains a NUL byte; a runbook must be Markdown text\n",
                 nullptr},
        BadInput{"InvalidUtf8", "# Title\n\nna\xefve \xff\n", 2,
                 "book.md:3:3: error: invalid UTF-8 (byte 0xef); save the runbook as UTF-8\n",
                 nullptr},
        BadInput{"UnterminatedFence", "## Deploy\n```bash\nmake\n", 2,
                 "book.md:2:1: error: code fence is never closed; everything after it is "
                 "treated as code\n"
                 "  ```bash\n"
                 "  ^\n"
                 "  hint: close the block with a line of 3 '`' characters\n"
                 "book.md: cannot plan: 1 error (stagecraft lint book.md lists every finding)\n",
                 nullptr},
        BadInput{"FrontMatterNotAMapping", "---\n- a\n- b\n---\n## A\n```bash\nx\n```\n", 2,
                 "book.md:2:1: error: front matter must be a YAML mapping (key: value lines)\n"
                 "  - a\n"
                 "  ^\n"
                 "  hint: e.g. 'title: Staging rollout'\n"
                 "book.md: cannot plan: 1 error (stagecraft lint book.md lists every finding)\n",
                 nullptr},
        BadInput{"UnterminatedFrontMatter", "---\ntitle: x\n\n## A\n", 2,
                 "book.md:1:1: error: front matter is never closed\n"
                 "  ---\n"
                 "  ^\n"
                 "  hint: end the YAML block with a line holding only '---'\n"
                 "book.md: cannot plan: 1 error (stagecraft lint book.md lists every finding)\n",
                 nullptr},
        BadInput{"HeadingsOnly", "# A\n## B\n### C\n", 0, "", kNothingToRun},
        BadInput{"NoExecutableBlock", "# Notes\n\n```json\n{}\n```\n\nSome prose.\n", 0, "",
                 kNothingToRun}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST(BadInput, DirectoryInsteadOfFile) {
  TempDir dir;
  std::filesystem::create_directory(dir.File("book.md"));
  auto result = RunStagecraft({"plan", "book.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "book.md: error: is a directory, not a runbook file\n");
  EXPECT_EQ(RunStagecraft({"lint", "book.md"}, dir.path()).exit_code, 2);
}

// Every command that reads a runbook refuses what is not a regular file before reading
// from it: a FIFO would block the open, /dev/zero never ends.
TEST(BadInput, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(mkfifo(dir.File("f.md").c_str(), 0600), 0);
  for (const char* command : {"plan", "lint", "run"}) {
    auto result = RunStagecraft({command, "f.md"}, dir.path());
    EXPECT_EQ(result.exit_code, 2) << command;
    EXPECT_EQ(result.err, "f.md: error: not a regular file (a FIFO)\n") << command;
  }
}

TEST(BadInput, CharacterDeviceIsRefused) {
  for (const char* command : {"plan", "lint", "run"}) {
    auto result = RunStagecraft({command, "/dev/zero"});
    EXPECT_EQ(result.exit_code, 2) << command;
    EXPECT_EQ(result.err, "/dev/zero: error: not a regular file (a character device)\n") << command;
  }
}

TEST(BadInput, RunbookOverTheSizeLimitIsRefused) {
  TempDir dir;
  WriteFile(dir.File("huge.md"), "## A\n");
  // Sparse: 65 MiB that take no disk space.
  ASSERT_EQ(truncate(dir.File("huge.md").c_str(), off_t{65} << 20), 0);
  for (const char* command : {"plan", "lint", "run"}) {
    auto result = RunStagecraft({command, "huge.md"}, dir.path());
    EXPECT_EQ(result.exit_code, 2) << command;
    EXPECT_EQ(result.err, "huge.md: error: runbook is too large (65.0 MiB; the limit is 64 MiB)\n")
        << command;
  }
}

TEST(BadInput, MissingFile) {
  TempDir dir;
  auto result = RunStagecraft({"lint", "nope.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "nope.md: error: cannot read runbook: No such file or directory\n");
}

// Peak memory stays a small multiple of the runbook: the parser builds and frees the
// document a piece at a time (parser.cc); a whole cmark tree is many times its text.
TEST(BadInput, FiftyMegabyteRunbookIsPlannedInBoundedMemory) {
  TempDir dir;
  // Mostly pasted prose and logs, as oversized guides are, with a step every few KiB.
  std::string prose(60, 'x');
  std::string chunk;
  for (int i = 0; i < 40; ++i)
    chunk += "Some long explanation " + prose + "\n";
  std::string contents;
  contents.reserve((50u << 20) + chunk.size() * 2);
  for (int step = 0; contents.size() < (50u << 20); ++step)
    contents += "## Step " + std::to_string(step) + "\n\n" + chunk + "\n```bash\necho " +
                std::to_string(step) + "\n```\n\n";
  WriteFile(dir.File("big.md"), contents);
  auto result = RunStagecraft({"plan", "big.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Totals    "), std::string::npos);
  EXPECT_LT(result.max_rss_kib, 3 * static_cast<long>(contents.size() / 1024));
}

// Writes a runbook of the shape of bench/gen_runbook.awk, about `bytes` long, to `path`:
// every step a heading with a budget, an attributed block and its expected output, an undo
// block on every third step, a checklist on every fifth, ten steps to a phase. Little prose:
// the model is most of it. Written step by step, so this process stays small (see
// RunStagecraftTail). Returns the number of steps.
int WriteStepDenseRunbook(const std::string& path, size_t bytes) {
  std::ofstream file(path, std::ios::binary);
  file << "---\ntitle: Dense\nvars:\n  NAMESPACE: rollout\n---\n\n# Dense\n\n";
  int n = 0;
  while (static_cast<size_t>(file.tellp()) < bytes) {
    std::string id = std::to_string(++n);
    std::string svc = "service" + std::to_string(n % 10);
    if (n % 10 == 1) file << "## Phase " << n / 10 + 1 << " (20 minutes)\n\n";
    file << "### Step " << id << ": Deploy " << svc << " shard " << id << " (5m)\n\n"
         << "Runs against the " << svc << " deployment in `$NAMESPACE`; safe to re-run.\n\n"
         << "```bash { name=deploy-" << id << " timeout=5m retries=1 }\n"
         << "kubectl --namespace \"$NAMESPACE\" set image deploy/" << svc << " " << svc
         << "=registry.internal/" << svc << ":2024.06.1\n"
         << "kubectl --namespace \"$NAMESPACE\" rollout status deploy/" << svc
         << " --timeout=120s\ncurl -fsS \"http://" << svc << ".internal:8080/health\" | jq -r "
         << ".status\n```\n\n**Expected Output:**\n```\ndeployment.apps/" << svc
         << " image updated\ndeployment \"" << svc << "\" successfully rolled out\nok\n```\n\n";
    if (n % 3 == 0)
      file << "**Rollback:**\n```bash\nkubectl --namespace \"$NAMESPACE\" rollout undo deploy/"
           << svc << "\n```\n\n";
    if (n % 5 == 0)
      file << "- [ ] Dashboards for " << svc << " are green\n- [ ] Error rate below 1%\n"
           << "  ```bash\n  curl -fsS \"http://metrics.internal/api/error-rate?service=" << svc
           << "\"\n  ```\n\n";
  }
  return n;
}

// A tighter bound when the runbook is nearly all steps: then the model of each step and the
// rendered plan, not the cmark tree, could outgrow it, and anything added to every step or
// kept per step while planning shows here first.
TEST(BadInput, StepDenseRunbookIsPlannedInBoundedMemory) {
  TempDir dir;
  int steps = WriteStepDenseRunbook(dir.File("dense.md"), 50u << 20);
  long file_kib = static_cast<long>(std::filesystem::file_size(dir.File("dense.md")) / 1024);
  long limit_kib = file_kib * 3;
  std::string totals = "Totals    " + std::to_string(steps) + " steps";
  struct Command {
    std::vector<std::string> args;
    std::string ends_with;  // shows the output is complete
  };
  for (const Command& command : {
           Command{{"plan"}, totals},
           Command{{"plan", "--json"}, "\"steps\": " + std::to_string(steps) + ","},
           Command{{"lint"}, "dense.md: no problems found\n"},
           Command{{"run", "--dry-run"}, totals},
       }) {
    std::vector<std::string> args = command.args;
    args.push_back("dense.md");
    auto result = RunStagecraftTail(args, dir.path(), 4096);
    std::string name = args[0] + (args.size() > 2 ? " " + args[1] : "");
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.err;
    EXPECT_NE(result.out.find(command.ends_with), std::string::npos) << name << ": " << result.out;
    EXPECT_LT(result.max_rss_kib, limit_kib) << name;
  }
}

TEST(BadInput, HundredThousandNestedBlockQuotesAreRefusedNotACrash) {
  TempDir dir;
  std::string quotes;
  for (int i = 0; i < 100'000; ++i)
    quotes += "> ";
  WriteFile(dir.File("deep.md"),
            "## Step\n\n" + quotes + "```bash\n" + quotes + "true\n" + quotes + "```\n");
  // The offending line is 200 KB long; the diagnostic shows a window around the column.
  std::string window;
  for (int i = 0; i < 60; ++i)
    window += "> ";
  std::string expected = "deep.md:3:201: error: nesting deeper than 100 levels\n  ..." + window +
                         "...\n" + std::string(2 + 63, ' ') +
                         "^\n  hint: block quotes and lists nest at most this deep in a "
                         "runbook; flatten the document\n";
  for (const char* command : {"lint", "plan", "run"}) {
    auto result = RunStagecraft({command, "deep.md"}, dir.path());
    EXPECT_EQ(result.exit_code, 2) << command;
    EXPECT_EQ(result.err, expected) << command;
    EXPECT_EQ(result.out, "") << command;
  }
}

}  // namespace
}  // namespace stagecraft::testing
