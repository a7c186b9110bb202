// End-to-end tests of journaling: history commands, kill -9 and resume, locks between
// concurrent runs, journals that cannot be written, and secrets that must never reach the
// disk.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

std::string Fixture(const std::string& name) {
  return TestsDir() + "/fixtures/journal/" + name;
}

nlohmann::json Json(const CommandResult& result) {
  try {
    return nlohmann::json::parse(result.out);
  } catch (const nlohmann::json::exception& error) {
    ADD_FAILURE() << error.what() << "\n" << result.out << result.err;
    return nlohmann::json();
  }
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// The step-level records of the latest run, key -> status.
std::map<std::string, std::string> StepStatuses(const std::string& cwd) {
  std::map<std::string, std::string> statuses;
  nlohmann::json shown = Json(RunStagecraft({"show", "latest", "--json"}, cwd));
  for (const auto& step : shown.value("steps", nlohmann::json::array())) {
    if (step["parent"].is_null() && step["kind"] != "rollback" && step["kind"] != "compensation")
      statuses[step["key"]] = step["status"];
  }
  return statuses;
}

// Regular files directly in `dir`; 0 when it does not exist.
int FilesIn(const std::string& dir) {
  std::error_code error;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error))
    files += entry.is_regular_file() ? 1 : 0;
  return files;
}

bool IntegrityCheckPasses(const std::string& database) {
  return std::system(("sqlite3 " + database + " 'PRAGMA integrity_check' | grep -qx ok").c_str()) ==
         0;
}

TEST(Journal, RunIsListedShownAndItsOutputKept) {
  TempDir dir;
  auto run = RunStagecraft(
      {"run", Fixture("two-steps.md"), "--var", "MARKS=" + dir.File("marks"), "--no-color"},
      dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("journal: run "), std::string::npos) << run.out;

  nlohmann::json runs = Json(RunStagecraft({"runs", "--json"}, dir.path()));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[0]["exit_code"], 0);
  EXPECT_EQ(runs[0]["runbook"], std::filesystem::canonical(Fixture("two-steps.md")).string());

  EXPECT_EQ(StepStatuses(dir.path()),
            (std::map<std::string, std::string>{{"first", "succeeded"}, {"second", "succeeded"}}));
  auto table = RunStagecraft({"runs"}, dir.path());
  EXPECT_NE(table.out.find("succeeded"), std::string::npos) << table.out;
  auto shown = RunStagecraft({"show", "latest"}, dir.path());
  EXPECT_NE(shown.out.find("second/1"), std::string::npos) << shown.out;
}

TEST(Journal, LogsPrintAStepsOutput) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Logs\n## Greet\n```bash\necho hello from greet\n```\n## Part\n```bash\necho "
            "bye\n```\n");
  ASSERT_EQ(RunStagecraft({"run", "book.md"}, dir.path()).exit_code, 0);
  EXPECT_EQ(RunStagecraft({"logs", "latest", "greet"}, dir.path()).out, "hello from greet\n");
  EXPECT_EQ(RunStagecraft({"logs", "latest"}, dir.path()).out, "hello from greet\nbye\n");
  auto unknown = RunStagecraft({"logs", "latest", "nope"}, dir.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("has no step 'nope'"), std::string::npos) << unknown.err;
}

TEST(Journal, BulkOutputGoesToASideFileAndReadsBackWhole) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Bulk\n## Count\n```bash\nseq 1 300000\n```\n## After\n```bash\necho done\n```\n");
  auto run = RunStagecraft({"run", "book.md", "--quiet"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string counted;
  for (int i = 1; i <= 300000; ++i)
    counted += std::to_string(i) + "\n";  // 2 MiB
  EXPECT_EQ(FilesIn(dir.File(".stagecraft/output")), 1);
  std::string logs = RunStagecraft({"logs", "latest"}, dir.path()).out;
  EXPECT_TRUE(logs == counted + "done\n") << logs.size() << " bytes";
  EXPECT_TRUE(RunStagecraft({"logs", "latest", "count"}, dir.path()).out == counted);
  // Reports read only the tail, from the side file.
  std::string report = RunStagecraft({"report", "latest"}, dir.path()).out;
  EXPECT_NE(report.find("299999\n  300000\n"), std::string::npos) << report;
  EXPECT_TRUE(IntegrityCheckPasses(dir.File(".stagecraft/journal.db")));
}

TEST(Journal, LogsFollowPrintsUntilTheRunEnds) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Follow\n## Slow\n```bash\necho early\ntouch started\nsleep 1.5\necho late\n```\n");
  RunningStagecraft run({"run", "book.md"}, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("started"), 20));
  auto followed = RunStagecraft({"logs", "latest", "--follow"}, dir.path());
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, "early\nlate\n");
  EXPECT_EQ(run.Wait().exit_code, 0);
}

