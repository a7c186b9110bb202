#pragma once

// Thin RAII layer over the SQLite C API, shared by SqliteJournal and RunLock: opening
// DIR/journal.db with the journal's settings and schema, statements, transactions, and
// turning SQLite result codes into messages a user can act on. Internal to journal/.
//
// Ownership: a Database owns its sqlite3 connection; a Statement owns its sqlite3_stmt
// while it lives and then hands it back to the Database's cache of idle statements (see
// Database::Prepare); it borrows the Database, which must outlive it. Neither is thread-safe: each
// owner serializes its own calls (SqliteJournal and RunLock hold a mutex).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/duration.h"
#include "base/status.h"
#include "journal/database_options.h"

namespace stagecraft::journal {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

class Database;

// Hands a statement back to its database for reuse.
struct StatementReleaser {
  Database* db = nullptr;
  void operator()(sqlite3_stmt* stmt) const;
};

class Statement {
 public:
  Statement(Database& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt, StatementReleaser{&db}) {}
  Statement(Statement&&) = default;
  Statement& operator=(Statement&&) = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL's ?1. A failed bind is reported by the next Step.
  void Bind(int index, int64_t value);
  void Bind(int index, std::string_view text);  // copied
  void Bind(int index, const char* text) { Bind(index, std::string_view(text)); }
  void Bind(int index, const std::string& text) { Bind(index, std::string_view(text)); }
  // NULL when unset.
  template <typename T>
  void Bind(int index, const std::optional<T>& value) {
    if (value)
      Bind(index, *value);
    else
      BindNull(index);
  }
  void BindNull(int index);
  // Binds `values` to ?1, ?2... in order.
  template <typename... Values>
  void BindAll(const Values&... values) {
    int index = 0;
    (Bind(++index, values), ...);
  }
  // Not copied: `bytes` must stay alive until the next Step or Reset. Output batches use
  // it to avoid a second copy of every byte.
  void BindBlobNoCopy(int index, std::string_view bytes);

  // Runs one step: true when a row is available, false when done.
  Result<bool> Step();
  // Runs to completion, for statements that return no rows.
  Status Run();
  // Makes the statement reusable with new bindings.
  void Reset();

  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::optional<int> OptionalInt32(int column) const;
  std::string Text(int column) const;
  std::string_view Blob(int column) const;  // valid until the next Step or Reset
  bool IsNull(int column) const;

  // The remaining rows, each made into a T by `read` (which returns T or Result<T>); the
  // first error, from SQLite or from `read`, ends it.
  template <typename T, typename Read>
  Result<std::vector<T>> Rows(const Read& read) {
    std::vector<T> rows;
    while (true) {
      Result<bool> row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return rows;
      Result<T> value = read(*this);
      if (!value.ok()) return value.status();
      rows.push_back(std::move(value).value());
    }
  }

 private:
  void Keep(int rc);  // the first bind error, for Step to report

  Database* db_;
  std::unique_ptr<sqlite3_stmt, StatementReleaser> stmt_;
  int bind_error_ = SQLITE_OK;
};

class Database {
 public:
  // Opens (and with options.create, creates) DIR/journal.db: WAL, busy timeout, foreign
  // keys, then brings the schema up to date (schema.h). Every failure is a Status whose
  // message names the file and what to do.
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_.get(); }

  // Reuses an idle statement with the same text when there is one: the journal runs the
  // same few statements for every step, and compiling them anew was the largest part of
  // its CPU time per step.
  Result<Statement> Prepare(std::string_view sql);
  // Prepare, then Statement::BindAll.
  template <typename... Values>
  Result<Statement> Query(std::string_view sql, const Values&... values) {
    Result<Statement> statement = Prepare(sql);
    if (statement.ok()) statement->BindAll(values...);
    return statement;
  }
  // Query, then Statement::Rows.
  template <typename T, typename Read, typename... Values>
  Result<std::vector<T>> Rows(const Read& read, std::string_view sql, const Values&... values) {
    Result<Statement> statement = Query(sql, values...);
    if (!statement.ok()) return statement.status();
    return statement->Rows<T>(read);
  }
  // Query, then runs the statement to completion.
  template <typename... Values>
  Status Run(std::string_view sql, const Values&... values) {
    Result<Statement> statement = Query(sql, values...);
    return statement.ok() ? statement->Run() : statement.status();
  }
  // Run, for an UPDATE that must change a row: `missing` when it changed none.
  template <typename... Values>
  Status Update(const Status& missing, std::string_view sql, const Values&... values) {
    if (Status done = Run(sql, values...); !done.ok()) return done;
    return Changes() == 0 ? missing : Status::Ok();
  }
  // How many statements were compiled since Open (reused ones are not counted).
  int64_t compiled_statements() const { return compiled_statements_; }
  // Runs one or more statements that return no rows we need.
  Status Exec(const char* sql);
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_.get()); }

  // A Status for result code `rc`: "journal: disk full writing DIR/journal.db",
  // "journal: DIR/journal.db is not a SQLite database ..." and so on. `doing` describes
  // the operation for codes without a dedicated message ("reading runs").
  Status Error(int rc, std::string_view doing) const;

  // Sets PRAGMA synchronous for the next transactions: FULL for commits that must
  // survive power loss, NORMAL for bulk output. Must be called outside a transaction.
  Status SetSyncFull(bool full);

 private:
  Database(std::string path, std::unique_ptr<sqlite3, SqliteCloser> db, bool durable,
           bool fsync_commits)
      : path_(std::move(path)),
        db_(std::move(db)),
        durable_(durable),
        fsync_commits_(fsync_commits) {}

  std::string path_;
  std::unique_ptr<sqlite3, SqliteCloser> db_;
  bool durable_;
  bool fsync_commits_;
  Millis busy_timeout_{5000};
  std::optional<bool> sync_full_;  // what synchronous is set to now, if known
  // Declared after db_ so that they are finalized before the connection closes.
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, SqliteFinalizer>> idle_;
  int64_t compiled_statements_ = 0;

  friend struct StatementReleaser;
  void Release(sqlite3_stmt* stmt);
};

// The first of `rows`, or `missing` when there is none.
template <typename T>
Result<T> FirstRow(Result<std::vector<T>> rows, const Status& missing) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return missing;
  return std::move(rows->front());
}

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front, so a transaction
// that reads then writes (lock acquisition, attempt numbering) cannot be interleaved with
// another writer, and waiting happens in the busy handler rather than as a failed COMMIT.
// Rolls back on destruction unless committed.
class Transaction {
 public:
  // `durable`: the commit is fsynced (synchronous=FULL) before Commit returns.
  static Result<Transaction> Begin(Database& db, bool durable);

  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;  // null once committed or rolled back
};

}  // namespace stagecraft::journal
