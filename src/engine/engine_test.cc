#include "engine/engine.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/journal_recorder.h"
#include "engine/test_util.h"
#include "journal/sqlite_journal.h"
#include "journal/test_util.h"
#include "runbook/parser.h"

namespace stagecraft::engine {
namespace {

using testing::EngineTest;
using testing::FakeRunner;

constexpr const char* kThreeSteps =
    "# Deploy\n"
    "## One\n```bash\necho one\n```\n**Rollback:**\n```bash\necho undo-one\n```\n"
    "## Two\n```bash\necho two\n```\n**Rollback:**\n```bash\necho undo-two\n```\n"
    "## Three\n```bash\necho three\n```\n**Rollback:**\n```bash\necho undo-three\n```\n"
    "## Rollback procedure\n```bash\necho procedure\n```\n";

TEST_F(EngineTest, StepsRunInDocumentOrder) {
  auto result = RunBook(kThreeSteps);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.status, RunStatus::kSucceeded);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo one", "echo two", "echo three"}));
}

TEST_F(EngineTest, FailureRunsCompensationsNewestFirstThenTheProcedure) {
  runner_.On({"echo two", 1});
  auto result = RunBook(kThreeSteps);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.status, RunStatus::kRolledBack);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo one", "echo two", "echo undo-two",
                                               "echo undo-one", "echo procedure"}));
  ASSERT_EQ(result.steps.size(), 3u);
  EXPECT_EQ(result.steps[2].status, StepStatus::kPending);
}

TEST_F(EngineTest, FailingRollbackBlockDoesNotStopTheOthers) {
  runner_.On({"echo three", 1});
  runner_.On({"undo-two", 5});
  auto result = RunBook(kThreeSteps);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.status, RunStatus::kRollbackFailed);
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"echo one", "echo two", "echo three", "echo undo-three",
                                      "echo undo-two", "echo undo-one", "echo procedure"}));
}

TEST_F(EngineTest, FailureMessageSurvivesManyStepsNotReached) {
  runner_.On({"boom", 1, ""});
  std::string book = "## A\n```bash\nboom\n```\n";
  for (int i = 0; i < 20; ++i)
    book += "## Later " + std::to_string(i) + "\n```bash\necho later\n```\n";
  auto result = RunBook(book);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.message,
            "step a FAILED: exited with status 1; nothing was rolled back: no step that changes "
            "things had run");
}

TEST_F(EngineTest, RollbackProcedureBlocksKeepTheirRetries) {
  runner_.On({"boom", 1, ""});
  runner_.On({"wait-for-old-version", 1, "not up yet\n", ProcessOutcome::Kind::kExited, 2});
  auto result = RunBook(
      "## A\n```bash\nkubectl apply -f boom.yaml\n```\n"
      "## Rollback\n```bash { retries=3 }\nwait-for-old-version\n```\n");
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  ASSERT_EQ(result.rollback.size(), 1u);
  EXPECT_EQ(result.rollback[0].status, StepStatus::kSucceeded);
  EXPECT_EQ(result.rollback[0].attempts, 3);
}

TEST_F(EngineTest, OnFailureStopLeavesEverythingAsIs) {
  runner_.On({"echo two", 1});
  EngineOptions options;
  options.on_failure = OnFailure::kStop;
  auto result = RunBook(kThreeSteps, options);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.status, RunStatus::kStopped);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo one", "echo two"}));
}

TEST_F(EngineTest, FrontMatterOnFailureStopIsHonoured) {
  runner_.On({"echo two", 1});
  auto result = RunBook(std::string("---\non_failure: stop\n---\n") + kThreeSteps);
  EXPECT_EQ(result.status, RunStatus::kStopped);
}

TEST_F(EngineTest, InterruptedStepIsRolledBackAndExits130) {
  runner_.On({"echo two", 0, "", ProcessOutcome::Kind::kInterrupted});
  auto result = RunBook(kThreeSteps);
  EXPECT_EQ(result.exit_code, 130);
  EXPECT_EQ(result.status, RunStatus::kInterrupted);
  EXPECT_EQ(Calls().back(), "echo procedure");
}

TEST_F(EngineTest, PreflightFailureChangesNothingAndRollsNothingBack) {
  runner_.On({"aws --version", 127});
  auto result = RunBook("## Checklist\n- [ ] cli\n  ```bash\n  aws --version\n  ```\n" +
                        std::string(kThreeSteps));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.status, RunStatus::kFailed);
  EXPECT_EQ(Calls(), std::vector<std::string>{"aws --version"});
  EXPECT_NE(result.message.find("nothing is rolled back"), std::string::npos);
}