// The short version of `make stress`'s soak: consecutive runs must not make each later run
// cost more journal space or memory than the early ones.
TEST(Journal, ConsecutiveRunsDoNotGrowPerRunCosts) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Soak\n## Stamp\n```bash {capture=STAMP}\ndate +%s%N\n```\n## Check\n```bash\n"
            "test -n \"$STAMP\" && echo \"stamp $STAMP\"\n```\n");
  auto journal_bytes = [&] {
    uintmax_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.File(".stagecraft")))
      if (entry.is_regular_file()) total += entry.file_size();
    return total;
  };
  const int runs = 40;
  uintmax_t after_first_half = 0;
  long first_rss = 0;
  long last_rss = 0;
  for (int i = 1; i <= runs; ++i) {
    auto run = RunStagecraft({"run", "book.md", "--quiet"}, dir.path());
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    if (i == 1) first_rss = run.max_rss_kib;
    last_rss = run.max_rss_kib;
    if (i == runs / 2) after_first_half = journal_bytes();
  }
  uintmax_t second_half = journal_bytes() - after_first_half;
  // WAL checkpoints and page reuse make single runs noisy; halves compare steadily.
  EXPECT_LE(second_half, 2 * after_first_half + 256 * 1024)
      << "first half " << after_first_half << " B, second half " << second_half << " B";
  EXPECT_LE(last_rss, first_rss + 8 * 1024) << first_rss << " KiB -> " << last_rss << " KiB";
  EXPECT_EQ(Json(RunStagecraft({"runs", "--json", "--limit", "0"}, dir.path())).size(),
            static_cast<size_t>(runs));
}

TEST(Journal, ResumeRerunsAnInterruptedIdempotentStepWithoutAsking) {
  TempDir dir;
  // The first time, the step hangs until the engine is killed; run again, it finishes.
  WriteFile(dir.File("book.md"),
            "# Idempotent\n## Sync\n<!-- stagecraft: idempotent -->\n```bash\n"
            "echo sync >> marks\nif [ ! -e started ]; then touch started; sleep 31.7; fi\n```\n"
            "## After\n```bash\necho after >> marks\n```\n");
  {
    RunningStagecraft run({"run", "book.md"}, dir.path());
    ASSERT_TRUE(WaitForFile(dir.File("started"), 20));
    kill(run.pid(), SIGKILL);
    run.Wait();
  }
  // The dead engine's step is still sleeping; the operator ends it before resuming.
  std::system("pkill -f 'sleep 31.7' 2>/dev/null; sleep 0.3");
  // No --rerun-interrupted and no terminal: only the directive lets the resume go on.
  auto resumed = RunStagecraft({"resume"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Lines(ReadFile(dir.File("marks"))),
            (std::vector<std::string>{"sync", "sync", "after"}));
}

TEST(Journal, ExecutionFlagErrorsAreUsageErrorsWithTheirMessage) {
  TempDir dir;
  auto both = RunStagecraft({"resume", "--rerun-interrupted", "--skip-interrupted"}, dir.path());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err,
            "stagecraft: error: --rerun-interrupted and --skip-interrupted exclude each other\n");
  WriteFile(dir.File("book.md"), "# B\n## A\n```bash\ntrue\n```\n");
  auto timeout = RunStagecraft({"run", "book.md", "--lock-timeout", "soon"}, dir.path());
  EXPECT_EQ(timeout.exit_code, 2);
  EXPECT_NE(timeout.err.find("stagecraft: error: --lock-timeout: "), std::string::npos)
      << timeout.err;
  ASSERT_EQ(RunStagecraft({"run", "book.md"}, dir.path()).exit_code, 0);
  auto done = RunStagecraft({"resume"}, dir.path());
  EXPECT_EQ(done.exit_code, 2);
  EXPECT_NE(done.err.find("succeeded; there is nothing to resume"), std::string::npos) << done.err;
}

