// Opening journals: creation, migrations, and the files and directories we must refuse
// with a clear message instead of crashing.

#include "journal/schema.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "journal/sqlite_journal.h"
#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::RawDb;
using ::stagecraft::journal::testing::ScratchOptions;
using ::stagecraft::journal::testing::TempDir;
using ::testing::HasSubstr;

std::string OpenError(const SqliteJournal::Options& options) {
  Result<std::unique_ptr<SqliteJournal>> journal = SqliteJournal::Open(options);
  return journal.ok() ? "(opened)" : journal.error();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// The version 1 schema exactly as the first release wrote it. Frozen here on purpose: the
// migration code must keep upgrading files written by that release, whatever
// CreateCoreTables looks like later.
constexpr const char* kVersion1Schema = R"sql(
  CREATE TABLE runs (id TEXT PRIMARY KEY NOT NULL, runbook_path TEXT NOT NULL,
    runbook_hash TEXT NOT NULL, structure_hash TEXT NOT NULL, environment TEXT NOT NULL,
    user TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at INTEGER NOT NULL,
    ended_at INTEGER, status TEXT NOT NULL, exit_code INTEGER, scope TEXT NOT NULL,
    cwd TEXT NOT NULL, options TEXT NOT NULL);
  CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
  CREATE INDEX runs_by_runbook ON runs (runbook_path, environment, started_at DESC, id DESC);
  CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_key TEXT NOT NULL, position INTEGER NOT NULL, phase TEXT NOT NULL,
    title TEXT NOT NULL, kind TEXT NOT NULL, budget_ms INTEGER, content_hash TEXT NOT NULL,
    status TEXT NOT NULL, PRIMARY KEY (run_id, step_key)) WITHOUT ROWID;
  CREATE TABLE attempts (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL,
    step_key TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
    started_at INTEGER NOT NULL, ended_at INTEGER, exit_code INTEGER, signal INTEGER,
    budget_ms INTEGER, message TEXT NOT NULL, captures TEXT NOT NULL,
    UNIQUE (run_id, step_key, attempt),
    FOREIGN KEY (run_id, step_key) REFERENCES steps (run_id, step_key) ON DELETE CASCADE);
  CREATE TABLE output (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL,
    attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL, at INTEGER NOT NULL, bytes BLOB NOT NULL);
  CREATE INDEX output_by_run ON output (run_id, seq);
  CREATE INDEX output_by_attempt ON output (attempt_id, seq);
  CREATE TABLE approvals (id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step_key TEXT NOT NULL,
    who TEXT NOT NULL, at INTEGER NOT NULL, how TEXT NOT NULL, decision TEXT NOT NULL,
    comment TEXT NOT NULL);
  CREATE INDEX approvals_by_run ON approvals (run_id, id);
  PRAGMA user_version = 1;
)sql";

// What version 2 added, as its release wrote it; with kVersion1Schema, a version 2 file.
constexpr const char* kVersion2Additions = R"sql(
  ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE locks (lock_key TEXT PRIMARY KEY NOT NULL, lock_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL, lease_ms INTEGER NOT NULL);
  PRAGMA user_version = 2;
)sql";

TEST(SchemaTest, OpeningCreatesTheDirectoryAndTheCurrentSchema) {
  TempDir dir;
  std::string state = dir.File("nested/.stagecraft");
  auto journal = testing::OpenOrDie(ScratchOptions(state));
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->path(), state + "/journal.db");
  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.QueryAll("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            "approvals\nattempts\nlocks\nnotifications\noutput\nruns\nsteps");
}

