#include "journal/sqlite_journal.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "journal/output_files.h"
#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::OpenOrDie;
using ::stagecraft::journal::testing::RawDb;
using ::stagecraft::journal::testing::ScratchOptions;
using ::stagecraft::journal::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

RunRecord SampleRun() {
  RunRecord run;
  run.runbook_path = "/srv/deploy/phase4.md";
  run.runbook_hash = "9f86d081884c7d65";
  run.structure_hash = "2c26b46b68ffc68f";
  run.environment = "staging";
  run.cwd = "/srv/deploy";
  run.scope = {{"AWS_REGION", "us-east-1"}, {"DB_HOST", "staging-db.internal"}};
  run.options = {{"on_failure", "rollback"}, {"yes", false}};
  return run;
}

// The value of `result`, which the test expects to be OK; T() when it is not.
template <typename T>
T Ok(Result<T> result) {
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error());
  return result.ok() ? std::move(result).value() : T();
}

RunRecord CreateOrDie(Journal& journal, RunRecord run = SampleRun()) {
  return Ok(journal.CreateRun(std::move(run)));
}

AttemptRecord BeginOrDie(Journal& journal, const std::string& run_id, const std::string& key) {
  AttemptRecord attempt;
  attempt.run_id = run_id;
  attempt.step_key = key;
  return Ok(journal.BeginAttempt(attempt));
}

std::vector<OutputChunk> ReadChunks(Journal& journal, const OutputQuery& query) {
  std::vector<OutputChunk> chunks;
  Status status = journal.ReadOutput(query, [&](const OutputChunk& chunk) {
    chunks.push_back(chunk);
    return true;
  });
  EXPECT_TRUE(status.ok()) << status.message();
  return chunks;
}

// All output `query` selects, concatenated.
std::string ReadAll(Journal& journal, const OutputQuery& query) {
  std::string all;
  for (const OutputChunk& chunk : ReadChunks(journal, query))
    all += chunk.bytes;
  return all;
}

AttemptOutcome Outcome(StepStatus status) {
  AttemptOutcome outcome;
  outcome.status = status;
  return outcome;
}

OutputQuery RunOutput(const std::string& run_id) {
  OutputQuery query;
  query.run_id = run_id;
  return query;
}

int64_t FileSize(const std::string& path) {
  std::error_code error;
  auto size = std::filesystem::file_size(path, error);
  return error ? -1 : static_cast<int64_t>(size);
}

// A scratch journal in a directory of its own.
class SqliteJournalTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(ScratchOptions(dir.path()));
};

// The same with a run in it.
class SqliteJournalRunTest : public SqliteJournalTest {
 protected:
  RunRecord run = CreateOrDie(*journal);
};

// For tests that choose the settings: Open() makes `journal` and `reader`, two connections
// to the journal in `dir`, a run and its attempt "a".
class SqliteJournalOptionsTest : public ::testing::Test {
 protected:
  void Open(const SqliteJournal::Options& options) {
    journal = OpenOrDie(options);
    reader = OpenOrDie(options);
    run = CreateOrDie(*journal);
    attempt = BeginOrDie(*journal, run.id, "a");
  }
  Status Append(Stream stream, std::string_view bytes) {
    return journal->AppendOutput(attempt.id, stream, bytes);
  }
  std::string Read() { return ReadAll(*reader, RunOutput(run.id)); }
  // The settings of a real run: durable, fsynced.
  SqliteJournal::Options Durable() const {
    SqliteJournal::Options options;
    options.dir = dir.path();
    return options;
  }

  TempDir dir;
  std::unique_ptr<SqliteJournal> journal;
  std::unique_ptr<SqliteJournal> reader;
  RunRecord run;
  AttemptRecord attempt;
};

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
  for (RunStatus status :
       {RunStatus::kRunning, RunStatus::kSucceeded, RunStatus::kFailed, RunStatus::kRolledBack,
        RunStatus::kRollbackFailed, RunStatus::kInterrupted, RunStatus::kStopped}) {
    RunRecord run = CreateOrDie(*journal);
    ASSERT_TRUE(journal->FinishRun(run.id, status, 0).ok());
    EXPECT_EQ(Ok(journal->GetRun(run.id)).status, status) << Name(status);
  }
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