TEST(Journal, HistoryWithoutAnyRunSaysSo) {
  TempDir dir;
  auto runs = RunStagecraft({"runs"}, dir.path());
  EXPECT_EQ(runs.exit_code, 2);
  EXPECT_NE(runs.err.find("no runs recorded in .stagecraft"), std::string::npos) << runs.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File(".stagecraft")));
}

// Kills the engine at a random moment of the 30-step ledger runbook, then resumes as an
// operator would (a step caught mid-way is rerun unless the ledger shows it finished),
// and checks every entry is in the ledger exactly once. STAGECRAFT_KILL_ITERATIONS sets
// the number of rounds (tests/stress/kill-resume.sh runs many more).
TEST(Journal, KillNineAtRandomMomentsThenResumeKeepsTheLedgerExact) {
  int iterations = 3;
  if (const char* text = std::getenv("STAGECRAFT_KILL_ITERATIONS")) iterations = std::atoi(text);
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < iterations; ++round) {
    TempDir dir;
    std::string ledger = dir.File("ledger");
    // The engine's scratch directories (and so its steps' environments) name this one.
    std::filesystem::create_directory(dir.File("tmp"));
    setenv("TMPDIR", dir.File("tmp").c_str(), 1);
    std::vector<std::string> args = {"run", Fixture("ledger.md"), "--var", "LEDGER=" + ledger};
    int kills = 0;
    bool finished = false;
    for (int session = 0; session < 20 && !finished; ++session) {
      RunningStagecraft running(args, dir.path());
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 900)(random)));
      kill(running.pid(), SIGKILL);
      CommandResult ended = running.Wait();
      // Finished before the kill, or the previous session was killed after recording the
      // run as finished (while it wrote the reports): there is nothing left to resume.
      finished = ended.exit_code == 0 ||
                 (ended.exit_code == 2 && ended.err.find("nothing to resume") != std::string::npos);
      if (finished) break;
      ASSERT_EQ(ended.exit_code, 128 + SIGKILL) << ended.out << ended.err;
      ++kills;
      // The step's own process outlives the engine by up to a step's length; an operator
      // looks once it has settled.
      ASSERT_TRUE(WaitUntilNoProcessMentions(dir.File("tmp"), 30));
      // Killed before the run was recorded: nothing to resume, start it again.
      if (RunStagecraft({"runs", "--json"}, dir.path()).out.find('{') == std::string::npos)
        continue;
      // The operator's decision for a step caught mid-way: it finished if its number is
      // already in the ledger.
      std::string decision = "--rerun-interrupted";
      for (const auto& [key, status] : StepStatuses(dir.path())) {
        if (status != "running") continue;
        std::string number = key.substr(key.rfind('-') + 1);
        for (const auto& line : Lines(ReadFile(ledger)))
          if (line == number) decision = "--skip-interrupted";
      }
      args = {"resume", decision, "--no-color"};
    }
    // Whatever is left runs to the end without interference, with the operator's decision
    // for the step the last kill caught.
    if (!finished) {
      auto last = RunStagecraft(args, dir.path());
      EXPECT_EQ(last.exit_code, 0) << last.out << last.err;
    }
    std::vector<std::string> expected;
    for (int i = 1; i <= 30; ++i)
      expected.push_back(std::to_string(i));
    EXPECT_EQ(Lines(ReadFile(ledger)), expected) << "round " << round << ", " << kills << " kills";
    EXPECT_EQ(Json(RunStagecraft({"runs", "--json"}, dir.path()))[0]["status"], "succeeded");
    EXPECT_TRUE(IntegrityCheckPasses(dir.File(".stagecraft/journal.db")));
    unsetenv("TMPDIR");
  }
}

