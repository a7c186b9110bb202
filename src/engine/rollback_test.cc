// The rollback: the rollback procedure gives every directive and attribute the meaning it
// has in the normal flow, and runs the sections the rules pick (runbook/rollback_rules.h).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/test_util.h"

namespace stagecraft::engine {
namespace {

class RollbackTest : public testing::EngineTest {
 protected:
  // "label status message" for each rollback item.
  std::vector<std::string> Rollback(const RunResult& result) {
    std::vector<std::string> rows;
    for (const ItemResult& item : result.rollback)
      rows.push_back(item.label + " " + std::string(ConsoleWord(item.status, item.refusal)) +
                     (item.message.empty() ? "" : " " + item.message));
    return rows;
  }
};

// A step that changes things and then fails, and a procedure to try the directives on.
std::string FailingDeploy(const std::string& procedure) {
  return "## Deploy\n```bash\nkubectl apply -f app.yaml\nbreak-it\n```\n## Rollback\n" + procedure;
}

TEST_F(RollbackTest, ManualSectionIsShownAndConfirmedButNeverExecuted) {
  runner_.On({"break-it", 1});
  EngineOptions options;
  options.yes = true;
  auto result = RunBook(FailingDeploy("<!-- stagecraft: manual -->\n"
                                      "```bash\nterraform plan -destroy -target=module.db\n```\n"),
                        options);
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_EQ(result.status, RunStatus::kRolledBack);
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f app.yaml"});
  EXPECT_EQ(Rollback(result), (std::vector<std::string>{
                                  "manual step rollback: done as shown above? approved approved "
                                  "by operator (--yes)",
                                  "rollback (line 8) skipped not run: manual"}));
}

TEST_F(RollbackTest, ManualSectionNobodyConfirmedLeavesTheRollbackIncomplete) {
  runner_.On({"break-it", 1});
  auto result =
      RunBook(FailingDeploy("<!-- stagecraft: manual -->\n```bash\nterraform destroy\n```\n"));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.status, RunStatus::kRollbackFailed);
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f app.yaml"});
}

TEST_F(RollbackTest, SkipAttributeAndIgnoreMeanWhatTheyMeanInTheSteps) {
  runner_.On({"break-it", 1});
  runner_.On({"flaky-undo", 1});
  auto result =
      RunBook(FailingDeploy("```bash { skip }\nnever-undo\n```\n"
                            "```bash { ignore }\nflaky-undo\n```\n"
                            "```bash\nlast-undo\n```\n"));
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_EQ(result.status, RunStatus::kRolledBack);
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"kubectl apply -f app.yaml", "flaky-undo", "last-undo"}));
  EXPECT_EQ(Rollback(result)[0], "rollback (line 7) skipped");
  EXPECT_EQ(Rollback(result)[1], "rollback (line 10) passed exited with status 1 (ignored)");
}

TEST_F(RollbackTest, SkipDirectiveKeepsTheSectionFromRunning) {
  runner_.On({"break-it", 1});
  auto result =
      RunBook(FailingDeploy("### Not now\n<!-- stagecraft: skip -->\n"
                            "```bash\nnever-undo\n```\n"));
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f app.yaml"});
  EXPECT_EQ(Rollback(result),
            std::vector<std::string>{"not-now (line 9) skipped not run: skip directive"});
}

TEST_F(RollbackTest, GateNobodyApprovedKeepsItsBlockFromRunning) {
  runner_.On({"break-it", 1});
  auto result =
      RunBook(FailingDeploy("```bash { confirm }\nterraform destroy\n```\n"
                            "```bash\nnotify\n```\n"));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"kubectl apply -f app.yaml", "notify"}));

  EngineOptions approved;
  approved.approve = {"rollback"};
  runner_.calls.clear();
  auto again = RunBook(FailingDeploy("```bash { confirm }\nterraform destroy -auto-approve\n```\n"),
                       approved);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"kubectl apply -f app.yaml",
                                               "terraform destroy -auto-approve"}));
}