// Forks a child that opens a journal with `options`, creates a run, begins an attempt of
// `step_key`, calls `crash` and then dies without any cleanup, as a crash would (unless
// `crash` kills it first). Returns the child's wait status.
int RunInACrashingChild(const SqliteJournal::Options& options, const std::string& step_key,
                        const std::function<void(Journal&, int64_t attempt_id)>& crash) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    auto journal = SqliteJournal::Open(options);
    if (!journal.ok()) _exit(2);
    Result<RunRecord> run = (*journal)->CreateRun(SampleRun());
    if (!run.ok()) _exit(3);
    AttemptRecord attempt;
    attempt.run_id = run->id;
    attempt.step_key = step_key;
    Result<AttemptRecord> begun = (*journal)->BeginAttempt(attempt);
    if (!begun.ok()) _exit(4);
    crash(**journal, begun->id);
    _exit(0);
  }
  int status = 0;
  return waitpid(child, &status, 0) == child ? status : -1;
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

// --- Output ---

TEST_F(SqliteJournalRunTest, ManySmallAppendsReadBackInOrderByteExactIncludingNul) {
  AttemptRecord first = BeginOrDie(*journal, run.id, "a");
  std::string expected_all;
  std::string expected_stdout;
  for (int i = 0; i < 20'000; ++i) {
    std::string piece = fmt::format("line {}", i);
    piece.push_back('\0');
    piece.push_back(static_cast<char>(i & 0xff));
    piece.push_back('\n');
    // Mostly stdout, with stderr interleaved now and then.
    Stream stream = i % 97 == 0 ? Stream::kStderr : Stream::kStdout;
    ASSERT_TRUE(journal->AppendOutput(first.id, stream, piece).ok());
    expected_all += piece;
    if (stream == Stream::kStdout) expected_stdout += piece;
  }
  ASSERT_TRUE(journal->EndAttempt(first.id, {}).ok());
  AttemptRecord second = BeginOrDie(*journal, run.id, "b");
  ASSERT_TRUE(journal->AppendOutput(second.id, Stream::kStdout, std::string(3, '\0')).ok());
  expected_all += std::string(3, '\0');
  ASSERT_TRUE(journal->EndAttempt(second.id, {}).ok());

  EXPECT_EQ(ReadAll(*journal, RunOutput(run.id)), expected_all);
  OutputQuery only_stdout = RunOutput(run.id);
  only_stdout.step_key = "a";
  only_stdout.stream = Stream::kStdout;
  EXPECT_EQ(ReadAll(*journal, only_stdout), expected_stdout);

  // Batched: ~20k appends became a few hundred rows (a row per stream switch or 64 KiB).
  RawDb raw(journal->path());
  int rows = std::stoi(raw.Query("SELECT count(*) FROM output"));
  EXPECT_LT(rows, 500);
  EXPECT_GT(rows, 200);  // 206 stream switches
}

TEST_F(SqliteJournalRunTest, OutputChunksCarryTheirOriginAndSeq) {
  AttemptRecord a1 = BeginOrDie(*journal, run.id, "a");
  ASSERT_TRUE(journal->AppendOutput(a1.id, Stream::kStdout, "out1", 111).ok());
  ASSERT_TRUE(journal->AppendOutput(a1.id, Stream::kStderr, "err1", 112).ok());
  ASSERT_TRUE(journal->EndAttempt(a1.id, Outcome(StepStatus::kFailed)).ok());
  AttemptRecord a2 = BeginOrDie(*journal, run.id, "a");
  ASSERT_TRUE(journal->AppendOutput(a2.id, Stream::kStdout, "out2", 113).ok());
  ASSERT_TRUE(journal->EndAttempt(a2.id, {}).ok());

  std::vector<OutputChunk> chunks = ReadChunks(*journal, RunOutput(run.id));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].bytes, "out1");
  EXPECT_EQ(chunks[0].stream, Stream::kStdout);
  EXPECT_EQ(chunks[0].at, 111);
  EXPECT_EQ(chunks[0].step_key, "a");
  EXPECT_EQ(chunks[0].attempt, 1);
  EXPECT_EQ(chunks[0].attempt_id, a1.id);
  EXPECT_EQ(chunks[0].run_id, run.id);
  EXPECT_EQ(chunks[1].stream, Stream::kStderr);
  EXPECT_EQ(chunks[2].attempt, 2);
  EXPECT_LT(chunks[0].seq, chunks[1].seq);
  EXPECT_LT(chunks[1].seq, chunks[2].seq);

  // `logs -f` continues after the last seq it printed.
  OutputQuery tail = RunOutput(run.id);
  tail.after_seq = chunks[1].seq;
  EXPECT_EQ(ReadAll(*journal, tail), "out2");
  OutputQuery second_attempt = RunOutput(run.id);
  second_attempt.attempt_id = a2.id;
  EXPECT_EQ(ReadAll(*journal, second_attempt), "out2");
  OutputQuery other_step = RunOutput(run.id);
  other_step.step_key = "b";
  EXPECT_EQ(ReadAll(*journal, other_step), "");
}

