// End-to-end tests of `stagecraft lint`: the run-time hazards of a runbook's shell code as
// the binary reports them (text and --json), --strict, and silencing with lint-ignore.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

std::string WithExit(const CommandResult& result) {
  return result.out + "exit " + std::to_string(result.exit_code) + "\n";
}

TEST(LintHazards, TextMatchesGolden) {
  auto result = RunStagecraft({"lint", "fixtures/lint-hazards.md"});
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(CompareWithGolden("lint-hazards.lint.txt", WithExit(result)), "");
}

TEST(LintHazards, JsonMatchesGolden) {
  auto result = RunStagecraft({"lint", "--json", "fixtures/lint-hazards.md"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(CompareWithGolden("lint-hazards.lint.json", result.out), "");
  auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["schema"], "stagecraft.lint/v1");
  EXPECT_EQ(json["errors"], 2);
  EXPECT_EQ(json["silenced"], 2);
}

// Every finding id the fixture is there to show comes out of the binary at least once.
TEST(LintHazards, EveryRunTimeHazardIsFound) {
  auto json =
      nlohmann::json::parse(RunStagecraft({"lint", "--json", "fixtures/lint-hazards.md"}).out);
  std::set<std::string> ids;
  for (const auto& finding : json["findings"])
    ids.insert(finding["id"].get<std::string>());
  for (const char* id : {"absolute-cd", "destructive", "grep-pipefail", "hidden-failure",
                         "mojibake", "needs-terminal", "never-ends", "placeholder",
                         "placeholder-redirect", "read-before-write", "rm-empty-variable"})
    EXPECT_EQ(ids.count(id), 1u) << id;
}

TEST(LintStrict, WarningsFailOnlyWithStrict) {
  TempDir dir;
  WriteFile(dir.File("follow.md"), "## Logs\n```bash\ntail -f app.log\n```\n");
  auto relaxed = RunStagecraft({"lint", "follow.md"}, dir.path());
  EXPECT_EQ(relaxed.exit_code, 0);
  EXPECT_EQ(relaxed.out.substr(relaxed.out.rfind("follow.md:")),
            "follow.md: 0 errors, 1 warning\n");
  auto strict = RunStagecraft({"lint", "--strict", "follow.md"}, dir.path());
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(strict.out, relaxed.out);
  EXPECT_EQ(RunStagecraft({"lint", "--strict", "--json", "follow.md"}, dir.path()).exit_code, 1);
}

TEST(LintStrict, ACleanRunbookPassesStrict) {
  TempDir dir;
  WriteFile(dir.File("ok.md"), "## Check\n```bash\ntail -n 20 app.log\n```\n");
  auto result = RunStagecraft({"lint", "--strict", "ok.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "ok.md: no problems found\n");
}

TEST(LintJson, CleanRunbook) {
  TempDir dir;
  WriteFile(dir.File("ok.md"), "## Check\n```bash\nls\n```\n");
  auto result = RunStagecraft({"lint", "--json", "ok.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out,
            "{\n  \"errors\": 0,\n  \"file\": \"ok.md\",\n  \"findings\": [],\n  \"schema\": "
            "\"stagecraft.lint/v1\",\n  \"silenced\": 0,\n  \"warnings\": 0\n}\n");
}

TEST(LintJson, UnreadableRunbookPrintsNoJson) {
  TempDir dir;
  auto result = RunStagecraft({"lint", "--json", "missing.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "missing.md: error: cannot read runbook: No such file or directory\n");
}

TEST(LintIgnore, SilencedFindingsAreCounted) {
  TempDir dir;
  WriteFile(dir.File("logs.md"),
            "## Logs\n<!-- stagecraft: lint-ignore=never-ends -->\n```bash\ntail -f a.log\n```\n"
            "```bash { lint-ignore=absolute-cd }\ncd /opt/app\n```\n");
  auto result = RunStagecraft({"lint", "--strict", "logs.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "logs.md: no problems found (2 silenced)\n");
}

// The errors among the hazards stop `plan` and `run` like any other error.
TEST(LintErrors, PlaceholderInCodeStopsPlanAndRun) {
  TempDir dir;
  WriteFile(dir.File("tag.md"), "## Deploy\n```bash\ngit checkout <release-tag>\n```\n");
  std::string error =
      "tag.md:3:14: error: '<release-tag>' is a placeholder, but bash reads it as redirections: "
      "input from a file named 'release-tag' [placeholder-redirect]\n"
      "  git checkout <release-tag>\n"
      "               ^\n"
      "  hint: declare RELEASE_TAG under the front matter's inputs: (a run then takes --var "
      "RELEASE_TAG=... or asks for it), or write \"$RELEASE_TAG\" here and give it a value\n";
  auto plan = RunStagecraft({"plan", "tag.md"}, dir.path());
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_EQ(plan.err,
            error + "tag.md: cannot plan: 1 error (stagecraft lint tag.md lists every finding)\n");
  auto run = RunStagecraft({"run", "tag.md"}, dir.path());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            error + "tag.md: cannot run: 1 error (stagecraft lint tag.md lists every finding)\n");
}

// Guides repeat a relative `cd` in every step; lint must not follow it into a path that
// grows with each one (memory would grow with the square of the steps).
TEST(LintScale, RelativeCdInEveryStepKeepsMemoryBounded) {
  TempDir dir;
  std::string book;
  for (int step = 0; step < 8'000; ++step)
    book += "## Step " + std::to_string(step) + "\n```bash\ncd deploy/app\ncat app.conf\n```\n";
  WriteFile(dir.File("steps.md"), book);
  auto result = RunStagecraft({"lint", "steps.md"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "steps.md: no problems found\n");
  EXPECT_LT(result.max_rss_kib, 200 * 1024);
}

}  // namespace
}  // namespace stagecraft::testing
