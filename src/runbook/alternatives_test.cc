#include "runbook/alternatives.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/lint.h"
#include "runbook/parser.h"
#include "runbook/plan.h"
#include "runbook/section_kind.h"
#include "runbook/test_util.h"

namespace stagecraft::runbook {
namespace {

// "name" for each step that runs as chosen, "name: instead NAME" for one that does not.
std::vector<std::string> Runs(const Runbook& runbook, const std::vector<std::string>& chosen) {
  AlternativeChoice choice(runbook, chosen);
  std::vector<std::string> rows;
  for (const Step& step : runbook.steps) {
    std::string instead = choice.RunsInstead(step);
    rows.push_back(instead.empty() ? step.name : step.name + ": instead " + instead);
  }
  return rows;
}

constexpr const char* kPublish =
    "# Publish the docs\n"
    "## Build\n```bash\nmake html\n```\n"
    "## Publish\n"
    "### Option 1: push to the CDN\n```bash\n./push-cdn.sh\n```\n"
    "### Option 2: copy to the old server\n"
    "#### Copy the files\n```bash\nscp -r html/ docs:/srv\n```\n"
    "#### Reload the server\n```bash\nssh docs systemctl reload nginx\n```\n"
    "## Announce\n```bash\n./announce.sh\n```\n";

TEST(FlowAlternatives, SiblingOptionsOfTheFlowFormOneGroup) {
  ParseResult parsed = ParseRunbook("book.md", kPublish);
  EXPECT_TRUE(parsed.diagnostics.empty()) << Messages(parsed.diagnostics).front();
  std::vector<AlternativeGroup> groups = Alternatives(parsed.runbook);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].kind, StepKind::kStep);
  EXPECT_EQ(groups[0].names, (std::vector<std::string>{"option-1-push-to-the-cdn",
                                                       "option-2-copy-to-the-old-server"}));
  EXPECT_EQ(groups[0].default_index, 0u);
  EXPECT_EQ(
      Runs(parsed.runbook, {}),
      (std::vector<std::string>{
          "build", "option-1-push-to-the-cdn", "copy-the-files: instead option-1-push-to-the-cdn",
          "reload-the-server: instead option-1-push-to-the-cdn", "announce"}));
  EXPECT_EQ(Runs(parsed.runbook, {"option-2-copy-to-the-old-server"}),
            (std::vector<std::string>{
                "build", "option-1-push-to-the-cdn: instead option-2-copy-to-the-old-server",
                "copy-the-files", "reload-the-server", "announce"}));
}

TEST(FlowAlternatives, TheDefaultDirectivePicksTheOneThatRuns) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Restart\n"
                                 "### Option A: rolling\n```bash\nkubectl rollout restart\n```\n"
                                 "### Option B: all at once\n<!-- stagecraft: default -->\n"
                                 "```bash\nkubectl delete pods --all\n```\n")
                        .runbook;
  EXPECT_EQ(Runs(runbook, {}),
            (std::vector<std::string>{"option-a-rolling: instead option-b-all-at-once",
                                      "option-b-all-at-once"}));
}

TEST(FlowAlternatives, AFallbackIsAnAlternativeToTheSectionBeforeIt) {
  ParseResult parsed = ParseRunbook("book.md",
                                    "## Deploy\n"
                                    "### Run the deploy script\n```bash\n./deploy.sh\n```\n"
                                    "### If the script fails\n```bash\n./deploy-by-hand.sh\n```\n"
                                    "## Smoke test\n```bash\ncurl -f localhost\n```\n");
  EXPECT_TRUE(parsed.diagnostics.empty()) << Messages(parsed.diagnostics).front();
  EXPECT_EQ(Runs(parsed.runbook, {}),
            (std::vector<std::string>{"run-the-deploy-script",
                                      "if-the-script-fails: instead run-the-deploy-script",
                                      "smoke-test"}));
  EXPECT_TRUE(CheckChoices(parsed.runbook, {"if-the-script-fails"}).ok());
}

