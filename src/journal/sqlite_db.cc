#include "journal/sqlite_db.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/file_modes.h"
#include "journal/schema.h"

namespace stagecraft::journal {
namespace {

std::string Errno(int error) {
  return error ? std::strerror(error) : "unknown error";
}

// The directory must exist (or be creatable) and be writable: SQLite needs to create the
// -wal and -shm files beside the database even to read it in WAL mode, and checking
// first gives a message about the directory instead of a puzzling "unable to open".
Status PrepareDirectory(const std::string& dir, const std::string& path, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    if (!create) {
      return Status::Error(fmt::format(
          "journal: no journal at {} (nothing has run with this state directory)", path));
    }
    if (Status created = CreatePrivateDirectories(dir); !created.ok())
      return Status::Error("journal: " + created.message());
  } else if (ec) {
    return Status::Error(fmt::format("journal: cannot access {}: {}", dir, ec.message()));
  } else if (status.type() != fs::file_type::directory) {
    return Status::Error(fmt::format("journal: {} is not a directory", dir));
  }
  // AT_EACCESS: judge by the effective uid, the one that will open the file.
  if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return Status::Error(
        fmt::format("journal: directory {} is not writable ({})", dir, Errno(errno)));
  }
  if (!create && !fs::exists(path, ec)) {
    return Status::Error(
        fmt::format("journal: no journal at {} (nothing has run with this state directory)", path));
  }
  return Status::Ok();
}

// Creates the database file with the modes the directory gives (see base/file_modes.h)
// before SQLite does: SQLite would create it 0644 less the umask. Its -wal and -shm files
// then follow: SQLite creates them with the database file's mode. An existing file with
// permissions for the world (an older stagecraft made them) loses them.
Status PrepareDatabaseFile(const std::string& dir, const std::string& path, bool create) {
  CreationModes modes = ModesBeneath(dir);
  if (create) {
    int fd = OpenWithMode(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, modes.file);
    if (fd >= 0)
      close(fd);
    else if (errno != EEXIST)
      return Status::Error(fmt::format("journal: cannot create {}: {}", path, Errno(errno)));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string file = path + suffix;
    struct stat info {};
    // Only the owner may chmod; another user's journal is left as it is.
    if (stat(file.c_str(), &info) == 0 && (info.st_mode & S_IRWXO) && info.st_uid == geteuid())
      chmod(file.c_str(), info.st_mode & 07770);
  }
  return Status::Ok();
}

}  // namespace

// --- Statement ---

void StatementReleaser::operator()(sqlite3_stmt* stmt) const {
  if (db) {
    db->Release(stmt);
  } else {
    sqlite3_finalize(stmt);
  }
}

void Statement::Keep(int rc) {
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void Statement::Bind(int index, int64_t value) {
  Keep(sqlite3_bind_int64(stmt_.get(), index, value));
}

void Statement::Bind(int index, std::string_view text) {
  Keep(sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                           SQLITE_UTF8));
}

void Statement::BindNull(int index) {
  Keep(sqlite3_bind_null(stmt_.get(), index));
}

