// Alternatives in the normal flow: of sibling sections titled as options one runs, chosen
// with --choose or at a terminal; plan shows the others (docs/runbook-format.md §16.4).

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string UseFixture(const TempDir& dir) {
  fs::copy_file(TestsDir() + "/fixtures/alternatives/cache-rollout.md",
                dir.File("cache-rollout.md"));
  return "cache-rollout.md";
}

TEST(FlowAlternatives, TheFirstRunsAndTheOthersAreReportedAsNotRun) {
  TempDir dir;
  std::string book = UseFixture(dir);
  auto run = RunStagecraft({"run", book, "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(ReadFile(dir.File("steps.log")), "prepared\nscript\nreloaded\n");
  EXPECT_TRUE(Contains(run.out, "not run: alternative to option-a-the-install-script")) << run.out;
  EXPECT_TRUE(Contains(run.out, "not run: alternative to reload")) << run.out;
  std::string report = ReadFile(ReportFile(run, dir.path(), "json"));
  EXPECT_TRUE(Contains(report, "not run: alternative to option-a-the-install-script")) << report;
}

TEST(FlowAlternatives, ChooseRunsAnotherAlternativeAndAFallback) {
  TempDir dir;
  std::string book = UseFixture(dir);
  auto run = RunStagecraft({"run", book, "--no-color", "--choose", "option-b-by-hand-alternative",
                            "--choose", "if-the-reload-fails"},
                           dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(ReadFile(dir.File("steps.log")), "prepared\nby-hand\nrestarted\n");
}

TEST(FlowAlternatives, UnknownChoiceIsRefusedWithTheNamesThatExist) {
  TempDir dir;
  std::string book = UseFixture(dir);
  const std::string expected =
      "stagecraft: error: --choose option-b-by-hand-alternativ: no alternative of that name; "
      "did you mean option-b-by-hand-alternative? (alternatives: option-a-the-install-script, "
      "option-b-by-hand-alternative, reload, if-the-reload-fails)\n";
  auto run = RunStagecraft({"run", book, "--choose", "option-b-by-hand-alternativ"}, dir.path());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, expected);
  EXPECT_FALSE(fs::exists(dir.File("steps.log")));
  auto plan = RunStagecraft({"plan", book, "--choose", "option-b-by-hand-alternativ"}, dir.path());
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_EQ(plan.err, expected);
}

TEST(FlowAlternatives, PlanShowsWhatWouldRunAsChosen) {
  TempDir dir;
  std::string book = UseFixture(dir);
  auto plan = RunStagecraft({"plan", book}, dir.path());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(Contains(plan.out,
                       "    2. option-a-the-install-script  Option A: the install script"
                       "  [default alternative]"))
      << plan.out;
  EXPECT_TRUE(Contains(plan.out,
                       "ALTERNATIVES  run only when chosen: --choose NAME\n"
                       "  - option-b-by-hand-alternative  Option B: by hand (alternative)  "
                       "[instead of option-a-the-install-script]"))
      << plan.out;

  auto chosen =
      RunStagecraft({"plan", book, "--choose", "option-b-by-hand-alternative"}, dir.path());
  EXPECT_EQ(chosen.exit_code, 0) << chosen.err;
  EXPECT_TRUE(Contains(chosen.out,
                       "    2. option-b-by-hand-alternative  Option B: by hand "
                       "(alternative)  [chosen alternative]"))
      << chosen.out;
  EXPECT_TRUE(Contains(chosen.out,
                       "  - option-a-the-install-script  Option A: the install "
                       "script  [instead of option-b-by-hand-alternative]"))
      << chosen.out;
}

TEST(FlowAlternatives, JsonPlanMarksAlternativesAndRespectsChoose) {
  TempDir dir;
  std::string book = UseFixture(dir);
  auto plan = RunStagecraft({"plan", "--json", book, "--choose", "option-b-by-hand-alternative"},
                            dir.path());
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  json parsed = json::parse(plan.out);
  ASSERT_EQ(parsed["alternatives"].size(), 2u);
  EXPECT_EQ(parsed["alternatives"][0]["flow"], "steps");
  EXPECT_EQ(parsed["alternatives"][0]["default"], "option-a-the-install-script");
  EXPECT_EQ(parsed["alternatives"][0]["runs"], "option-b-by-hand-alternative");
  EXPECT_EQ(parsed["alternatives"][1]["runs"], "reload");
  for (const json& step : parsed["steps"]) {
    if (step["name"] == "option-a-the-install-script")
      EXPECT_EQ(step["alternative"], json({{"instead_of", "option-b-by-hand-alternative"},
                                           {"name", "option-a-the-install-script"},
                                           {"runs", false}}));
    if (step["name"] == "prepare") EXPECT_TRUE(step["alternative"].is_null());
  }
}

TEST(FlowAlternatives, ResumeKeepsTheChoiceOfTheRun) {
  TempDir dir;
  std::string book = UseFixture(dir);
  WriteFile(dir.File("hand-broken"), "");
  auto run = RunStagecraft({"run", book, "--no-color", "--on-failure", "stop", "--choose",
                            "option-b-by-hand-alternative"},
                           dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  fs::remove(dir.File("hand-broken"));
  auto resumed = RunStagecraft({"resume", "--no-color"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("steps.log")), "prepared\nby-hand\nreloaded\n");
}

TEST(FlowAlternatives, AfterAFailureResumeRunsTheFallbackChosenNow) {
  TempDir dir;
  std::string book = UseFixture(dir);
  WriteFile(dir.File("script-broken"), "");
  auto run = RunStagecraft({"run", book, "--no-color", "--on-failure", "stop"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  auto resumed = RunStagecraft({"resume", "--no-color", "--choose", "option-b-by-hand-alternative"},
                               dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("steps.log")), "prepared\nby-hand\nreloaded\n");
}

TEST(FlowAlternatives, AtATerminalTheOperatorPicksAndAResumeKeepsIt) {
  TempDir dir;
  std::string book = UseFixture(dir);
  WriteFile(dir.File("hand-broken"), "");
  auto run =
      RunStagecraftOnTerminal({"run", book, "--no-color", "--on-failure", "stop"}, dir.path(),
                              {{"Which one? [1] ", "2\n"}, {"Which one? [1] ", "\n"}});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_TRUE(Contains(run.out,
                       "  ? 2 alternatives, one of which runs:\r\n"
                       "      1. option-a-the-install-script (default)\r\n"
                       "      2. option-b-by-hand-alternative\r\n"))
      << run.out;
  fs::remove(dir.File("hand-broken"));
  // Not at a terminal now: the answer given before holds, and nothing is asked.
  auto resumed = RunStagecraft({"resume", "--no-color"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("steps.log")), "prepared\nby-hand\nreloaded\n");
}

TEST(FlowAlternatives, LintFlagsAnAlternativeHiddenInOneBlock) {
  TempDir dir;
  WriteFile(dir.File("undo.md"),
            "# Undo the release\n\n## Rollback\n\n```bash\nhelm rollback api 0\n"
            "# Or roll back the whole stack\nterraform apply -var release=previous\n```\n");
  auto lint = RunStagecraft({"lint", "undo.md"}, dir.path());
  EXPECT_TRUE(Contains(lint.out,
                       "undo.md:7:1: warning: alternative hidden in one block: the commands "
                       "after line 7 run too; split them into sibling 'Option' sections "
                       "[hidden-alternative]"))
      << lint.out;
}

}  // namespace
}  // namespace stagecraft::testing
