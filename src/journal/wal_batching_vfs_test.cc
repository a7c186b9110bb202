#include "journal/wal_batching_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "journal/sqlite_db.h"
#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::RawDb;
using ::stagecraft::journal::testing::TempDir;

// A connection through the batching VFS, set up like the journal's (WAL, `synchronous`).
std::unique_ptr<sqlite3, SqliteCloser> OpenBatching(const std::string& path, const char* sync) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           WalBatchingVfsName());
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  EXPECT_EQ(rc, SQLITE_OK);
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + sync +
                      "; CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB);";
  EXPECT_EQ(sqlite3_exec(db.get(), setup.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  return db;
}

void InsertBlob(sqlite3* db, size_t size, char fill) {
  sqlite3_stmt* raw = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t (b) VALUES (?1)", -1, &raw, nullptr), SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, SqliteFinalizer> insert(raw);
  std::string blob(size, fill);
  sqlite3_bind_blob(raw, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(raw), SQLITE_DONE) << sqlite3_errmsg(db);
}

// The point of the commit-frame flush: a reader in another connection (here one through
// SQLite's own VFS, as another process would have) sees every commit as soon as it
// returns, whatever its size relative to the buffer.
TEST(WalBatchingVfsTest, EveryCommitIsVisibleToAPlainConnectionRightAway) {
  TempDir dir;
  std::string path = dir.Sub("t.db");
  auto writer = OpenBatching(path, "NORMAL");
  RawDb reader(path);
  size_t total = 0;
  int rows = 0;
  for (size_t size : {10, 4000, 4097, 65536, 65537, 200000, 1, 131072, 1 << 20, 7}) {
    InsertBlob(writer.get(), size, static_cast<char>('a' + rows % 26));
    total += size;
    ++rows;
    EXPECT_EQ(reader.Query("SELECT count(*) FROM t"), std::to_string(rows));
    EXPECT_EQ(reader.Query("SELECT sum(length(b)) FROM t"), std::to_string(total));
  }
  EXPECT_EQ(reader.Query("PRAGMA integrity_check"), "ok");
}

TEST(WalBatchingVfsTest, TransactionsSpanningCheckpointsSurviveClosing) {
  TempDir dir;
  std::string path = dir.Sub("t.db");
  {
    auto writer = OpenBatching(path, "OFF");
    ASSERT_EQ(sqlite3_exec(writer.get(), "PRAGMA wal_autocheckpoint=64", nullptr, nullptr, nullptr),
              SQLITE_OK);
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(sqlite3_exec(writer.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
                SQLITE_OK);
      for (int j = 0; j < 4; ++j)
        InsertBlob(writer.get(), 50000, static_cast<char>('a' + j));
      ASSERT_EQ(sqlite3_exec(writer.get(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    }
    // A rolled-back transaction's frames are buffered too, and must not resurface.
    ASSERT_EQ(sqlite3_exec(writer.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    InsertBlob(writer.get(), 300000, 'z');
    ASSERT_EQ(sqlite3_exec(writer.get(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
    InsertBlob(writer.get(), 10, 'y');
  }
  RawDb reader(path);
  EXPECT_EQ(reader.Query("SELECT count(*) FROM t"), "201");
  EXPECT_EQ(reader.Query("SELECT sum(length(b)) FROM t"), std::to_string(200 * 50000 + 10));
  EXPECT_EQ(reader.Query("SELECT count(*) FROM t WHERE b LIKE 'z%'"), "0");
  EXPECT_EQ(reader.Query("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace stagecraft::journal
