#include "journal/sqlite_journal.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using namespace ::stagecraft::journal::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// --- Runs ---

TEST_F(SqliteJournalTest, CreateRunFillsIdStartAndIdentity) {
  TimeMs before = NowMs();
  RunRecord run = CreateOrDie(*journal);
  EXPECT_THAT(run.id, MatchesRegex("[0-9]{8}-[0-9]{6}-[0-9a-f]{6}"));
  EXPECT_GE(run.started_at, before);
  EXPECT_EQ(run.pid, getpid());
  EXPECT_EQ(run.host, CurrentIdentity().host);
  EXPECT_FALSE(run.user.empty());
  EXPECT_EQ(run.status, RunStatus::kRunning);
}

TEST_F(SqliteJournalTest, RunRoundTripsEveryField) {
  RunRecord run = SampleRun();
  run.id = "20261122-153012-ab12cd";
  run.user = "alice";
  run.host = "bastion";
  run.pid = 4242;
  run.started_at = 1'700'000'000'123;
  EXPECT_EQ(CreateOrDie(*journal, run), run);

  nlohmann::json scope = {{"LAYER_ARN", "arn:aws:lambda:us-east-1:1:layer:x:3"}, {"N", 4}};
  ASSERT_TRUE(journal->UpdateScope(run.id, scope).ok());
  ASSERT_TRUE(journal->FinishRun(run.id, RunStatus::kRollbackFailed, 3, 1'700'000'999'000).ok());

  RunRecord expected = run;
  expected.scope = scope;
  expected.status = RunStatus::kRollbackFailed;
  expected.exit_code = 3;
  expected.ended_at = 1'700'000'999'000;
  EXPECT_EQ(Ok(journal->GetRun(run.id)), expected);
}

TEST_F(SqliteJournalTest, EveryRunStatusRoundTrips) {
  for (RunStatus status : {RunStatus::kRunning, RunStatus::kSucceeded, RunStatus::kFailed,
                           RunStatus::kRolledBack, RunStatus::kRollbackFailed,
                           RunStatus::kInterrupted, RunStatus::kStopped, RunStatus::kWaiting}) {
    RunRecord run = CreateOrDie(*journal);
    ASSERT_TRUE(journal->FinishRun(run.id, status, 0).ok());
    EXPECT_EQ(Ok(journal->GetRun(run.id)).status, status) << Name(status);
  }
}

TEST_F(SqliteJournalTest, ARunWaitingAttachedIsMarkedAndUnmarked) {
  RunRecord run = CreateOrDie(*journal);
  ASSERT_TRUE(journal->MarkWaiting(run.id, true).ok());
  RunRecord waiting = Ok(journal->GetRun(run.id));
  EXPECT_EQ(waiting.status, RunStatus::kWaiting);
  EXPECT_FALSE(waiting.ended_at);
  ASSERT_TRUE(journal->MarkWaiting(run.id, false).ok());
  EXPECT_EQ(Ok(journal->GetRun(run.id)).status, RunStatus::kRunning);
  EXPECT_EQ(journal->MarkWaiting("nope", true).message(), "journal: no run nope");
}

TEST_F(SqliteJournalTest, UnknownRunsAndAttemptsAreNamedInTheError) {
  EXPECT_EQ(journal->GetRun("nope").error(), "journal: no run nope");
  EXPECT_EQ(journal->FinishRun("nope", RunStatus::kFailed, 1).message(), "journal: no run nope");
  EXPECT_EQ(journal->UpdateScope("nope", {}).message(), "journal: no run nope");
  EXPECT_EQ(journal->ListAttempts("nope").error(), "journal: no run nope");
  EXPECT_EQ(journal->ReopenRun("nope", {}).message(), "journal: no run nope");
  AttemptRecord attempt;
  attempt.run_id = "nope";
  attempt.step_key = "a";
  EXPECT_EQ(journal->BeginAttempt(attempt).error(), "journal: no run nope");
  EXPECT_EQ(journal->EndAttempt(999, {}).message(), "journal: no attempt 999");
  EXPECT_EQ(journal->AppendOutput(42, Stream::kStdout, "x").message(), "journal: no attempt 42");
  EXPECT_EQ(
      journal->ReadOutput(RunOutput("nope"), [](const OutputChunk&) { return true; }).message(),
      "journal: no run nope");
  ApprovalRecord approval;
  approval.run_id = "nope";
  EXPECT_EQ(journal->RecordApproval(approval).error(), "journal: no run nope");
}

