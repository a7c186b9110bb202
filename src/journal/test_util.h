#pragma once

// Helpers for the journal tests. Header-only, so the library carries no test code.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "journal/sqlite_db.h"
#include "journal/sqlite_journal.h"
#include "testing/temp_dir.h"

namespace stagecraft::journal::testing {

using stagecraft::testing::TempDir;

// Scratch settings: no fsync, so tests are fast. Tests about durability turn it back on.
inline SqliteJournal::Options ScratchOptions(const std::string& dir) {
  SqliteJournal::Options options;
  options.dir = dir;
  options.durable = false;
  return options;
}

inline std::unique_ptr<SqliteJournal> OpenOrDie(const SqliteJournal::Options& options) {
  Result<std::unique_ptr<SqliteJournal>> journal = SqliteJournal::Open(options);
  EXPECT_TRUE(journal.ok()) << (journal.ok() ? "" : journal.error());
  if (!journal.ok()) return nullptr;
  return std::move(journal).value();
}

// A plain SQLite connection, independent of the journal's code, for checking what is on
// disk and for writing files the journal must cope with.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open(path.c_str(), &raw);
    db_.reset(raw);
    if (rc != SQLITE_OK) ADD_FAILURE() << "sqlite3_open " << path << ": " << rc;
    sqlite3_busy_timeout(db_.get(), 5000);
  }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) ADD_FAILURE() << sql << ": " << (error ? error : "?");
    sqlite3_free(error);
  }

  // The first column of the first row, as text ("" when there is none).
  std::string Query(const std::string& sql) { return QueryAll(sql, 0, 1); }

  // Every row's `column` (of the first `limit` rows), joined by '\n'.
  std::string QueryAll(const std::string& sql, int column = 0, size_t limit = SIZE_MAX) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_.get());
      return "";
    }
    std::unique_ptr<sqlite3_stmt, SqliteFinalizer> statement(raw);
    std::string all;
    for (size_t row = 0; row < limit && sqlite3_step(raw) == SQLITE_ROW; ++row) {
      const unsigned char* text = sqlite3_column_text(raw, column);
      if (!all.empty()) all += '\n';
      all += text ? reinterpret_cast<const char*>(text) : "";
    }
    return all;
  }

 private:
  std::unique_ptr<sqlite3, SqliteCloser> db_;
};

// --- Shared by the SqliteJournal tests ---

inline RunRecord SampleRun() {
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
inline T Ok(Result<T> result) {
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error());
  return result.ok() ? std::move(result).value() : T();
}

inline RunRecord CreateOrDie(Journal& journal, RunRecord run = SampleRun()) {
  return Ok(journal.CreateRun(std::move(run)));
}

inline AttemptRecord BeginOrDie(Journal& journal, const std::string& run_id,
                                const std::string& key) {
  AttemptRecord attempt;
  attempt.run_id = run_id;
  attempt.step_key = key;
  return Ok(journal.BeginAttempt(attempt));
}

inline std::vector<OutputChunk> ReadChunks(Journal& journal, const OutputQuery& query) {
  std::vector<OutputChunk> chunks;
  Status status = journal.ReadOutput(query, [&](const OutputChunk& chunk) {
    chunks.push_back(chunk);
    return true;
  });
  EXPECT_TRUE(status.ok()) << status.message();
  return chunks;
}

// All output `query` selects, concatenated.
inline std::string ReadAll(Journal& journal, const OutputQuery& query) {
  std::string all;
  for (const OutputChunk& chunk : ReadChunks(journal, query))
    all += chunk.bytes;
  return all;
}

inline AttemptOutcome Outcome(StepStatus status) {
  AttemptOutcome outcome;
  outcome.status = status;
  return outcome;
}

inline OutputQuery RunOutput(const std::string& run_id) {
  OutputQuery query;
  query.run_id = run_id;
  return query;
}

inline int64_t FileSize(const std::string& path) {
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

// Forks a child that opens a journal with `options`, creates a run, begins an attempt of
// `step_key`, calls `crash` and then dies without any cleanup, as a crash would (unless
// `crash` kills it first). Returns the child's wait status.
inline int RunInACrashingChild(const SqliteJournal::Options& options, const std::string& step_key,
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

}  // namespace stagecraft::journal::testing