TEST_F(SqliteJournalRunTest, ReadOutputStopsWhenTheCallbackSaysSo) {
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "a");
  for (auto [stream, bytes] :
       {std::pair{Stream::kStdout, "1"}, {Stream::kStderr, "2"}, {Stream::kStdout, "3"}})
    ASSERT_TRUE(journal->AppendOutput(attempt.id, stream, bytes).ok());
  int calls = 0;
  ASSERT_TRUE(
      journal->ReadOutput(RunOutput(run.id), [&](const OutputChunk&) { return ++calls < 2; }).ok());
  EXPECT_EQ(calls, 2);
}

// A flush interval no test waits for.
constexpr Millis kNever{60'000};

// Scratch settings in `dir` whose buffer is written when it reaches `flush_bytes` or its
// oldest byte is `flush_interval` old.
SqliteJournal::Options Flushing(const std::string& dir, Millis flush_interval,
                                size_t flush_bytes = SqliteJournal::Options().flush_bytes) {
  SqliteJournal::Options options = ScratchOptions(dir);
  options.flush_bytes = flush_bytes;
  options.flush_interval = flush_interval;
  return options;
}

TEST_F(SqliteJournalOptionsTest, OutputStaysBufferedUntilEndAttemptWhenBelowThresholds) {
  Open(Flushing(dir.path(), kNever));
  ASSERT_TRUE(Append(Stream::kStdout, "hello\n").ok());
  EXPECT_EQ(Read(), "");
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
  EXPECT_EQ(Read(), "hello\n");
}

TEST_F(SqliteJournalOptionsTest, OutputIsWrittenOnceTheBufferReachesFlushBytes) {
  Open(Flushing(dir.path(), kNever, 1024));
  ASSERT_TRUE(Append(Stream::kStdout, std::string(1000, 'x')).ok());
  EXPECT_EQ(Read().size(), 0u);
  ASSERT_TRUE(Append(Stream::kStdout, std::string(24, 'y')).ok());
  EXPECT_EQ(Read().size(), 1024u);
}

TEST_F(SqliteJournalOptionsTest, OutputOlderThanTheIntervalIsWrittenByTheNextAppend) {
  Open(Flushing(dir.path(), Millis(200)));
  // A step printing a line now and then: each line reaches `logs -f` with the next one,
  // not only when the step ends.
  ASSERT_TRUE(Append(Stream::kStdout, "waiting for ELB...\n").ok());
  EXPECT_EQ(Read(), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_TRUE(Append(Stream::kStdout, "still waiting\n").ok());
  EXPECT_EQ(Read(), "waiting for ELB...\nstill waiting\n");
}

TEST_F(SqliteJournalOptionsTest, BatchesKeepOrderAndEndAttemptWritesTheRest) {
  // A batch every few appends.
  Open(Flushing(dir.path(), SqliteJournal::Options().flush_interval, 1000));
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string line = fmt::format("line {} of a\n", i);
    expected += line;
    ASSERT_TRUE(Append(i % 3 ? Stream::kStdout : Stream::kStderr, line).ok());
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kSucceeded)).ok());
  // Durable: everything appended before EndAttempt is readable once it returns.
  EXPECT_EQ(Read(), expected);

  AttemptRecord second = BeginOrDie(*journal, run.id, "b");
  ASSERT_TRUE(journal->AppendOutput(second.id, Stream::kStdout, "after\n").ok());
  ASSERT_TRUE(journal->FlushOutput().ok());
  EXPECT_EQ(Read(), expected + "after\n");
}