TEST_F(SqliteJournalTest, CallerChosenRunIdMustBeUnused) {
  RunRecord run = SampleRun();
  run.id = "20261122-153012-000000";
  CreateOrDie(*journal, run);
  Result<RunRecord> again = journal->CreateRun(run);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "journal: a run with id 20261122-153012-000000 already exists");
}

TEST_F(SqliteJournalRunTest, ReopenRunClearsTheEndAndCountsResumes) {
  ASSERT_TRUE(journal->FinishRun(run.id, RunStatus::kInterrupted, 130).ok());
  ASSERT_TRUE(journal->ReopenRun(run.id, ProcessIdentity{"bob", "ci-7", 777}).ok());
  RunRecord stored = Ok(journal->GetRun(run.id));
  EXPECT_EQ(stored.status, RunStatus::kRunning);
  EXPECT_EQ(stored.ended_at, std::nullopt);
  EXPECT_EQ(stored.exit_code, std::nullopt);
  EXPECT_EQ(stored.user, "bob");
  EXPECT_EQ(stored.host, "ci-7");
  EXPECT_EQ(stored.pid, 777);
  EXPECT_EQ(stored.resumes, 1);
}

// The ids of `runs`, in order.
std::vector<std::string> Ids(const std::vector<RunRecord>& runs) {
  std::vector<std::string> ids;
  for (const RunRecord& run : runs)
    ids.push_back(run.id);
  return ids;
}

TEST_F(SqliteJournalTest, ListRunsIsNewestFirstWithLimitAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    RunRecord run = SampleRun();
    run.started_at = 1'000'000 + i * 1000;
    run.environment = i % 2 ? "production" : "staging";
    ids.push_back(CreateOrDie(*journal, run).id);
  }
  ASSERT_TRUE(journal->FinishRun(ids[4], RunStatus::kSucceeded, 0).ok());

  RunQuery newest;
  newest.limit = 3;
  EXPECT_THAT(Ids(Ok(journal->ListRuns(newest))), ElementsAre(ids[4], ids[3], ids[2]));

  RunQuery production;
  production.limit = 0;
  production.environment = "production";
  EXPECT_THAT(Ids(Ok(journal->ListRuns(production))), ElementsAre(ids[3], ids[1]));

  RunQuery running;
  running.status = RunStatus::kRunning;
  running.runbook_path = "/srv/deploy/phase4.md";
  EXPECT_EQ(Ok(journal->ListRuns(running)).size(), 4u);
}

TEST_F(SqliteJournalTest, LatestRunPicksTheNewestOfThatRunbookAndEnvironment) {
  std::string newer_id;
  for (TimeMs started_at : {1000, 2000, 3000}) {
    RunRecord run = SampleRun();
    run.started_at = started_at;
    if (started_at == 3000) run.environment = "production";
    std::string id = CreateOrDie(*journal, run).id;
    if (started_at == 2000) newer_id = id;
  }

  std::optional<RunRecord> latest = Ok(journal->LatestRun(SampleRun().runbook_path, "staging"));
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, newer_id);
  EXPECT_FALSE(Ok(journal->LatestRun("/elsewhere.md", "staging")).has_value());
}

