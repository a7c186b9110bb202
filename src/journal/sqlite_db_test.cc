// The statement cache of Database::Prepare: each SQL text is compiled once and reused,
// and a statement in use is never handed out twice.

#include "journal/sqlite_db.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "journal/sqlite_journal.h"
#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::ScratchOptions;
using ::stagecraft::journal::testing::TempDir;

std::unique_ptr<Database> OpenDatabase(const TempDir& dir) {
  DatabaseOptions options;
  options.dir = dir.path();
  options.durable = false;
  Result<std::unique_ptr<Database>> db = Database::Open(options);
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error());
  return db.ok() ? std::move(db).value() : nullptr;
}

TEST(DatabaseTest, PreparingTheSameTextAgainReusesTheCompiledStatement) {
  TempDir dir;
  std::unique_ptr<Database> db = OpenDatabase(dir);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (v INTEGER)").ok());
  int64_t before = db->compiled_statements();
  for (int i = 0; i < 5; ++i) {
    Result<Statement> insert = db->Prepare("INSERT INTO t (v) VALUES (?1)");
    ASSERT_TRUE(insert.ok()) << insert.error();
    insert->Bind(1, int64_t{i});
    ASSERT_TRUE(insert->Run().ok());
  }
  EXPECT_EQ(db->compiled_statements(), before + 1);
  // A reused statement starts without the previous bindings.
  Result<Statement> insert = db->Prepare("INSERT INTO t (v) VALUES (?1)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE(insert->Run().ok());
  Result<Statement> count = db->Prepare("SELECT COUNT(*), COUNT(v), SUM(v) FROM t");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(count->Step().value());
  EXPECT_EQ(count->Int(0), 6);
  EXPECT_EQ(count->Int(1), 5);
  EXPECT_EQ(count->Int(2), 10);
}

TEST(DatabaseTest, TwoLiveStatementsWithTheSameTextAreDistinct) {
  TempDir dir;
  std::unique_ptr<Database> db = OpenDatabase(dir);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2)").ok());
  const char* sql = "SELECT v FROM t ORDER BY v";
  Result<Statement> outer = db->Prepare(sql);
  ASSERT_TRUE(outer.ok());
  ASSERT_TRUE(outer->Step().value());
  Result<Statement> inner = db->Prepare(sql);
  ASSERT_TRUE(inner.ok());
  ASSERT_TRUE(inner->Step().value());
  EXPECT_EQ(inner->Int(0), 1);
  ASSERT_TRUE(outer->Step().value());
  EXPECT_EQ(outer->Int(0), 2);
}

TEST(DatabaseTest, StepsOfARunCompileTheirStatementsOnce) {
  TempDir dir;
  Result<std::unique_ptr<SqliteJournal>> opened = SqliteJournal::Open(ScratchOptions(dir.path()));
  ASSERT_TRUE(opened.ok()) << opened.error();
  SqliteJournal& journal = **opened;
  Result<RunRecord> run = journal.CreateRun(RunRecord{});
  ASSERT_TRUE(run.ok()) << run.error();
  auto step = [&](int n) {
    AttemptRecord attempt;
    attempt.run_id = run->id;
    attempt.step_key = "step-" + std::to_string(n);
    Result<AttemptRecord> begun = journal.BeginAttempt(attempt);
    ASSERT_TRUE(begun.ok()) << begun.error();
    ASSERT_TRUE(journal.RecordProcess(begun->id, 4242, 1).ok());
    ASSERT_TRUE(journal.AppendOutput(begun->id, Stream::kStdout, "ok\n").ok());
    AttemptOutcome outcome;
    outcome.status = StepStatus::kSucceeded;
    ASSERT_TRUE(journal.EndAttempt(begun->id, outcome).ok());
  };
  step(1);
  int64_t after_first = journal.compiled_statements();
  for (int n = 2; n <= 20; ++n)
    step(n);
  EXPECT_EQ(journal.compiled_statements(), after_first);
}

}  // namespace
}  // namespace stagecraft::journal