TEST_F(RollbackTest, InteractiveBlockWithoutATerminalIsAManualStepWithYes) {
  runner_.On({"break-it", 1});
  auto refused = RunBook(FailingDeploy("```bash { interactive }\nvault login\n```\n"));
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f app.yaml"});

  EngineOptions options;
  options.yes = true;
  runner_.calls.clear();
  auto manual = RunBook(FailingDeploy("```bash { interactive }\nvault login\n```\n"), options);
  EXPECT_EQ(manual.exit_code, 1);
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f app.yaml"});
  EXPECT_EQ(manual.rollback[0].status, StepStatus::kApproved);
}

TEST_F(RollbackTest, SectionTimeoutAppliesToItsBlocksButNotToUndoBlocks) {
  runner_.On({"break-it", 1});
  auto result = RunBook(
      "## Deploy\n<!-- stagecraft: timeout=2m -->\n```bash\nkubectl apply -f a.yaml\nbreak-it\n"
      "```\n**Rollback:**\n```bash\nkubectl delete -f a.yaml\n```\n"
      "## Rollback\n<!-- stagecraft: timeout=7m -->\n```bash\nwait-for-old\n```\n"
      "```bash { timeout=30s }\ncheck-old\n```\n");
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  ASSERT_EQ(runner_.timeouts.size(), 4u);
  EXPECT_EQ(runner_.timeouts[0], Millis(120'000));
  EXPECT_EQ(runner_.timeouts[1], std::nullopt) << "the undo block of the step";
  EXPECT_EQ(runner_.timeouts[2], Millis(420'000));
  EXPECT_EQ(runner_.timeouts[3], Millis(30'000));
}

TEST_F(RollbackTest, TranscriptsAndChecklistsRunAsInTheSteps) {
  runner_.On({"break-it", 1});
  runner_.On({"helm history", 0, "2 deployed\n"});
  EngineOptions options;
  options.yes = true;
  auto result = RunBook(FailingDeploy("```console\n$ helm rollback api 1\n$ helm history api\n"
                                      "2 deployed\n```\n"
                                      "- [ ] traffic is back on the old version\n"
                                      "  ```bash\n  curl -fsS localhost/version\n  ```\n"
                                      "- [ ] the team knows\n"),
                        options);
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_EQ(Calls(), (std::vector<std::string>{"kubectl apply -f app.yaml", "helm rollback api 1",
                                               "helm history api", "curl -fsS localhost/version"}));
  EXPECT_EQ(result.rollback.back().label, "the team knows");
  EXPECT_EQ(result.rollback.back().status, StepStatus::kApproved);
}

TEST_F(RollbackTest, FailureBeforeAnyChangeRunsNoProcedure) {
  runner_.On({"grep", 1});
  auto result = RunBook(
      "## Check\n```bash\ngrep -q queue main.tf\n```\n"
      "## Apply\n```bash\nterraform apply\n```\n"
      "## Rollback\n```bash\nterraform destroy -auto-approve\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.status, RunStatus::kFailed);
  EXPECT_EQ(Calls(), std::vector<std::string>{"grep -q queue main.tf"});
  EXPECT_EQ(Rollback(result),
            std::vector<std::string>{"rollback (line 10) skipped not run: before any change"});
  EXPECT_EQ(result.message,
            "step check FAILED: exited with status 1; nothing was rolled back: no step that "
            "changes things had run");
}

TEST_F(RollbackTest, StepStoppedAtItsGateIsNotUndone) {
  prompter_.available_ = true;
  prompter_.answers = {"n"};
  auto result = RunBook(
      "## Apply\n```bash { confirm }\nterraform apply\n```\n**Rollback:**\n"
      "```bash\nterraform destroy\n```\n"
      "## Rollback\n```bash\ncleanup\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(runner_.calls.empty()) << Calls().front();
}

TEST_F(RollbackTest, SkippedStepCountedDoneByAResumeIsNotUndone) {
  runner_.On({"break-it", 1});
  EngineOptions options;
  options.completed_steps = {"old"};
  RunBook(
      "## Old\n<!-- stagecraft: skip -->\n```bash\nrm -rf cache\n```\n**Rollback:**\n"
      "```bash\nrestore-cache\n```\n"
      "## Check\n```bash\nbreak-it\n```\n"
      "## Rollback\n```bash\nprocedure\n```\n",
      options);
  EXPECT_EQ(Calls(), std::vector<std::string>{"break-it"});
}

constexpr const char* kScoped =
    "## Check\n```bash\ncurl -fsS localhost/health\n```\n"
    "## Deploy\n```bash\nkubectl apply -f app.yaml\n```\n"
    "## Migrate\n```bash\npsql -f migrate.sql\n```\n"
    "## Rollback\n"
    "### Restore the database\n<!-- stagecraft: after=migrate -->\n```bash\npg_restore db\n```\n"
    "### Revert the app\n<!-- stagecraft: after=deploy -->\n"
    "```bash\nkubectl rollout undo deploy/app\n```\n";

TEST_F(RollbackTest, ScopedSectionRunsOnlyAfterItsStep) {
  runner_.On({"kubectl apply", 1});
  auto result = RunBook(kScoped);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"curl -fsS localhost/health", "kubectl apply -f app.yaml",
                                      "kubectl rollout undo deploy/app"}));
  EXPECT_EQ(Rollback(result)[0],
            "restore-the-database (line 16) skipped not run: after migrate, which did not run");
}

TEST_F(RollbackTest, RollbackCommandFollowsTheSameRules) {
  EngineOptions options;
  options.completed_steps = {"check"};
  auto nothing = RollbackBook(kScoped, options);
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_EQ(nothing.status, RunStatus::kFailed) << "nothing was rolled back";
  EXPECT_TRUE(runner_.calls.empty());

  options.completed_steps = {"check", "deploy", "migrate"};
  auto all = RollbackBook(kScoped, options);
  EXPECT_EQ(all.status, RunStatus::kRolledBack);
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"pg_restore db", "kubectl rollout undo deploy/app"}));
}

constexpr const char* kOptions =
    "## Deploy\n```bash\nrsync -a dist/ /srv/web/\nbreak-it\n```\n"
    "## Rollback\n"
    "### Option 1: Immediate\n```bash\nrestore-all\n```\n"
    "### Option 2: Selective\n```bash\nrestore-pages\n```\n";

TEST_F(RollbackTest, OneAlternativeRunsTheDefaultOrTheChosenOne) {
  runner_.On({"break-it", 1});
  auto first = RunBook(kOptions);
  EXPECT_EQ(Calls().back(), "restore-all");
  EXPECT_EQ(Rollback(first).back(),
            "option-2-selective (line 12) skipped not run: alternative to option-1-immediate");

  runner_.calls.clear();
  EngineOptions options;
  options.choose = {"option-2-selective"};
  RunBook(kOptions, options);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"rsync -a dist/ /srv/web/", "restore-pages"}));
}