TEST(Journal, ConcurrentRunsOfOneRunbookAndEnvironmentRunOneAtATime) {
  int count = 20;
  if (const char* text = std::getenv("STAGECRAFT_CONCURRENT_RUNS")) count = std::atoi(text);
  TempDir dir;
  std::vector<std::unique_ptr<RunningStagecraft>> runs;
  for (int i = 0; i < count; ++i)
    runs.push_back(std::make_unique<RunningStagecraft>(
        std::vector<std::string>{"run", Fixture("slow.md"), "--var", "MARKS=" + dir.File("marks")},
        dir.path()));
  int succeeded = 0;
  int refused = 0;
  for (auto& run : runs) {
    CommandResult result = run->Wait();
    if (result.exit_code == 0) ++succeeded;
    if (result.exit_code == 2 && result.err.find("is locked by run") != std::string::npos)
      ++refused;
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(refused, count - 1);
  EXPECT_EQ(Lines(ReadFile(dir.File("marks"))), std::vector<std::string>{"started"});
}

TEST(Journal, LockTimeoutWaitsForTheHolder) {
  TempDir dir;
  std::vector<std::string> args = {"run", Fixture("slow.md"), "--var", "MARKS=" + dir.File("m")};
  RunningStagecraft first(args, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("m"), 10));
  args.push_back("--lock-timeout");
  args.push_back("20s");
  auto second = RunStagecraft(args, dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(first.Wait().exit_code, 0);
  EXPECT_EQ(Lines(ReadFile(dir.File("m"))), (std::vector<std::string>{"started", "started"}));
}

TEST(Journal, UnlockNeedsForceAndTheRightId) {
  TempDir dir;
  auto no_force = RunStagecraft({"unlock", "abc"}, dir.path());
  EXPECT_EQ(no_force.exit_code, 2);
  EXPECT_NE(no_force.err.find("needs --force"), std::string::npos) << no_force.err;
  ASSERT_EQ(
      RunStagecraft({"run", Fixture("slow.md"), "--var", "MARKS=" + dir.File("m")}, dir.path())
          .exit_code,
      0);
  auto wrong = RunStagecraft({"unlock", "--force", "000000000000"}, dir.path());
  EXPECT_EQ(wrong.exit_code, 2);
}

TEST(Journal, ForceUnlockedRunStopsBeforeItsNextStep) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "# Three\n## One\n```bash\ntouch one\nuntil [ -e go ]; do sleep 0.05; done\nsleep 1.1\n"
            "```\n"
            "## Two\n```bash\ntouch two\n```\n");
  RunningStagecraft first({"run", "book.md"}, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("one"), 20));
  auto second = RunStagecraft({"run", "book.md"}, dir.path());
  ASSERT_EQ(second.exit_code, 2);
  size_t at = second.err.find("lock id ");
  ASSERT_NE(at, std::string::npos) << second.err;
  std::string lock_id = second.err.substr(at + 8, 12);
  auto unlocked = RunStagecraft({"unlock", "--force", lock_id}, dir.path());
  EXPECT_EQ(unlocked.exit_code, 0) << unlocked.err;
  // The run checks its lock before a step at most once a second: step One lasts longer.
  WriteFile(dir.File("go"), "");
  CommandResult ended = first.Wait();
  EXPECT_EQ(ended.exit_code, 2) << ended.out;
  EXPECT_NE(ended.out.find("no longer holds its lock"), std::string::npos) << ended.out;
  EXPECT_FALSE(std::filesystem::exists(dir.File("two")));
}

TEST(Journal, UnwritableStateDirectoryRefusesToStartAndRunsNothing) {
  TempDir dir;
  WriteFile(dir.File("not-a-dir"), "");
  auto result = RunStagecraft({"run", Fixture("two-steps.md"), "--var", "MARKS=" + dir.File("m"),
                               "--state", dir.File("not-a-dir/state")},
                              dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("cannot journal the run, so it does not start"), std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("m")));
}

// Root writes through file permissions, so as root the run is made as nobody (65534).
TEST(Journal, ReadOnlyStateDirectoryRefusesToStart) {
  TempDir dir;
  chmod(dir.path().c_str(), 0777);  // the marks file could be written if anything ran
  std::filesystem::create_directory(dir.File("state"));
  chmod(dir.File("state").c_str(), 0555);
  std::vector<std::string> args = {"run",     Fixture("two-steps.md"),
                                   "--var",   "MARKS=" + dir.File("m"),
                                   "--state", dir.File("state")};
  CommandResult result =
      geteuid() == 0 ? RunStagecraftAs(65534, args, dir.path()) : RunStagecraft(args, dir.path());
  chmod(dir.File("state").c_str(), 0700);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("is not writable"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("m")));
}