TEST(SchemaTest, VersionOneFileIsMigratedAndKeepsItsRuns) {
  TempDir dir;
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec(kVersion1Schema);
    raw.Exec(
        "INSERT INTO runs VALUES ('20250101-000000-aaaaaa', '/r.md', 'h', 's', 'staging', "
        "'alice', 'host', 1, 1000, 2000, 'succeeded', 0, '{\"A\":\"1\"}', '/', '{}')");
  }
  auto journal = testing::OpenOrDie(ScratchOptions(dir.path()));
  ASSERT_NE(journal, nullptr);
  Result<RunRecord> run = journal->GetRun("20250101-000000-aaaaaa");
  ASSERT_TRUE(run.ok()) << run.error();
  EXPECT_EQ(run->status, RunStatus::kSucceeded);
  EXPECT_EQ(run->scope, nlohmann::json({{"A", "1"}}));
  EXPECT_EQ(run->resumes, 0);  // added by migration 2
  ASSERT_TRUE(journal->ReopenRun(run->id, CurrentIdentity()).ok());
  EXPECT_EQ(journal->GetRun(run->id)->resumes, 1);

  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM locks"), "0");
}

TEST(SchemaTest, VersionTwoFileIsMigratedAndItsOutputStillReads) {
  TempDir dir;
  const std::string run_id = "20250101-000000-bbbbbb";
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec(kVersion1Schema);
    raw.Exec(kVersion2Additions);
    raw.Exec("INSERT INTO runs VALUES ('" + run_id +
             "', '/r.md', 'h', 's', '', 'alice', 'host', 1, 1000, 2000, 'succeeded', 0, '{}', "
             "'/', '{}', 0)");
    raw.Exec("INSERT INTO steps VALUES ('" + run_id +
             "', 'a', 0, '', 'A', 'step', NULL, '', 'succeeded')");
    raw.Exec("INSERT INTO attempts VALUES (1, '" + run_id +
             "', 'a', 1, 'succeeded', 1000, 2000, 0, NULL, NULL, '', '{}')");
    raw.Exec("INSERT INTO output VALUES (1, '" + run_id + "', 1, 1, 1000, CAST('hello ' AS BLOB))");
    raw.Exec("INSERT INTO output VALUES (2, '" + run_id + "', 1, 2, 1001, X'00776f726c640a')");
  }
  SqliteJournal::Options options = ScratchOptions(dir.path());
  options.inline_output_bytes = 4;  // new output goes to a side file almost at once
  auto journal = testing::OpenOrDie(options);
  ASSERT_NE(journal, nullptr);

  auto read_all = [&] {
    std::string all;
    OutputQuery query;
    query.run_id = run_id;
    Status status = journal->ReadOutput(query, [&](const OutputChunk& chunk) {
      all += chunk.stream == Stream::kStderr ? "[err]" : "[out]";
      all += chunk.bytes;
      return true;
    });
    EXPECT_TRUE(status.ok()) << status.message();
    return all;
  };
  EXPECT_EQ(read_all(), std::string("[out]hello [err]\0world\n", 23));

  // The run goes on (a resume) with output past the inline share.
  AttemptRecord attempt;
  attempt.run_id = run_id;
  attempt.step_key = "b";
  Result<AttemptRecord> begun = journal->BeginAttempt(attempt);
  ASSERT_TRUE(begun.ok()) << begun.error();
  ASSERT_TRUE(journal->AppendOutput(begun->id, Stream::kStdout, "inline").ok());
  ASSERT_TRUE(journal->FlushOutput().ok());
  ASSERT_TRUE(journal->AppendOutput(begun->id, Stream::kStdout, " in a file").ok());
  ASSERT_TRUE(journal->EndAttempt(begun->id, {}).ok());
  EXPECT_EQ(read_all(),
            std::string("[out]hello [err]\0world\n", 23) + "[out]inline[out] in a file");

  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NULL"), "3");
  EXPECT_EQ(raw.Query("SELECT file_length FROM output WHERE file_offset IS NOT NULL"), "10");
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

// What version 3 added, as its release wrote it.
constexpr const char* kVersion3Additions = R"sql(
  ALTER TABLE output ADD COLUMN file_offset INTEGER;
  ALTER TABLE output ADD COLUMN file_length INTEGER;
  PRAGMA user_version = 3;
)sql";