TEST_F(SqliteJournalTest, ListRunsOverTenThousandRunsReturnsTheNewestThroughAnIndex) {
  // Start times deliberately out of insertion order.
  for (int i = 0; i < 10'000; ++i) {
    RunRecord run = SampleRun();
    run.id = fmt::format("run-{:05}", i);
    run.started_at = 1'000'000 + static_cast<int64_t>((i * 7919) % 10'000) * 1000;
    ASSERT_TRUE(journal->CreateRun(run).ok());
  }
  RunQuery query;
  query.limit = 3;
  std::vector<RunRecord> runs = Ok(journal->ListRuns(query));
  ASSERT_EQ(runs.size(), 3u);
  for (int rank = 0; rank < 3; ++rank)
    EXPECT_EQ(runs[rank].started_at, 1'000'000 + (9'999 - rank) * 1000);

  // No timing assertion: the plan itself shows the query walks an index, not a sort.
  RawDb raw(journal->path());
  std::string plan = raw.QueryAll(
      "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE 1 ORDER BY started_at DESC, id DESC LIMIT 3",
      3);
  EXPECT_THAT(plan, HasSubstr("runs_by_start"));
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("TEMP B-TREE")));
  plan = raw.QueryAll(
      "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE 1 AND runbook_path = 'x' AND "
      "environment = 'y' ORDER BY started_at DESC, id DESC LIMIT 1",
      3);
  EXPECT_THAT(plan, HasSubstr("runs_by_runbook"));
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("TEMP B-TREE")));
}

TEST_F(SqliteJournalTest, ResolveRunIdAcceptsAUniquePrefix) {
  for (const char* id :
       {"20261122-153012-aaaaaa", "20261122-153012-abbbbb", "20261123-090000-cccccc"}) {
    RunRecord run = SampleRun();
    run.id = id;
    CreateOrDie(*journal, run);
  }
  EXPECT_EQ(*journal->ResolveRunId("20261123"), "20261123-090000-cccccc");
  EXPECT_EQ(*journal->ResolveRunId("20261122-153012-abbbbb"), "20261122-153012-abbbbb");
  EXPECT_EQ(journal->ResolveRunId("20261122").error(),
            "journal: '20261122' matches several runs: 20261122-153012-abbbbb, "
            "20261122-153012-aaaaaa");
  EXPECT_EQ(journal->ResolveRunId("2027").error(), "journal: no run matches '2027'");
  EXPECT_EQ(journal->ResolveRunId("").error(), "journal: empty run id");
}

// --- Steps and attempts ---

TEST_F(SqliteJournalRunTest, PlannedStepsRoundTripAndReplanningKeepsStatus) {
  StepRecord check{run.id,          "preflight/aws-cli", "",           1,   "Pre-deployment",
                   "aws --version", StepKind::kCheck,    std::nullopt, "h0"};
  StepRecord deploy{run.id,          "deploy/publish-layer", "",      2,   "Step 2",
                    "Publish layer", StepKind::kStep,        180'000, "h1"};
  StepRecord manual{run.id,        "signoff/qa",      "",           3,   "Sign-off",
                    "QA approves", StepKind::kManual, std::nullopt, "h2"};
  ASSERT_TRUE(journal->PlanSteps(run.id, {check, deploy, manual}).ok());
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "deploy/publish-layer");
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());

  // A resume plans again with a changed title and hash.
  deploy.title = "Publish the layer";
  deploy.content_hash = "h1b";
  ASSERT_TRUE(journal->PlanSteps(run.id, {check, deploy, manual}).ok());

  StepRecord deploy_now = deploy;
  deploy_now.status = StepStatus::kFailed;
  deploy_now.attempts = 1;
  EXPECT_THAT(Ok(journal->ListSteps(run.id)), ElementsAre(check, deploy_now, manual));
}