TEST_F(EngineTest, RetriesUntilSuccess) {
  runner_.On({"flaky", 1, "", ProcessOutcome::Kind::kExited, 2});
  auto result = RunBook("## A\n```bash { retries=3 delay=1ms }\nflaky\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.steps[0].attempts, 3);
}

TEST_F(EngineTest, RetriesRunOut) {
  runner_.On({"flaky", 1});
  auto result = RunBook("## A\n```bash { retries=2 delay=1ms }\nflaky\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(runner_.calls.size(), 3u);
}

TEST_F(EngineTest, UntilGivesUpAtTheTimeout) {
  runner_.On({"curl", 7});
  auto result = RunBook("## A\n```bash { until timeout=50ms delay=10ms }\ncurl x\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_GE(runner_.calls.size(), 2u);
  EXPECT_NE(result.message.find("did not succeed within 50ms"), std::string::npos)
      << result.message;
}

TEST_F(EngineTest, ExpectationMismatchFailsWithADiff) {
  runner_.On({"terraform init", 0, "Initializing...\nError: backend\n"});
  auto result = RunBook(
      "## Init\n```bash\nterraform init\n```\n**Expected Output:**\n```\nTerraform has been "
      "successfully initialized!\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  ASSERT_EQ(result.steps[0].items.size(), 1u);
  EXPECT_EQ(result.steps[0].items[0].message, "expected output not found");
  EXPECT_NE(result.steps[0].items[0].detail.find("Terraform has been successfully initialized!"),
            std::string::npos);
}

TEST_F(EngineTest, ExpectationWithOtherLinesBetweenPasses) {
  runner_.On({"apply", 0, "a\nApply complete! Resources: 3 added.\nb\n"});
  auto result = RunBook(
      "## A\n```bash\napply\n```\n**Expected Output:**\n```\nApply complete! Resources: \\d+ "
      "added. (re)\n```\n");
  EXPECT_EQ(result.exit_code, 0) << console_text_;
}

TEST_F(EngineTest, RedFlagFailsTheStep) {
  runner_.On({"plan", 0, "Plan: 1 to add, 0 to change, 2 to destroy.\n"});
  auto result = RunBook("## A\n```bash\nplan\n```\n**Red Flags:**\n```\nto destroy\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.steps[0].items[0].message, "a red flag appeared in the output");
}

TEST_F(EngineTest, CaptureIsPassedToLaterBlocks) {
  runner_.On({"publish", 0, "  arn:aws:lambda:layer:7  \n"});
  auto result =
      RunBook("## A\n```bash { capture=LAYER_ARN }\npublish\n```\n## B\n```bash\nuse\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(runner_.variables["LAYER_ARN"], "arn:aws:lambda:layer:7");
  EXPECT_EQ(result.captures.at("LAYER_ARN"), "arn:aws:lambda:layer:7");
}

TEST_F(EngineTest, CaptureRegexThatNeverMatchesFails) {
  runner_.On({"publish", 0, "nothing useful\n"});
  auto result = RunBook("## A\n```bash { capture=\"V:/version (\\d+)/\" }\npublish\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.steps[0].items[0].message,
            "capture regex /version (\\d+)/ did not match the output");
}

TEST_F(EngineTest, GateWithoutTerminalLeavesTheRunWaitingWithoutRollback) {
  auto result = RunBook(
      "## A\n```bash\necho a\n```\n**Rollback:**\n```bash\nundo-a\n```\n"
      "## B\n```bash { confirm }\necho b\n```\n");
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.status, RunStatus::kWaiting);
  EXPECT_EQ(result.steps[1].status, StepStatus::kWaiting);
  EXPECT_EQ(Calls(), std::vector<std::string>{"echo a"});
  EXPECT_EQ(result.message, "step b is waiting for approval: rerun with --yes or --approve b");
}

TEST_F(EngineTest, GateWithoutTerminalSaysOnceWhichStepWaitsForApproval) {
  struct Waiting : RunObserver {
    void OnAttemptFinished(const ItemRef&, const AttemptEnd& end) override {
      events.push_back("finished " + end.message.substr(0, 14));
    }
    void OnApprovalNeeded(const ItemRef& item, const std::string& step,
                          std::string_view message) override {
      events.push_back(fmt::format("waiting {} {} {}", step, item.ordinal, message.substr(0, 14)));
    }
    std::vector<std::string> events;
  } waiting;
  extra_observer_ = &waiting;
  auto result = RunBook(
      "## A\n```bash\necho a\n```\n## Ship it\n```bash\nls\n```\n"
      "```bash { confirm }\necho b\n```\n");
  EXPECT_EQ(result.status, RunStatus::kWaiting);
  EXPECT_THAT(waiting.events,
              ::testing::ElementsAre("finished ", "finished ", "finished waiting for ap",
                                     "waiting ship-it 2 waiting for ap"));
}

TEST_F(EngineTest, YesApprovesEveryGateAndSaysSo) {
  EngineOptions options;
  options.yes = true;
  options.user = "alice";
  auto result =
      RunBook("## B\n```bash { confirm }\necho b\n```\n## C\n- [ ] DBA online\n", options);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.steps[0].items[0].status, StepStatus::kApproved);
  EXPECT_EQ(result.steps[0].items[0].message, "approved by alice (--yes)");
}

TEST_F(EngineTest, ApproveNamesOneStep) {
  EngineOptions options;
  options.approve = {"b"};
  auto result = RunBook(
      "## B\n```bash { confirm }\necho b\n```\n## C\n```bash { confirm }\nc\n```\n", options);
  EXPECT_EQ(result.status, RunStatus::kWaiting);
  EXPECT_EQ(Calls(), std::vector<std::string>{"echo b"});
}

TEST_F(EngineTest, DeclinedGateFailsAndRollsBack) {
  prompter_.available_ = true;
  prompter_.answers = {"n"};
  auto result = RunBook(
      "## A\n```bash\necho a\n```\n**Rollback:**\n```bash\nundo-a\n```\n"
      "## B\n```bash { confirm }\necho b\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "undo-a"}));
}

TEST_F(EngineTest, ManualStepIsConfirmedNotRun) {
  prompter_.available_ = true;
  prompter_.answers = {"y"};
  auto result = RunBook("## Announce\n<!-- stagecraft: manual -->\n```bash\npost-to-chat\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(runner_.calls.empty());
  EXPECT_EQ(result.steps[0].status, StepStatus::kApproved);
}

TEST_F(EngineTest, IgnoredFailureDoesNotFailTheStep) {
  runner_.On({"optional", 1});
  auto result = RunBook("## A\n```bash { ignore }\noptional\n```\n```bash\nnext\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(runner_.calls.size(), 2u);
}

TEST_F(EngineTest, SkippedBlocksAndStepsDoNotRun) {
  auto result = RunBook(
      "## A\n```bash { skip }\nnope\n```\n## B\n<!-- stagecraft: skip -->\n```bash\nnope\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(runner_.calls.empty());
}

TEST_F(EngineTest, ProtectedEnvironmentNeedsItsNameTyped) {
  auto book = std::string(
      "---\nenvironments:\n  production: { protected: true }\n---\n## A\n```bash\ndeploy\n```\n");
  auto refused = RunBook(book, {}, "production");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(runner_.calls.empty());
  EXPECT_NE(refused.message.find("--confirm-env production"), std::string::npos);

  prompter_.available_ = true;
  prompter_.answers = {"production"};
  auto confirmed = RunBook(book, {}, "production");
  EXPECT_EQ(confirmed.exit_code, 0);
}

TEST_F(EngineTest, MissingRequiredToolStopsBeforeAnything) {
  runner_.On({"command -v terraform", 127});
  auto result = RunBook("---\nrequires: [terraform >= 1.0]\n---\n## A\n```bash\ndeploy\n```\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.message, "book.md:2: requires terraform, which is not installed (not on PATH)");
}

TEST_F(EngineTest, TooOldToolStopsBeforeAnything) {
  runner_.On({"command -v terraform", 0, "Terraform v0.14.2\non linux_amd64\n"});
  auto result = RunBook("---\nrequires: [terraform >= 1.0]\n---\n## A\n```bash\ndeploy\n```\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.message, "book.md:2: requires terraform >= 1.0, found 0.14.2");
}

TEST_F(EngineTest, SecretFromCommandIsMaskedInTheConsole) {
  runner_.On({"vault read", 0, "s3cr3t-value\n"});
  runner_.On({"echo", 0, "password is s3cr3t-value\n"});
  auto result = RunBook(
      "---\nsecrets:\n  DB_PASSWORD: { command: vault read db }\n---\n## A\n```bash\necho\n```\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(runner_.variables["DB_PASSWORD"], "s3cr3t-value");
  EXPECT_EQ(console_text_.find("s3cr3t-value"), std::string::npos) << console_text_;
  EXPECT_NE(console_text_.find("password is ***"), std::string::npos) << console_text_;
}

TEST_F(EngineTest, FailedSuccessCriterionRollsBack) {
  runner_.On({"check-health", 1});
  auto result = RunBook(
      "## A\n```bash\necho a\n```\n**Rollback:**\n```bash\nundo-a\n```\n"
      "## Success Criteria\n- [ ] healthy\n  ```bash\n  check-health\n  ```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo a", "check-health", "undo-a"}));
}

TEST_F(EngineTest, VerificationFailureFailsTheStep) {
  runner_.On({"grep -q", 1});
  auto result = RunBook(
      "## A\n```bash\nwrite-config\n```\n**Verification:**\n```bash\ngrep -q key config\n```\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.steps[0].items[0].message.find("verification (line 6)"), std::string::npos);
}

TEST_F(EngineTest, TranscriptCommandsRunOneByOne) {
  runner_.On({"terraform validate", 0, "Success! The configuration is valid.\n"});
  auto result = RunBook(
      "## V\n```bash\n$ terraform validate\nSuccess! The configuration is valid.\n$ terraform fmt "
      "-check\n```\n");
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(Calls(), (std::vector<std::string>{"terraform validate", "terraform fmt -check"}));
}

TEST_F(EngineTest, ScopeMergesFrontMatterEnvironmentAndCliVars) {
  parsed_ = runbook::ParseRunbook(
      "book.md",
      "---\nvars: { A: front, B: front }\nenvironments:\n  s: { vars: { B: env, C: env } }\n---\n");
  EngineOptions options;
  options.environment = parsed_.runbook.FindEnvironment("s");
  options.cli_vars = {{"C", "cli"}};
  FILE* out = std::fopen("/dev/null", "w");
  Console console(out, {});
  Engine engine(parsed_.runbook, runner_, prompter_, nullptr, options, {&console});
  EXPECT_EQ(engine.Scope(),
            (std::map<std::string, std::string>{{"A", "front"}, {"B", "env"}, {"C", "cli"}}));
  std::fclose(out);
}

TEST_F(EngineTest, SkippedBlockNeedsNoInterpreter) {
  runner_.missing_interpreters = {"python3"};
  auto result = RunBook("## A\n```bash\ndeploy\n```\n```python { skip }\nprint(1)\n```\n");
  EXPECT_EQ(result.exit_code, 0) << result.message;
  EXPECT_EQ(Calls(), std::vector<std::string>{"deploy"});
}

TEST_F(EngineTest, MissingInterpreterStopsBeforeAnything) {
  runner_.missing_interpreters = {"python3"};
  auto result = RunBook("## A\n```bash\ndeploy\n```\n## B\n```python\nprint(1)\n```\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.message, "book.md:6: interpreter 'python3' is not installed (not on PATH)");
  EXPECT_TRUE(runner_.calls.empty());
}

// --- Journaling ---

class JournaledEngineTest : public EngineTest {
 protected:
  void SetUp() override {
    auto options = journal::testing::ScratchOptions(dir_.path());
    journal_ = journal::testing::OpenOrDie(options);
    ASSERT_TRUE(journal_);
    journal::RunRecord run;
    run.runbook_path = "/book.md";
    auto created = journal_->CreateRun(run);
    ASSERT_TRUE(created.ok());
    run_id_ = created.value().id;
  }
  EngineOptions Journaled(EngineOptions options = {}) {
    journal_for_run_ = journal_.get();
    run_id_for_run_ = run_id_;
    return options;
  }
  std::map<std::string, StepStatus> Statuses() {
    std::map<std::string, StepStatus> statuses;
    for (const auto& step : journal_->ListSteps(run_id_).value())
      statuses[step.key] = step.status;
    return statuses;
  }
  std::string AllOutput() {
    std::string out;
    journal::OutputQuery query;
    query.run_id = run_id_;
    EXPECT_TRUE(journal_
                    ->ReadOutput(query,
                                 [&](const journal::OutputChunk& chunk) {
                                   out += chunk.bytes;
                                   return true;
                                 })
                    .ok());
    return out;
  }

  journal::testing::TempDir dir_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::string run_id_;
};

TEST_F(JournaledEngineTest, StepsItemsAndRollbackAreRecordedUnderStableKeys) {
  runner_.On({"echo two", 1, "two broke\n"});
  RunBook(kThreeSteps, Journaled());
  using S = StepStatus;
  EXPECT_EQ(Statuses(), (std::map<std::string, S>{{"one", S::kSucceeded},
                                                  {"one/1", S::kSucceeded},
                                                  {"two", S::kFailed},
                                                  {"two/1", S::kFailed},
                                                  {"three", S::kPending},
                                                  {"rollback/1", S::kSucceeded},
                                                  {"rollback/2", S::kSucceeded},
                                                  {"rollback/3", S::kSucceeded}}));
  EXPECT_EQ(AllOutput(), "two broke\n");
  auto attempts = journal_->ListAttempts(run_id_).value();
  auto failed = std::find_if(attempts.begin(), attempts.end(),
                             [](const auto& a) { return a.step_key == "two/1"; });
  ASSERT_NE(failed, attempts.end());
  EXPECT_EQ(failed->exit_code, 1);
  EXPECT_EQ(failed->message.substr(0, failed->message.find('\n')), "exited with status 1");
}

TEST_F(JournaledEngineTest, EveryRetryIsAnAttempt) {
  runner_.On({"flaky", 1, "", ProcessOutcome::Kind::kExited, 2});
  RunBook("## A\n```bash {retries=3 delay=0s}\nflaky\n```\n", Journaled());
  auto steps = journal_->ListSteps(run_id_).value();
  auto item =
      std::find_if(steps.begin(), steps.end(), [](const auto& s) { return s.key == "a/1"; });
  ASSERT_NE(item, steps.end());
  EXPECT_EQ(item->attempts, 3);
  EXPECT_EQ(item->status, StepStatus::kSucceeded);
}

TEST_F(JournaledEngineTest, ApprovalIsRecordedWithWhoAndHow) {
  EngineOptions options;
  options.yes = true;
  options.user = "alice";
  RunBook("## A\n- [ ] the change window is open\n", Journaled(options));
  auto approvals = journal_->ListApprovals(run_id_).value();
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0].who, "alice");
  EXPECT_EQ(approvals[0].how, ApprovalMethod::kYesFlag);
  EXPECT_EQ(approvals[0].step_key, "a/1");
}

TEST_F(JournaledEngineTest, SecretsNeverReachTheJournalFile) {
  runner_.On({"vault read", 0, "canary:7f3e@9b\n"});
  runner_.On({"show", 0, "token canary:7f3e@9b and Y2FuYXJ5OjdmM2VAOWI= and canary%3A7f3e%409b\n"});
  RunBook(
      "---\nsecrets:\n  API_TOKEN: { command: vault read }\n---\n## A\n```bash {capture=OUT}\n"
      "show\n```\n",
      Journaled());
  EXPECT_EQ(AllOutput(), "token *** and *** and ***\n");
  journal_.reset();  // closes the database, checkpointing the WAL into it
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    std::ifstream file(entry.path(), std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_EQ(raw.find("canary:7f3e@9b"), std::string::npos) << entry.path();
    EXPECT_EQ(raw.find("Y2FuYXJ5OjdmM2VAOWI"), std::string::npos) << entry.path();
    EXPECT_EQ(raw.find("canary%3A7f3e%409b"), std::string::npos) << entry.path();
  }
}

TEST_F(JournaledEngineTest, CompletedStepsAreNotRunAgainButStillUndone) {
  runner_.On({"echo two", 1});
  EngineOptions options;
  options.completed_steps = {"one"};
  auto result = RunBook(kThreeSteps, Journaled(options));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo two", "echo undo-two", "echo undo-one",
                                               "echo procedure"}));
}

TEST_F(JournaledEngineTest, LostOutputStopsBeforeTheNextStep) {
  // A journal that cannot grow: the step's output does not fit, so the run must not go on
  // to step two unjournaled.
  auto capped = journal::testing::ScratchOptions(dir_.path());
  journal_.reset();
  auto pages =
      std::stoll(journal::testing::RawDb(dir_.path() + "/journal.db").Query("PRAGMA page_count"));
  capped.max_pages = pages + 2;
  journal_ = journal::testing::OpenOrDie(capped);
  runner_.On({"echo one", 0, std::string(1 << 20, 'x') + "\n"});
  auto result = RunBook(kThreeSteps, Journaled());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.message.find("the journal cannot be written"), std::string::npos)
      << result.message;
  EXPECT_EQ(Calls(), (std::vector<std::string>{"echo one"}));
}

}  // namespace
}  // namespace stagecraft::engine