TEST(SchemaTest, VersionThreeFileIsMigratedAndItsAttemptsGainProcessColumns) {
  TempDir dir;
  const std::string run_id = "20250101-000000-cccccc";
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec(kVersion1Schema);
    raw.Exec(kVersion2Additions);
    raw.Exec(kVersion3Additions);
    raw.Exec("INSERT INTO runs VALUES ('" + run_id +
             "', '/r.md', 'h', 's', '', 'alice', 'host', 1, 1000, NULL, 'running', NULL, '{}', "
             "'/', '{}', 0)");
    raw.Exec("INSERT INTO steps VALUES ('" + run_id +
             "', 'a', 0, '', 'A', 'step', NULL, '', 'running')");
    raw.Exec("INSERT INTO attempts VALUES (1, '" + run_id +
             "', 'a', 1, 'running', 1000, NULL, NULL, NULL, NULL, '', '{}')");
  }
  auto journal = testing::OpenOrDie(ScratchOptions(dir.path()));
  ASSERT_NE(journal, nullptr);
  Result<std::vector<AttemptRecord>> attempts = journal->ListAttempts(run_id);
  ASSERT_TRUE(attempts.ok()) << attempts.error();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].process_group, std::nullopt);  // the old attempt never had one
  ASSERT_TRUE(journal->RecordProcess(1, 4242, 987654).ok());
  attempts = journal->ListAttempts(run_id);
  ASSERT_TRUE(attempts.ok()) << attempts.error();
  EXPECT_EQ((*attempts)[0].process_group, 4242);
  EXPECT_EQ((*attempts)[0].process_start, 987654);
  EXPECT_FALSE(journal->RecordProcess(99, 1, 1).ok());

  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

// What version 4 added, as its release wrote it.
constexpr const char* kVersion4Additions = R"sql(
  ALTER TABLE attempts ADD COLUMN pgid INTEGER;
  ALTER TABLE attempts ADD COLUMN pgid_start INTEGER;
  PRAGMA user_version = 4;
)sql";

// Version 4 spelled the hierarchy in keys ("<step>/<n>", "rollback/<n>") and positions
// (step k at k * 1000, its items k * 1000 + n, rollback blocks from 1,000,000,000), and kept
// an attempt's detail after the first newline of its message.
TEST(SchemaTest, VersionFourFileGetsParentsOrdinalsAndDetailsFromItsKeysAndMessages) {
  TempDir dir;
  const std::string run = "20250101-000000-dddddd";
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec(kVersion1Schema);
    raw.Exec(kVersion2Additions);
    raw.Exec(kVersion3Additions);
    raw.Exec(kVersion4Additions);
    raw.Exec("INSERT INTO runs VALUES ('" + run +
             "', '/r.md', 'h', 's', '', 'alice', 'host', 1, 1000, 2000, 'rolled_back', 1, '{}', "
             "'/', '{}', 0)");
    struct Row {
      const char* key;
      int64_t position;
      const char* kind;
    };
    for (const Row& row :
         {Row{"deploy", 2000, "step"}, Row{"deploy/2", 2002, "verification"},
          Row{"deploy/1", 2001, "step"}, Row{"check", 1000, "step"}, Row{"check/1", 1001, "check"},
          Row{"ghost/1", 1500, "step"}, Row{"rollback/2", 1000000002, "rollback"},
          Row{"rollback/1", 1000000001, "compensation"}}) {
      raw.Exec(
          fmt::format("INSERT INTO steps VALUES ('{}', '{}', {}, '', 'T', '{}', NULL, 'h', "
                      "'succeeded')",
                      run, row.key, row.position, row.kind));
    }
    raw.Exec("INSERT INTO attempts VALUES (1, '" + run +
             "', 'deploy/1', 1, 'failed', 1000, 1500, 1, NULL, NULL, "
             "'expected output did not match\n- ok\n+ nope\n', '{}', NULL, NULL)");
    raw.Exec("INSERT INTO attempts VALUES (2, '" + run +
             "', 'deploy', 1, 'failed', 1000, 1500, NULL, NULL, NULL, 'one line', '{}', NULL, "
             "NULL)");
  }
  auto journal = testing::OpenOrDie(ScratchOptions(dir.path()));
  ASSERT_NE(journal, nullptr);
  Result<std::vector<StepRecord>> steps = journal->ListSteps(run);
  ASSERT_TRUE(steps.ok()) << steps.error();
  std::vector<std::string> listed;
  for (const StepRecord& step : *steps)
    listed.push_back(fmt::format("{}<{}#{}", step.key, step.parent_key, step.ordinal));
  EXPECT_THAT(listed, ::testing::ElementsAre("check<#1", "check/1<check#1", "ghost/1<#2",
                                             "deploy<#3", "deploy/1<deploy#1", "deploy/2<deploy#2",
                                             "rollback/1<#1", "rollback/2<#2"));
  Result<std::vector<AttemptRecord>> attempts = journal->ListAttempts(run);
  ASSERT_TRUE(attempts.ok()) << attempts.error();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].message, "expected output did not match");
  EXPECT_EQ((*attempts)[0].detail, "- ok\n+ nope\n");
  EXPECT_EQ((*attempts)[1].message, "one line");
  EXPECT_EQ((*attempts)[1].detail, "");

  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM pragma_table_info('steps') WHERE name = 'position'"),
            "0");
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