// Order comes from the parent and ordinal columns, not from the keys' spelling or the order
// of insertion: each step, then its items, then the rollback blocks.
TEST_F(SqliteJournalRunTest, StepsListInHierarchyOrderWhateverTheirKeys) {
  auto record = [&](std::string key, std::string parent, int ordinal, StepKind kind) {
    StepRecord step;
    step.run_id = run.id;
    step.key = std::move(key);
    step.parent_key = std::move(parent);
    step.ordinal = ordinal;
    step.kind = kind;
    return step;
  };
  ASSERT_TRUE(journal
                  ->PlanSteps(run.id, {record("x", "b", 1, StepKind::kCheck),
                                       record("b", "", 2, StepKind::kStep),
                                       record("z", "a/1", 2, StepKind::kVerification),
                                       record("a/1", "", 1, StepKind::kStep),
                                       record("y", "a/1", 1, StepKind::kStep)})
                  .ok());
  // Rollback blocks are planned when they start, here in reverse.
  for (StepRecord block :
       {record("r2", "", 2, StepKind::kRollback), record("r1", "", 1, StepKind::kCompensation)}) {
    AttemptRecord attempt;
    attempt.run_id = run.id;
    attempt.step_key = block.key;
    attempt.ordinal = block.ordinal;
    attempt.kind = block.kind;
    ASSERT_TRUE(journal->BeginAttempt(attempt).ok());
  }
  std::vector<std::string> order;
  for (const StepRecord& step : Ok(journal->ListSteps(run.id)))
    order.push_back(step.key + "<" + step.parent_key);
  EXPECT_THAT(order, ElementsAre("a/1<", "y<a/1", "z<a/1", "b<", "x<b", "r1<", "r2<"));
}

TEST_F(SqliteJournalRunTest, AttemptRoundTripsEveryField) {
  AttemptRecord attempt;
  attempt.run_id = run.id;
  attempt.step_key = "deploy/publish-layer";
  attempt.parent_key = "deploy";
  attempt.ordinal = 4;
  attempt.phase = "Step 2: Lambda Layer Deployment";
  attempt.title = "Publish layer";
  attempt.kind = StepKind::kCompensation;
  attempt.started_at = 1'700'000'000'000;
  attempt.budget_ms = 180'000;
  AttemptRecord begun = Ok(journal->BeginAttempt(attempt));
  EXPECT_GT(begun.id, 0);
  EXPECT_EQ(begun.attempt, 1);
  EXPECT_EQ(begun.status, StepStatus::kRunning);

  AttemptOutcome outcome;
  outcome.status = StepStatus::kFailed;
  outcome.ended_at = 1'700'000'004'500;
  outcome.signal = 15;
  outcome.message = "expected output not found: 'LayerVersionArn'";
  outcome.detail = "- LayerVersionArn\n+ (no output)\n";
  outcome.captures = {{"LAYER_ARN", "arn:aws:lambda:us-east-1:1:layer:x:3"}};
  ASSERT_TRUE(journal->EndAttempt(begun.id, outcome).ok());

  AttemptRecord expected = attempt;
  expected.id = begun.id;
  expected.attempt = 1;
  expected.status = StepStatus::kFailed;
  expected.ended_at = outcome.ended_at;
  expected.signal = 15;
  expected.message = outcome.message;
  expected.detail = outcome.detail;
  expected.captures = outcome.captures;
  EXPECT_THAT(Ok(journal->ListAttempts(run.id)), ElementsAre(expected));
}

TEST_F(SqliteJournalRunTest, EveryStepStatusAndKindRoundTrips) {
  const std::vector<StepKind> kinds = {StepKind::kStep,     StepKind::kCheck,
                                       StepKind::kManual,   StepKind::kVerification,
                                       StepKind::kRollback, StepKind::kCompensation};
  const std::vector<StepStatus> statuses = {
      StepStatus::kPending, StepStatus::kRunning,  StepStatus::kSucceeded,  StepStatus::kFailed,
      StepStatus::kSkipped, StepStatus::kApproved, StepStatus::kInterrupted};
  for (size_t i = 0; i < statuses.size(); ++i) {
    AttemptRecord attempt;
    attempt.run_id = run.id;
    attempt.step_key = fmt::format("s{}", i);
    attempt.kind = kinds[i % kinds.size()];
    attempt.exit_code = static_cast<int>(i);
    AttemptRecord begun = Ok(journal->BeginAttempt(attempt));
    EXPECT_EQ(begun.kind, attempt.kind);
    EXPECT_EQ(begun.exit_code, attempt.exit_code);
    ASSERT_TRUE(journal->EndAttempt(begun.id, Outcome(statuses[i])).ok());
  }
  std::vector<StepRecord> steps = Ok(journal->ListSteps(run.id));
  ASSERT_EQ(steps.size(), statuses.size());
  for (const StepRecord& step : steps) {
    size_t i = std::stoul(step.key.substr(1));
    EXPECT_EQ(step.status, statuses[i]) << Name(statuses[i]);
    EXPECT_EQ(step.kind, kinds[i % kinds.size()]);
  }
}