TEST(Journal, CanarySecretNeverReachesConsoleOrDisk) {
  const std::string canary = "cAn4ry:s3cr3t/v@lue";
  setenv("STAGECRAFT_TEST_CANARY", canary.c_str(), 1);
  TempDir dir;
  auto result = RunStagecraft({"run", Fixture("canary.md"), "--no-color"}, dir.path());
  unsetenv("STAGECRAFT_TEST_CANARY");
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  std::vector<std::string> forms = {canary, "cAn4ry%3As3cr3t%2Fv%40lue", "cAn4ry:s3cr3t\\/v@lue",
                                    "Y0FuNHJ5OnMzY3IzdC92QGx1ZQ"};
  std::string console = result.out + result.err;
  EXPECT_NE(console.find("plain: ***"), std::string::npos) << console;
  EXPECT_NE(console.find("split: ***"), std::string::npos) << console;
  EXPECT_NE(console.find("bulk 100000: *** and again ***"), std::string::npos);
  // The bulk step's output outgrew the database into a side file: the search below must
  // cover it too.
  EXPECT_GT(FilesIn(dir.File(".stagecraft/output")), 0);
  std::string logs = RunStagecraft({"logs", "latest"}, dir.path()).out;
  EXPECT_NE(logs.find("bulk 100000: *** and again ***\n"), std::string::npos);
  for (const auto& form : forms) {
    EXPECT_EQ(console.find(form), std::string::npos) << form << "\n" << console;
    EXPECT_EQ(logs.find(form), std::string::npos) << form << "\n" << logs;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
      if (!entry.is_regular_file()) continue;
      EXPECT_EQ(ReadFile(entry.path().string()).find(form), std::string::npos)
          << form << " in " << entry.path();
    }
  }
}

TEST(Journal, ResumeRefusesAChangedRunbookNamingTheStep) {
  TempDir dir;
  std::string book = dir.File("book.md");
  WriteFile(book, ReadFile(Fixture("two-steps.md")));
  std::string marks = "MARKS=" + dir.File("m");
  auto failed = RunStagecraft(
      {"run", book, "--var", marks, "--var", "FAIL_SECOND=1", "--on-failure", "stop"}, dir.path());
  ASSERT_EQ(failed.exit_code, 1) << failed.out;
  std::string text = ReadFile(book);
  text.replace(text.find("echo first >>"), 13, "echo FIRST >>");
  WriteFile(book, text);
  auto refused = RunStagecraft({"resume"}, dir.path());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("first (changed)"), std::string::npos) << refused.err;
  auto forced = RunStagecraft({"resume", "--force"}, dir.path());
  // The variables of the original run come back: FAIL_SECOND still fails step two.
  EXPECT_EQ(forced.exit_code, 1) << forced.out << forced.err;
  EXPECT_EQ(Lines(ReadFile(dir.File("m"))),
            (std::vector<std::string>{"first", "second", "second", "undo-second", "undo-first"}));
}