// What version 5 left, as its release wrote it (the data rewrite aside).
constexpr const char* kVersion5Additions = R"sql(
  ALTER TABLE steps ADD COLUMN parent_key TEXT;
  ALTER TABLE steps ADD COLUMN ordinal INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE steps DROP COLUMN position;
  ALTER TABLE attempts ADD COLUMN detail TEXT NOT NULL DEFAULT '';
  PRAGMA user_version = 5;
)sql";

TEST(SchemaTest, VersionFiveFileGainsNotificationsThatKeepTheirAttempts) {
  TempDir dir;
  const std::string run = "20250101-000000-eeeeee";
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec(kVersion1Schema);
    raw.Exec(kVersion2Additions);
    raw.Exec(kVersion3Additions);
    raw.Exec(kVersion4Additions);
    raw.Exec(kVersion5Additions);
    raw.Exec("INSERT INTO runs VALUES ('" + run +
             "', '/r.md', 'h', 's', '', 'alice', 'host', 1, 1000, 2000, 'failed', 1, '{}', "
             "'/', '{}', 0)");
  }
  auto journal = testing::OpenOrDie(ScratchOptions(dir.path()));
  ASSERT_NE(journal, nullptr);
  Result<std::vector<NotificationRecord>> none = journal->ListNotifications(run);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());

  NotificationRecord failed{
      0, run, "webhook #1 (hooks.example.com)", "failed", 1, 5000, 120, 500, false, "HTTP 500"};
  NotificationRecord delivered{
      0, run, "webhook #1 (hooks.example.com)", "failed", 2, 5700, 80, 200, true, ""};
  NotificationRecord skipped{
      0,    run, "command #2", "failed", 0,
      6000, 0,   std::nullopt, false,    "not sent: the 15s budget for this event was spent"};
  for (NotificationRecord* record : {&failed, &delivered, &skipped}) {
    Result<NotificationRecord> stored = journal->RecordNotification(*record);
    ASSERT_TRUE(stored.ok()) << stored.error();
    EXPECT_GT(stored->id, 0);
    record->id = stored->id;
  }
  Result<std::vector<NotificationRecord>> listed = journal->ListNotifications(run);
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_THAT(*listed, ::testing::ElementsAre(failed, delivered, skipped));
  EXPECT_FALSE(journal->RecordNotification({0, "no-such-run", "command #1", "started"}).ok());

  RawDb raw(journal->path());
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "6");
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST(SchemaTest, FileFromANewerStagecraftIsRefused) {
  TempDir dir;
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec("CREATE TABLE runs (id TEXT); PRAGMA user_version = 99;");
  }
  EXPECT_EQ(OpenError(ScratchOptions(dir.path())),
            "journal: " + dir.File("journal.db") +
                " has schema version 99, newer than this stagecraft understands (" +
                std::to_string(CurrentSchemaVersion()) + "); upgrade stagecraft to read it");
  // Refusing changed nothing.
  RawDb raw(dir.File("journal.db"));
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "99");
}