// `options` with 64 pages of 4 KiB: room for the schema and a run, not for 1 MiB of output.
SqliteJournal::Options Capped(SqliteJournal::Options options) {
  options.max_pages = 64;
  return options;
}

std::string Lost(const std::string& path, size_t bytes) {
  return fmt::format("journal: disk full writing {}; {} bytes of output were not journaled", path,
                     bytes);
}

TEST_F(SqliteJournalOptionsTest, DiskFullIsReportedClearlyAndStepRecordsStillWork) {
  Open(Capped(ScratchOptions(dir.path())));
  Status status = journal->AppendOutput(attempt.id, Stream::kStdout, std::string(1 << 20, 'x'));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), Lost(dir.path() + "/journal.db", 1 << 20));
  // The lost batch does not poison what follows.
  EXPECT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
  EXPECT_TRUE(journal->FinishRun(run.id, RunStatus::kFailed, 1).ok());

  // A write that cannot fit at all reports the same way.
  RunRecord big = SampleRun();
  big.scope = {{"BLOB", std::string(1 << 20, 'y')}};
  EXPECT_EQ(journal->CreateRun(big).error(),
            "journal: disk full writing " + dir.path() + "/journal.db");
}

TEST_F(SqliteJournalOptionsTest, OutputLostDuringADurableCallIsReportedByTheNextFlush) {
  Open(Capped(Flushing(dir.path(), kNever, 8 << 20)));  // the append below stays buffered
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, std::string(1 << 20, 'x')).ok());
  // EndAttempt must succeed: the step record matters more than the output it carried.
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kSucceeded)).ok());
  EXPECT_EQ(journal->FlushOutput().message(), Lost(journal->path(), 1 << 20));
  EXPECT_TRUE(journal->FlushOutput().ok());  // reported once
}

TEST_F(SqliteJournalOptionsTest, OutputLostToAFullDiskIsReportedByTheAppendThatWroteIt) {
  SqliteJournal::Options options = ScratchOptions(dir.path());
  options.flush_bytes = 64 * 1024;
  Open(Capped(options));
  std::string block(16 * 1024, 'x');
  Status lost = Status::Ok();
  for (int i = 0; i < 64 && lost.ok(); ++i)
    lost = journal->AppendOutput(attempt.id, Stream::kStdout, block);
  EXPECT_THAT(lost.message(), MatchesRegex("journal: disk full writing .*; [0-9]+ bytes of "
                                           "output were not journaled"));
  EXPECT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
}

// Appends eight 64 KiB blocks of 'a' to 'h' to the attempt's stdout, one append each (a
// row each when flush_bytes is 64 KiB), and returns them joined.
std::string AppendLetterRows(Journal& journal, int64_t attempt_id) {
  std::string all;
  for (char fill = 'a'; fill < 'i'; ++fill) {
    std::string row(64 * 1024, fill);
    all += row;
    Status status = journal.AppendOutput(attempt_id, Stream::kStdout, row);
    EXPECT_TRUE(status.ok()) << status.message();
  }
  return all;
}

// Settings that send all but an attempt's first 64 KiB to its side file.
SqliteJournal::Options SideFileOptions(const std::string& dir) {
  SqliteJournal::Options options = Flushing(dir, kNever, 64 * 1024);
  options.inline_output_bytes = 64 * 1024;
  return options;
}

// A journal with `options` and a run whose step `big` printed AppendLetterRows's eight
// rows, then whose step `small` printed "done\n".
struct BigStep {
  explicit BigStep(const SqliteJournal::Options& options, bool small_step = true)
      : journal(OpenOrDie(options)),
        run(CreateOrDie(*journal)),
        attempt(BeginOrDie(*journal, run.id, "big")),
        output(AppendLetterRows(*journal, attempt.id)) {
    EXPECT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
    if (!small_step) return;
    AttemptRecord small = BeginOrDie(*journal, run.id, "small");
    EXPECT_TRUE(journal->AppendOutput(small.id, Stream::kStdout, "done\n").ok());
    EXPECT_TRUE(journal->EndAttempt(small.id, {}).ok());
  }
  std::unique_ptr<SqliteJournal> journal;
  RunRecord run;
  AttemptRecord attempt;
  std::string output;
};