TEST(FlowAlternatives, AFallbackUnderASectionIsAnAlternativeToItsOwnBlocks) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Reload\n```bash\nnginx -s reload\n```\n"
                   "### If the reload fails\n```bash\nsystemctl restart nginx\n```\n"
                   "### Check the config\n```bash\nnginx -t\n```\n");
  EXPECT_TRUE(parsed.diagnostics.empty()) << Messages(parsed.diagnostics).front();
  EXPECT_EQ(Runs(parsed.runbook, {}),
            (std::vector<std::string>{"reload", "if-the-reload-fails: instead reload",
                                      "check-the-config"}));
}

TEST(FlowAlternatives, AFallbackAfterAnOptionJoinsItsGroup) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Deploy\n"
                                 "### Option A: helm\n```bash\nhelm upgrade api\n```\n"
                                 "### Option B: kubectl\n```bash\nkubectl apply -f k8s/\n```\n"
                                 "### If both fail\n```bash\n./page-oncall.sh\n```\n")
                        .runbook;
  std::vector<AlternativeGroup> groups = Alternatives(runbook);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].names,
            (std::vector<std::string>{"option-a-helm", "option-b-kubectl", "if-both-fail"}));
}

TEST(FlowAlternatives, ALoneOptionalSectionRunsWithAWarning) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Deploy\n```bash\nmake deploy\n```\n"
                   "## Warm the cache (optional)\n```bash\ncurl localhost/warm\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{
                "5:1 warning: 'Warm the cache (optional)' is titled as an alternative but has no "
                "sibling alternative, so it always runs"});
  EXPECT_EQ(Runs(parsed.runbook, {}),
            (std::vector<std::string>{"deploy", "warm-the-cache-optional"}));
  EXPECT_TRUE(Alternatives(parsed.runbook).empty());
}

TEST(FlowAlternatives, TheFlowAndTheRollbackHaveGroupsOfTheirOwn) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Deploy\n"
                                 "### Option A\n```bash\nmake a\n```\n"
                                 "### Option B\n```bash\nmake b\n```\n"
                                 "## Rollback\n"
                                 "### Option 1: undo\n```bash\nmake undo\n```\n"
                                 "### Option 2: restore\n```bash\nmake restore\n```\n")
                        .runbook;
  std::vector<AlternativeGroup> groups = Alternatives(runbook);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].kind, StepKind::kStep);
  EXPECT_EQ(groups[1].kind, StepKind::kRollback);
  EXPECT_TRUE(CheckChoices(runbook, {"option-b", "option-2-restore"}).ok());
  EXPECT_EQ(CheckChoices(runbook, {"option-c"}).message(),
            "--choose option-c: no alternative of that name; did you mean option-a? "
            "(alternatives: option-a, option-b, option-1-undo, option-2-restore)");
  EXPECT_EQ(CheckChoices(runbook, {"option-a", "option-b"}).message(),
            "--choose option-a and --choose option-b are alternatives to each other; choose one");
}