TEST(SchemaTest, FileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  WriteFile(dir.File("journal.db"),
            std::string("# notes, not a database\n") + std::string(4096, 'x'));
  EXPECT_EQ(OpenError(ScratchOptions(dir.path())),
            "journal: " + dir.File("journal.db") +
                " is not a SQLite database; move it aside or choose another state directory");
}

TEST(SchemaTest, AnotherApplicationsDatabaseIsRefused) {
  TempDir dir;
  {
    RawDb raw(dir.File("journal.db"));
    raw.Exec("CREATE TABLE invoices (id INTEGER)");
  }
  EXPECT_EQ(OpenError(ScratchOptions(dir.path())),
            "journal: " + dir.File("journal.db") +
                " is a SQLite database but not a stagecraft journal; move it aside or choose "
                "another state directory");
}

TEST(SchemaTest, EmptyFileBecomesAJournal) {
  TempDir dir;
  WriteFile(dir.File("journal.db"), "");
  EXPECT_EQ(OpenError(ScratchOptions(dir.path())), "(opened)");
}

TEST(SchemaTest, StateDirectoryThatIsARegularFileIsRefused) {
  TempDir dir;
  WriteFile(dir.File("state"), "");
  EXPECT_EQ(OpenError(ScratchOptions(dir.File("state"))),
            "journal: " + dir.File("state") + " is not a directory");
}

// Tests run as root, which ignores permission bits; a directory that cannot exist because
// a path component is a regular file fails for root too (ENOTDIR).
TEST(SchemaTest, StateDirectoryThatCannotBeCreatedIsRefused) {
  TempDir dir;
  WriteFile(dir.File("file"), "");
  EXPECT_EQ(
      OpenError(ScratchOptions(dir.File("file/.stagecraft"))),
      "journal: cannot create directory " + dir.File("file/.stagecraft") + ": Not a directory");
}

// Permission bits only stop non-root users, so as root the check runs in a child that
// drops to nobody (65534) first.
TEST(SchemaTest, ReadOnlyStateDirectoryIsRefused) {
  TempDir dir;
  std::string state = dir.File("readonly");
  ASSERT_EQ(mkdir(state.c_str(), 0555), 0);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // mkdtemp made it 0700
  const std::string expected =
      "journal: directory " + state + " is not writable (Permission denied)";

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(2);
    std::string error = OpenError(ScratchOptions(state));
    ssize_t written = write(pipe_fds[1], error.data(), error.size());
    _exit(written == static_cast<ssize_t>(error.size()) ? 0 : 3);
  }
  close(pipe_fds[1]);
  std::string error;
  char buffer[512];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof buffer)) > 0)
    error.append(buffer, static_cast<size_t>(got));
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(error, expected);
}

TEST(SchemaTest, MissingJournalIsReportedWithoutCreatingIt) {
  TempDir dir;
  SqliteJournal::Options options = ScratchOptions(dir.File(".stagecraft"));
  options.create = false;
  EXPECT_EQ(OpenError(options), "journal: no journal at " + dir.File(".stagecraft/journal.db") +
                                    " (nothing has run with this state directory)");
  EXPECT_FALSE(std::filesystem::exists(dir.File(".stagecraft")));

  ASSERT_EQ(mkdir(dir.File(".stagecraft").c_str(), 0755), 0);
  EXPECT_THAT(OpenError(options), HasSubstr("no journal at"));
  EXPECT_FALSE(std::filesystem::exists(dir.File(".stagecraft/journal.db")));
}

TEST(SchemaTest, ManyConnectionsOpeningANewJournalAtOnceAllSucceed) {
  TempDir dir;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(8);
  for (size_t i = 0; i < errors.size(); ++i) {
    threads.emplace_back([&, i] {
      SqliteJournal::Options options;
      options.dir = dir.File(".stagecraft");
      errors[i] = OpenError(options);
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  for (const std::string& error : errors)
    EXPECT_EQ(error, "(opened)");
  RawDb raw(dir.File(".stagecraft/journal.db"));
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(CurrentSchemaVersion()));
}

}  // namespace
}  // namespace stagecraft::journal