// Whether the big step's rows are inline (one row per append) or all but the first in its
// side file, a tail query leaves out the earlier rows and counts their bytes.
class TailQueryTest : public ::testing::TestWithParam<bool> {};

TEST_P(TailQueryTest, LeavesOutEarlierChunksAndCountsThem) {
  TempDir dir;
  SqliteJournal::Options options =
      GetParam() ? SideFileOptions(dir.path()) : ScratchOptions(dir.path());
  options.flush_bytes = 64 * 1024;  // one full row per append
  BigStep big(options);
  RawDb raw(big.journal->path());
  ASSERT_EQ(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL"),
            GetParam() ? "7" : "0");

  OutputQuery query = RunOutput(big.run.id);
  query.tail_bytes = 100 * 1024;  // ends inside the second-to-last row, which is kept whole
  std::vector<OutputChunk> chunks = ReadChunks(*big.journal, query);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].step_key, "big");
  EXPECT_EQ(chunks[1].step_key, "big");
  EXPECT_EQ(chunks[0].skipped_before, 6 * 64 * 1024);
  EXPECT_EQ(chunks[0].bytes + chunks[1].bytes, big.output.substr(6 * 64 * 1024));
  EXPECT_EQ(chunks[1].skipped_before, 0);
  EXPECT_EQ(chunks[2].step_key, "small");
  EXPECT_EQ(chunks[2].bytes, "done\n");
  EXPECT_EQ(chunks[2].skipped_before, 0);

  // A tail longer than the output leaves nothing out.
  query.tail_bytes = 1 << 20;
  EXPECT_EQ(ReadAll(*big.journal, query), big.output + "done\n");
}

INSTANTIATE_TEST_SUITE_P(InlineAndSideFile, TailQueryTest, ::testing::Bool());

TEST_F(SqliteJournalOptionsTest, DurableOutputReadsBackWholeFromRowsAndSideFile) {
  SqliteJournal::Options options = Durable();
  Open(options);
  constexpr size_t kTotal = 8 << 20;
  std::string expected;
  for (int i = 0; expected.size() < kTotal; ++i) {
    std::string line = fmt::format("{:>4095}\n", i);
    expected += line;
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, line).ok());
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
  EXPECT_TRUE(ReadAll(*journal, RunOutput(run.id)) == expected);  // megabytes: no diff
  // All but the first MiB or so went to the side file (inline output is counted in rows).
  size_t in_file = std::filesystem::file_size(OutputFilePath(dir.path(), attempt.id));
  EXPECT_LE(in_file, expected.size() - options.inline_output_bytes);
  EXPECT_GE(in_file, expected.size() - options.inline_output_bytes - 64 * 1024);
}