void Statement::BindBlobNoCopy(int index, std::string_view bytes) {
  // A zero-length blob still binds as a blob (not NULL) when the pointer is non-null.
  static const char kEmpty = 0;
  Keep(sqlite3_bind_blob64(stmt_.get(), index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                           SQLITE_STATIC));
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return db_->Error(bind_error_, "binding a value for");
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, "accessing");
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = SQLITE_OK;
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::optional<int> Statement::OptionalInt32(int column) const {
  if (IsNull(column)) return std::nullopt;
  return static_cast<int>(Int(column));
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (!text) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

std::string_view Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  if (!data) return std::string_view();
  return std::string_view(static_cast<const char*>(data),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

// --- Database ---

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  std::string dir = options.dir.empty() ? std::string(".") : options.dir;
  std::string path = (std::filesystem::path(dir) / "journal.db").string();
  if (Status status = PrepareDirectory(dir, path, options.create); !status.ok()) return status;
  if (Status status = PrepareDatabaseFile(dir, path, options.create); !status.ok()) return status;

  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; own it before anything else.
  std::unique_ptr<sqlite3, SqliteCloser> handle(raw);
  std::unique_ptr<Database> db(
      new Database(path, std::move(handle), options.durable, options.fsync_commits));
  if (rc != SQLITE_OK) return db->Error(rc, "opening");
  sqlite3_extended_result_codes(db->handle(), 1);
  sqlite3_busy_timeout(db->handle(), static_cast<int>(options.busy_timeout.count()));
  db->busy_timeout_ = options.busy_timeout;

  // SQLite silently falls back to read-only when the file's permissions forbid writing.
  if (sqlite3_db_readonly(db->handle(), "main") == 1) {
    return Status::Error(fmt::format("journal: cannot write {}: the file is read-only", path));
  }

  // SQLite's default 4 KiB pages, deliberately: 64 KiB pages wrote 1 GiB of output ~40%
  // faster but made each step's five small commits ~30% slower, and per-step cost is
  // what runbooks mostly pay.

  // WAL: readers (`logs -f`, `runs`) never block the writer and vice versa. Switching
  // modes needs a moment of exclusive access, and SQLite reports BUSY for it without
  // calling the busy handler when several processes open a new journal at once, so retry
  // here within the same budget.
  auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
  while (true) {
    Result<Statement> pragma = db->Prepare("PRAGMA journal_mode=WAL");
    Result<bool> row = pragma.ok() ? pragma->Step() : Result<bool>(pragma.status());
    if (row.ok()) break;
    int code = sqlite3_errcode(db->handle()) & 0xff;
    bool busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    if (!busy || std::chrono::steady_clock::now() >= deadline) return row.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  if (Status status = db->Exec("PRAGMA foreign_keys=ON"); !status.ok()) return status;
  // Checkpoint every 16 MiB of WAL instead of SQLite's 4 MiB: bulk output copies from the
  // WAL to the database in fewer, larger passes (measured ~10% faster on 1 GiB), and the
  // WAL stays small enough not to matter.
  if (Status status = db->Exec("PRAGMA wal_autocheckpoint=4096"); !status.ok()) return status;
  // NORMAL between durable commits (see SetSyncFull); OFF only for scratch journals.
  const char* sync = options.durable ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=OFF";
  if (Status status = db->Exec(sync); !status.ok()) return status;
  db->sync_full_ = false;
  if (options.max_pages > 0) {
    std::string cap = fmt::format("PRAGMA max_page_count={}", options.max_pages);
    if (Status status = db->Exec(cap.c_str()); !status.ok()) return status;
  }

  if (Status status = MigrateSchema(*db); !status.ok()) return status;
  return db;
}

Result<Statement> Database::Prepare(std::string_view sql) {
  // Taken out of the cache while in use, so two live statements never share one handle.
  if (auto idle = idle_.find(std::string(sql)); idle != idle_.end()) {
    sqlite3_stmt* raw = idle->second.release();
    idle_.erase(idle);
    return Statement(*this, raw);
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Error(rc, "reading");
  }
  ++compiled_statements_;
  return Statement(*this, raw);
}

void Database::Release(sqlite3_stmt* stmt) {
  if (!stmt) return;
  // Reset releases the statement's read lock, so an idle statement holds nothing.
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // Bounded, because a few statements carry values in their text (a LIMIT).
  constexpr size_t kMaxIdle = 64;
  const char* text = sqlite3_sql(stmt);
  if (!text || idle_.size() >= kMaxIdle || idle_.count(text)) {
    sqlite3_finalize(stmt);
    return;
  }
  idle_.emplace(text, stmt);
}

Status Database::Exec(const char* sql) {
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "writing");
  return Status::Ok();
}

Status Database::Error(int rc, std::string_view doing) const {
  int primary = rc & 0xff;
  int sys_errno = db_ ? sqlite3_system_errno(db_.get()) : 0;
  std::string detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  switch (primary) {
    case SQLITE_FULL:
      return Status::Error(fmt::format("journal: disk full writing {}", path_));
    case SQLITE_IOERR:
      if (sys_errno == ENOSPC || sys_errno == EDQUOT)
        return Status::Error(fmt::format("journal: disk full writing {}", path_));
      return Status::Error(
          fmt::format("journal: I/O error {} {}: {} ({})", doing, path_, detail, Errno(sys_errno)));
    case SQLITE_NOTADB:
      return Status::Error(fmt::format(
          "journal: {} is not a SQLite database; move it aside or choose another state directory",
          path_));
    case SQLITE_CORRUPT:
      return Status::Error(fmt::format("journal: {} is corrupt ({})", path_, detail));
    case SQLITE_READONLY:
      return Status::Error(fmt::format("journal: cannot write {}: read-only ({})", path_, detail));
    case SQLITE_CANTOPEN:
      return Status::Error(
          fmt::format("journal: cannot open {}: {} ({})", path_, detail, Errno(sys_errno)));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Error(
          fmt::format("journal: {} is busy: another process kept it locked for more than {} ms",
                      path_, busy_timeout_.count()));
    default:
      return Status::Error(fmt::format("journal: {} {} failed: {}", doing, path_, detail));
  }
}

Status Database::SetSyncFull(bool full) {
  // A scratch journal stays at synchronous=OFF.
  if (!durable_ || !fsync_commits_) return Status::Ok();
  if (sync_full_ == full) return Status::Ok();
  Status status = Exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  sync_full_ = status.ok() ? std::optional<bool>(full) : std::nullopt;
  return status;
}

// --- Transaction ---

Result<Transaction> Transaction::Begin(Database& db, bool durable) {
  if (Status status = db.SetSyncFull(durable); !status.ok()) return status;
  if (Status status = db.Exec("BEGIN IMMEDIATE"); !status.ok()) return status;
  return Transaction(db);
}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR); only roll back a
  // transaction that is still open.
  if (db_ && !sqlite3_get_autocommit(db_->handle())) db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Database* db = db_;
  db_ = nullptr;
  if (!db) return Status::Error("journal: internal error: transaction already finished");
  Status status = db->Exec("COMMIT");
  if (!status.ok() && !sqlite3_get_autocommit(db->handle())) db->Exec("ROLLBACK");
  return status;
}

}  // namespace stagecraft::journal