TEST_F(RollbackTest, InterruptedProcedureRecordsTheRestAsNotRun) {
  runner_.On({"break-it", 1});
  runner_.On({"restore-all", 0, "", ProcessOutcome::Kind::kInterrupted});
  auto result = RunBook(
      "## Deploy\n```bash\nrsync -a dist/ /srv/web/\nbreak-it\n```\n"
      "## Rollback\n```bash\nrestore-all\n```\n```bash\nnotify\n```\n### More\n```bash\nmore\n"
      "```\n");
  EXPECT_EQ(result.exit_code, 130);
  EXPECT_EQ(Calls().back(), "restore-all");
  auto rows = Rollback(result);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], "rollback (line 10) not reached not run: the rollback was interrupted");
  EXPECT_EQ(rows[2], "more (line 14) not reached not run: the rollback was interrupted");
}

TEST_F(RollbackTest, BlockDoneBeforeAnInterruptedRollbackKeepsItsGateAndPlace) {
  EngineOptions options;
  options.yes = true;
  options.completed_steps = {"deploy"};
  // Ordinal 1 is the gate, 2 its block, 3 the next block.
  options.rollback_done = {{2, "rollback (line 6)"}};
  RollbackBook(
      "## Deploy\n```bash\nrsync -a dist/ /srv/web/\n```\n"
      "## Rollback\n```bash { confirm }\nrestore-all\n```\n```bash\nnotify\n```\n",
      options);
  EXPECT_EQ(Calls(), std::vector<std::string>{"notify"});
  EXPECT_NE(console_text_.find("rollback (line 6): done before the rollback was interrupted"),
            std::string::npos)
      << console_text_;
}

}  // namespace
}  // namespace stagecraft::engine