TEST_F(SqliteJournalRunTest, LargeOutputReadsBackComplete) {
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "a");
  std::string block(4096, 'z');
  block[0] = '\0';
  constexpr size_t kTotal = 8 << 20;
  for (size_t written = 0; written < kTotal; written += block.size())
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, block).ok());
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());

  size_t read = 0;
  size_t chunks = 0;
  ASSERT_TRUE(journal
                  ->ReadOutput(RunOutput(run.id),
                               [&](const OutputChunk& chunk) {
                                 read += chunk.bytes.size();
                                 ++chunks;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(read, kTotal);
  EXPECT_EQ(chunks, kTotal / (64 * 1024));  // full 64 KiB rows
}

// --- Output in side files ---

TEST_F(SqliteJournalOptionsTest, OutputPastTheInlineShareGoesToASideFileAndReadsBackInSeqOrder) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.flush_bytes = 32 * 1024;  // many batches, most holding both streams
  Open(options);
  std::string all;
  std::string by_stream[2];
  for (int i = 0; i < 20'000; ++i) {
    std::string line = fmt::format("line {}", i);
    line.push_back('\0');
    line.push_back('\n');
    Stream stream = i % 7 == 0 ? Stream::kStderr : Stream::kStdout;
    ASSERT_TRUE(journal->AppendOutput(attempt.id, stream, line).ok());
    all += line;
    by_stream[stream == Stream::kStderr] += line;
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());

  std::string joined;
  std::string joined_by_stream[2];
  int64_t last_seq = 0;
  for (const OutputChunk& chunk : ReadChunks(*journal, RunOutput(run.id))) {
    EXPECT_GT(chunk.seq, last_seq);
    last_seq = chunk.seq;
    joined += chunk.bytes;
    joined_by_stream[chunk.stream == Stream::kStderr] += chunk.bytes;
  }
  EXPECT_EQ(joined, all);
  EXPECT_EQ(joined_by_stream[0], by_stream[0]);
  EXPECT_EQ(joined_by_stream[1], by_stream[1]);
  OutputQuery only_stderr = RunOutput(run.id);
  only_stderr.stream = Stream::kStderr;
  EXPECT_EQ(ReadAll(*journal, only_stderr), by_stream[1]);

  // The first 64 KiB (to the end of the chunk crossing it) are inline; every later row
  // holds no bytes and points into the side file, which holds exactly their bytes.
  RawDb raw(journal->path());
  int64_t inline_bytes = std::stoll(raw.Query("SELECT sum(length(bytes)) FROM output"));
  EXPECT_GE(inline_bytes, 64 * 1024);
  EXPECT_LT(inline_bytes, 2 * 64 * 1024);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL AND "
                      "length(bytes) > 0"),
            "0");
  EXPECT_EQ(raw.Query("SELECT max(seq) FROM output WHERE file_offset IS NULL"),
            raw.Query("SELECT min(seq) - 1 FROM output WHERE file_offset IS NOT NULL"));
  int64_t file_bytes = static_cast<int64_t>(all.size()) - inline_bytes;
  EXPECT_EQ(raw.Query("SELECT sum(file_length) FROM output"), std::to_string(file_bytes));
  EXPECT_EQ(FileSize(OutputFilePath(dir.path(), attempt.id)), file_bytes);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteJournalOptionsTest, FollowingAfterSeqCrossesFromInlineRowsToFileRows) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.inline_output_bytes = 16 * 1024;
  Open(options);
  // What `logs -f` does: read on after the last seq seen.
  OutputQuery follow = RunOutput(run.id);
  std::string expected;
  std::string seen;
  for (int round = 0; round < 40; ++round) {
    std::string piece = fmt::format("round {}\n", round) + std::string(3000, 'a' + round % 26);
    ASSERT_TRUE(Append(round % 3 ? Stream::kStdout : Stream::kStderr, piece).ok());
    expected += piece;
    ASSERT_TRUE(journal->FlushOutput().ok());
    for (const OutputChunk& chunk : ReadChunks(*reader, follow)) {
      follow.after_seq = chunk.seq;
      seen += chunk.bytes;
    }
    ASSERT_EQ(seen, expected) << "round " << round;
  }
  RawDb raw(journal->path());
  EXPECT_GT(std::stoi(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NULL")), 1);
  EXPECT_GT(std::stoi(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL")), 30);
}

TEST_F(SqliteJournalOptionsTest, AReaderInAnotherJournalSeesFileRowsAfterEachCommit) {
  SqliteJournal::Options options = Durable();
  options.inline_output_bytes = 64 * 1024;
  options.flush_interval = kNever;
  journal = OpenOrDie(options);
  reader = OpenOrDie(options);
  run = CreateOrDie(*journal);
  std::string expected;
  for (const char* key : {"a", "b"}) {
    AttemptRecord attempt = BeginOrDie(*journal, run.id, key);
    for (int i = 0; i < 6; ++i) {
      std::string block = fmt::format("{} {}\n", key, i) + std::string(100'000, 'x');
      ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, block).ok());
      expected += block;
      ASSERT_TRUE(journal->FlushOutput().ok());
      ASSERT_EQ(ReadAll(*reader, RunOutput(run.id)), expected) << key << " " << i;
    }
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStderr, "end\n").ok());
    expected += "end\n";
    ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
    EXPECT_EQ(ReadAll(*reader, RunOutput(run.id)), expected) << key;
    EXPECT_GT(FileSize(OutputFilePath(dir.path(), attempt.id)), 0) << key;
  }
}