TEST(Journal, RollbackCommandUndoesAStoppedRunLater) {
  TempDir dir;
  std::string marks = "MARKS=" + dir.File("m");
  auto stopped = RunStagecraft({"run", Fixture("two-steps.md"), "--var", marks, "--var",
                                "FAIL_SECOND=1", "--on-failure", "stop"},
                               dir.path());
  ASSERT_EQ(stopped.exit_code, 1);
  auto rolled = RunStagecraft({"rollback", "latest"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_EQ(Lines(ReadFile(dir.File("m"))),
            (std::vector<std::string>{"first", "second", "undo-second", "undo-first"}));
  EXPECT_EQ(Json(RunStagecraft({"runs", "--json"}, dir.path()))[0]["status"], "rolled_back");
  auto again = RunStagecraft({"rollback", "latest"}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already rolled back"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace stagecraft::testing

namespace stagecraft::testing {
namespace {

// Turns a journal into the layout schema version 4 wrote: the hierarchy spelled by keys
// and one position per record (step k at k * 1000, its items k * 1000 + n, rollback blocks
// from 1,000,000,000), and an attempt's detail after the first newline of its message.
constexpr const char* kToVersion4 = R"sql(
CREATE TABLE steps_v4 (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_key TEXT NOT NULL, position INTEGER NOT NULL, phase TEXT NOT NULL,
  title TEXT NOT NULL, kind TEXT NOT NULL, budget_ms INTEGER, content_hash TEXT NOT NULL,
  status TEXT NOT NULL, PRIMARY KEY (run_id, step_key)) WITHOUT ROWID;
INSERT INTO steps_v4
  SELECT s.run_id, s.step_key,
         CASE WHEN s.kind IN ('rollback', 'compensation') THEN 1000000000 + s.ordinal
              WHEN s.parent_key IS NULL THEN s.ordinal * 1000
              ELSE p.ordinal * 1000 + s.ordinal END,
         s.phase, s.title, s.kind, s.budget_ms, s.content_hash, s.status
    FROM steps s LEFT JOIN steps p ON p.run_id = s.run_id AND p.step_key = s.parent_key;
DROP TABLE steps;
ALTER TABLE steps_v4 RENAME TO steps;
UPDATE attempts SET message = message || char(10) || detail WHERE detail != '';
ALTER TABLE attempts DROP COLUMN detail;
DROP TABLE notifications;
PRAGMA user_version = 4;
)sql";

nlohmann::json AttemptsOf(const nlohmann::json& report, const std::string& key) {
  for (const auto& step : report["steps"]) {
    if (step["key"] == key) return step["attempts"];
    for (const auto& item : step["items"])
      if (item["key"] == key) return item["attempts"];
  }
  return nlohmann::json::array();
}

TEST(Journal, JournalOfThePreviousSchemaStillListsShowsReportsAndResumes) {
  TempDir dir;
  WriteFile(dir.File("fails.md"),
            "# Fails\n## Count\n```bash\necho 3 tables\n```\n**Expected Output:**\n```\n"
            "4 tables\n```\n");
  auto failed = RunStagecraft({"run", "fails.md", "--no-color"}, dir.path());
  ASSERT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  WriteFile(dir.File("book.md"),
            "# Idempotent\n## Sync\n<!-- stagecraft: idempotent -->\n```bash\n"
            "echo sync >> marks\nif [ ! -e started ]; then touch started; sleep 32.3; fi\n```\n"
            "## After\n```bash\necho after >> marks\n```\n");
  {
    RunningStagecraft run({"run", "book.md"}, dir.path());
    ASSERT_TRUE(WaitForFile(dir.File("started"), 20));
    kill(run.pid(), SIGKILL);
    run.Wait();
  }
  std::system("pkill -f 'sleep 32.3' 2>/dev/null; sleep 0.3");
  const std::string database = dir.File(".stagecraft/journal.db");
  WriteFile(dir.File("v4.sql"), kToVersion4);
  ASSERT_EQ(std::system(("sqlite3 " + database + " < " + dir.File("v4.sql")).c_str()), 0);
  ASSERT_EQ(std::system(("sqlite3 " + database + " 'PRAGMA user_version' | grep -qx 4").c_str()),
            0);

  nlohmann::json runs = Json(RunStagecraft({"runs", "--json"}, dir.path()));
  ASSERT_EQ(runs.size(), 2u) << runs.dump();
  // Its one step changed nothing, so there was nothing to roll back.
  EXPECT_EQ(runs[1]["status"], "failed");
  EXPECT_EQ(runs[0]["status"], "abandoned");
  const std::string failed_id = runs[1]["id"];

  nlohmann::json shown = Json(RunStagecraft({"show", failed_id, "--json"}, dir.path()));
  ASSERT_EQ(shown["steps"].size(), 2u) << shown.dump();
  EXPECT_EQ(shown["steps"][0]["key"], "count");
  EXPECT_EQ(shown["steps"][1]["parent"], "count");
  EXPECT_EQ(shown["steps"][1]["ordinal"], 1);
  EXPECT_EQ(shown["steps"][1]["message"], "expected output not found");
  EXPECT_NE(shown["steps"][1]["detail"].get<std::string>().find("4 tables"), std::string::npos)
      << shown.dump();

  auto report = RunStagecraft({"report", failed_id, "--format", "json"}, dir.path());
  ASSERT_EQ(report.exit_code, 0) << report.err;
  nlohmann::json attempts = AttemptsOf(Json(report), "count/1");
  ASSERT_EQ(attempts.size(), 1u) << report.out;
  EXPECT_EQ(attempts[0]["message"], "expected output not found");
  EXPECT_NE(attempts[0]["detail"].get<std::string>().find("4 tables"), std::string::npos);

  auto resumed = RunStagecraft({"resume"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Lines(ReadFile(dir.File("marks"))),
            (std::vector<std::string>{"sync", "sync", "after"}));
  EXPECT_EQ(StepStatuses(dir.path()),
            (std::map<std::string, std::string>{{"sync", "succeeded"}, {"after", "succeeded"}}));
  EXPECT_TRUE(IntegrityCheckPasses(database));
}

}  // namespace
}  // namespace stagecraft::testing