TEST_F(SqliteJournalRunTest, AttemptNumbersCountPerStep) {
  EXPECT_EQ(BeginOrDie(*journal, run.id, "a").attempt, 1);
  EXPECT_EQ(BeginOrDie(*journal, run.id, "a").attempt, 2);
  EXPECT_EQ(BeginOrDie(*journal, run.id, "b").attempt, 1);
  EXPECT_EQ(BeginOrDie(*journal, run.id, "a").attempt, 3);
}

TEST_F(SqliteJournalOptionsTest, BeginAttemptIsVisibleToASecondConnectionImmediately) {
  Open(Durable());

  // Nothing between BeginAttempt returning and this read: the engine spawns right here.
  std::vector<AttemptRecord> seen = Ok(reader->ListAttempts(run.id));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, attempt.id);
  EXPECT_EQ(seen[0].status, StepStatus::kRunning);
  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("SELECT status FROM attempts"), "running");
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteJournalOptionsTest, AttemptBegunJustBeforeACrashSurvivesIt) {
  int status = RunInACrashingChild(Durable(), "deploy/apply", [](Journal& journal, int64_t id) {
    journal.AppendOutput(id, Stream::kStdout, "buffered, not yet flushed");
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 0);

  journal = OpenOrDie(Durable());
  std::vector<RunRecord> runs = Ok(journal->ListRuns({}));
  ASSERT_EQ(runs.size(), 1u);
  std::vector<AttemptRecord> attempts = Ok(journal->ListAttempts(runs[0].id));
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].status, StepStatus::kRunning);
  EXPECT_EQ(attempts[0].ended_at, std::nullopt);
}

TEST_F(SqliteJournalRunTest, InvalidUtf8InCapturesIsStoredInsteadOfThrowing) {
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "a");
  AttemptOutcome outcome;
  outcome.captures = {{"RAW", std::string("caf\xff")}};
  ASSERT_TRUE(journal->EndAttempt(attempt.id, outcome).ok());
  std::vector<AttemptRecord> attempts = Ok(journal->ListAttempts(run.id));
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].captures["RAW"], "caf\xEF\xBF\xBD");  // U+FFFD
}

// --- Approvals ---

TEST_F(SqliteJournalRunTest, ApprovalsRoundTripInOrder) {
  std::vector<ApprovalRecord> recorded = {
      {0, run.id, "deploy/apply", "alice", 1000, ApprovalMethod::kPrompt,
       ApprovalDecision::kApproved, "looks good"},
      {0, run.id, "signoff/qa", "ci", 2000, ApprovalMethod::kYesFlag, ApprovalDecision::kApproved,
       ""},
      {0, run.id, "signoff/prod", "bob", 3000, ApprovalMethod::kCommand,
       ApprovalDecision::kRejected, "not during the freeze"},
  };
  for (ApprovalRecord& approval : recorded) {
    ApprovalRecord stored = Ok(journal->RecordApproval(approval));
    EXPECT_GT(stored.id, 0);
    approval.id = stored.id;
  }
  EXPECT_EQ(Ok(journal->ListApprovals(run.id)), recorded);
}

TEST_F(SqliteJournalRunTest, ApprovalWithoutTimeGetsNow) {
  ApprovalRecord approval;
  approval.run_id = run.id;
  approval.step_key = "gate";
  approval.who = "alice";
  TimeMs before = NowMs();
  EXPECT_GE(Ok(journal->RecordApproval(approval)).at, before);
}

}  // namespace
}  // namespace stagecraft::journal
