#pragma once

// Helpers for the journal tests. Header-only, so the library carries no test code.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

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

}  // namespace stagecraft::journal::testing