TEST(FlowAlternatives, PlanListsTheAlternativesThatDoNotRunAsChosen) {
  Runbook runbook = ParseRunbook("book.md", kPublish).runbook;
  PlanOptions options;
  options.choose = {"option-2-copy-to-the-old-server"};
  std::string plan = RenderPlanText(runbook, nullptr, options);
  std::string alternatives = plan.substr(plan.find("\nALTERNATIVES"));
  EXPECT_EQ(alternatives.substr(0, alternatives.find("\n\nTotals")),
            "\nALTERNATIVES  run only when chosen: --choose NAME\n"
            "  - option-1-push-to-the-cdn  Option 1: push to the CDN  "
            "[instead of option-2-copy-to-the-old-server] line 7\n"
            "    run     bash, 1 line                                           line 8\n"
            "    undo    none");
  EXPECT_NE(plan.find("    2. copy-the-files  Copy the files  [chosen alternative "
                      "option-2-copy-to-the-old-server]"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("    4. announce  Announce"), std::string::npos) << plan;
  EXPECT_NE(plan.find("Totals    4 steps (0 with rollback), 4 actions"), std::string::npos)
      << "the alternative that does not run is not counted: " << plan;
}

TEST(FlowAlternatives, JsonPlanMarksEachAlternativeAndWhatRuns) {
  Runbook runbook = ParseRunbook("book.md", kPublish).runbook;
  PlanOptions options;
  options.choose = {"option-2-copy-to-the-old-server"};
  nlohmann::json plan = RenderPlanJson(runbook, nullptr, options);
  EXPECT_EQ(plan["steps"][0]["alternative"], nullptr);
  EXPECT_EQ(plan["steps"][1]["alternative"],
            nlohmann::json({{"instead_of", "option-2-copy-to-the-old-server"},
                            {"name", "option-1-push-to-the-cdn"},
                            {"runs", false}}));
  EXPECT_EQ(
      plan["steps"][2]["alternative"],
      nlohmann::json(
          {{"instead_of", nullptr}, {"name", "option-2-copy-to-the-old-server"}, {"runs", true}}));
  ASSERT_EQ(plan["alternatives"].size(), 1u);
  EXPECT_EQ(plan["alternatives"][0]["flow"], "steps");
  EXPECT_EQ(plan["alternatives"][0]["default"], "option-1-push-to-the-cdn");
  EXPECT_EQ(plan["alternatives"][0]["runs"], "option-2-copy-to-the-old-server");
  EXPECT_TRUE(plan["rollback_alternatives"].empty()) << "the flow's are not the rollback's";
}

TEST(IsFallbackTitle, RecognisesWhatToDoWhenTheSectionBeforeFails) {
  for (const char* title : {"If the script fails", "2. If that doesn't work", "Fallback: by hand",
                            "If the deploy failed", "If the migration does not work"})
    EXPECT_TRUE(IsFallbackTitle(title)) << title;
  for (const char* title : {"If failover is needed", "Fail over", "Verify", "If in doubt"})
    EXPECT_FALSE(IsFallbackTitle(title)) << title;
}

// Lint's hidden-alternative findings only.
Diagnostics LintOnly(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  Diagnostics findings;
  Lint(parsed.runbook, markdown, findings);
  std::erase_if(findings, [](const Diagnostic& d) { return d.id != "hidden-alternative"; });
  return findings;
}

TEST(HiddenAlternative, ACommentAnnouncingAnotherWayFollowedByCommandsIsFlagged) {
  Diagnostics findings = LintOnly(
      "## Rollback\n```bash\nhelm rollback api 0\n\n# Or roll back the whole stack\n"
      "terraform apply -auto-approve -var release=previous\n```\n");
  ASSERT_EQ(findings.size(), 1u) << Messages(findings).front();
  EXPECT_EQ(Messages(findings)[0],
            "5:1 warning: alternative hidden in one block: the commands after line 5 run too; "
            "split them into sibling 'Option' sections");
  EXPECT_EQ(findings[0].id, "hidden-alternative");
}

TEST(HiddenAlternative, OtherCommentsAndATrailingOptionAreLeftAlone) {
  EXPECT_TRUE(LintOnly("## Deploy\n```bash\n# Options are read from env\nmake deploy\n"
                       "# Or skip this when the cache is warm\n```\n")
                  .empty());
  EXPECT_TRUE(LintOnly("## Deploy\n```bash\n# Option 1: the script\n./deploy.sh\n```\n").empty());
  Diagnostics option = LintOnly(
      "## Deploy\n```bash\n./deploy.sh\n  # Option 2: by hand\nkubectl apply -f k8s/\n```\n");
  EXPECT_EQ(Messages(option),
            std::vector<std::string>{
                "4:3 warning: alternative hidden in one block: the commands after line 4 run "
                "too; split them into sibling 'Option' sections"});
}

}  // namespace
}  // namespace stagecraft::runbook