TEST_F(SqliteJournalOptionsTest, ASideFileCutShortByAPowerLossIsClippedNotACrash) {
  BigStep big(SideFileOptions(dir.path()), /*small_step=*/false);

  // The rows were committed, but only part of the file reached the disk.
  std::string path = OutputFilePath(dir.path(), big.attempt.id);
  std::filesystem::resize_file(path, 3 * 64 * 1024 + 100);
  std::vector<OutputChunk> chunks = ReadChunks(*big.journal, RunOutput(big.run.id));
  ASSERT_EQ(chunks.size(), 8u);  // every row, the ones past the end without bytes
  std::string read;
  for (const OutputChunk& chunk : chunks)
    read += chunk.bytes;
  EXPECT_EQ(read, big.output.substr(0, 4 * 64 * 1024 + 100));
  EXPECT_EQ(chunks[4].bytes.size(), 100u);
  EXPECT_EQ(chunks[7].bytes, "");

  OutputQuery tail = RunOutput(big.run.id);
  tail.tail_bytes = 64 * 1024;
  chunks = ReadChunks(*big.journal, tail);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].skipped_before, 7 * 64 * 1024);
  EXPECT_EQ(chunks[0].bytes, "");

  // Gone altogether: only the inline rows have bytes.
  std::filesystem::remove(path);
  EXPECT_EQ(ReadAll(*big.journal, RunOutput(big.run.id)), big.output.substr(0, 64 * 1024));
}

TEST_F(SqliteJournalOptionsTest, AFullSideFileLosesTheBatchAndReportsItLikeAFullDatabase) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.flush_bytes = 128 * 1024;
  options.max_output_file_bytes = 160 * 1024;
  Open(options);
  std::string path = OutputFilePath(dir.path(), attempt.id);
  // 64 KiB inline, then 128 KiB into the side file, in one batch.
  std::string kept = std::string(64 * 1024, 'i') + std::string(128 * 1024, 'a');
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, kept.substr(0, 64 * 1024)).ok());
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, kept.substr(64 * 1024)).ok());
  ASSERT_EQ(FileSize(path), 128 * 1024);
  // The next batch does not fit under the cap.
  EXPECT_EQ(
      journal->AppendOutput(attempt.id, Stream::kStdout, std::string(128 * 1024, 'b')).message(),
      Lost(path, 131072));
  // Lost during a durable call: the call succeeds, the next flush reports it, once.
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, std::string(100'000, 'c')).ok());
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
  EXPECT_EQ(journal->FlushOutput().message(), Lost(path, 100000));
  EXPECT_TRUE(journal->FlushOutput().ok());
  EXPECT_TRUE(journal->FinishRun(run.id, RunStatus::kFailed, 1).ok());

  EXPECT_EQ(ReadAll(*journal, RunOutput(run.id)), kept);
  EXPECT_EQ(FileSize(path), 128 * 1024);  // nothing of the lost batches is left in the file
  std::vector<AttemptRecord> attempts = Ok(journal->ListAttempts(run.id));
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].status, StepStatus::kFailed);
}

TEST_F(SqliteJournalOptionsTest, ACrashNeverLeavesACommittedRowPointingPastItsBytes) {
  SqliteJournal::Options options = Durable();
  options.inline_output_bytes = 64 * 1024;
  auto block = [](int i) { return fmt::format("{:08}", i) + std::string(16 * 1024 - 8, 'z'); };
  // Killed right after a flood of batches, the last of them buffered.
  int status = RunInACrashingChild(options, "flood", [&](Journal& journal, int64_t id) {
    for (int i = 0; i < 2048; ++i)
      journal.AppendOutput(id, Stream::kStdout, block(i));
    kill(getpid(), SIGKILL);
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;

  journal = OpenOrDie(options);
  std::vector<RunRecord> runs = Ok(journal->ListRuns({}));
  ASSERT_EQ(runs.size(), 1u);
  RawDb raw(journal->path());
  std::string attempt_id = raw.Query("SELECT id FROM attempts");
  int64_t referenced =
      std::stoll(raw.Query("SELECT COALESCE(max(file_offset + file_length), 0) FROM output"));
  EXPECT_LE(referenced,
            std::max<int64_t>(0, FileSize(OutputFilePath(dir.path(), std::stoll(attempt_id)))));
  // What was committed reads back as a prefix of what was appended.
  std::string read = ReadAll(*journal, RunOutput(runs[0].id));
  std::string expected;
  for (int i = 0; expected.size() < read.size(); ++i)
    expected += block(i);
  EXPECT_EQ(read, expected.substr(0, read.size()));
  EXPECT_GT(read.size(), 64u * 1024);
}

}  // namespace
}  // namespace stagecraft::journal
