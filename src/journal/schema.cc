#include "journal/schema.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "journal/sqlite_db.h"

namespace stagecraft::journal {
namespace {

// Version 1: runs, their planned steps, attempts, output and approvals.
//
// Statuses and kinds are stored as text without CHECK constraints: adding a status later
// then needs no table rebuild (SQLite cannot alter a CHECK), and readers reject values
// they do not know.
Status CreateCoreTables(Database& db) {
  return db.Exec(R"sql(
    CREATE TABLE runs (
      id TEXT PRIMARY KEY NOT NULL,
      runbook_path TEXT NOT NULL,
      runbook_hash TEXT NOT NULL,
      structure_hash TEXT NOT NULL,
      environment TEXT NOT NULL,
      user TEXT NOT NULL,
      host TEXT NOT NULL,
      pid INTEGER NOT NULL,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      status TEXT NOT NULL,
      exit_code INTEGER,
      scope TEXT NOT NULL,
      cwd TEXT NOT NULL,
      options TEXT NOT NULL
    );
    -- `runs` lists newest first; `resume` looks for the latest run of a runbook.
    CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
    CREATE INDEX runs_by_runbook ON runs (runbook_path, environment, started_at DESC, id DESC);

    CREATE TABLE steps (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_key TEXT NOT NULL,
      position INTEGER NOT NULL,
      phase TEXT NOT NULL,
      title TEXT NOT NULL,
      kind TEXT NOT NULL,
      budget_ms INTEGER,
      content_hash TEXT NOT NULL,
      status TEXT NOT NULL,
      PRIMARY KEY (run_id, step_key)
    ) WITHOUT ROWID;

    CREATE TABLE attempts (
      id INTEGER PRIMARY KEY,
      run_id TEXT NOT NULL,
      step_key TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      status TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      exit_code INTEGER,
      signal INTEGER,
      budget_ms INTEGER,
      message TEXT NOT NULL,
      captures TEXT NOT NULL,
      UNIQUE (run_id, step_key, attempt),
      FOREIGN KEY (run_id, step_key) REFERENCES steps (run_id, step_key) ON DELETE CASCADE
    );

    -- run_id is denormalized from attempts so a run's output reads in seq order straight
    -- off output_by_run, without a sort. The blob is the last column so filters on the
    -- others never touch its overflow pages.
    CREATE TABLE output (
      seq INTEGER PRIMARY KEY,
      run_id TEXT NOT NULL,
      attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
      stream INTEGER NOT NULL,
      at INTEGER NOT NULL,
      bytes BLOB NOT NULL
    );
    CREATE INDEX output_by_run ON output (run_id, seq);
    CREATE INDEX output_by_attempt ON output (attempt_id, seq);

    CREATE TABLE approvals (
      id INTEGER PRIMARY KEY,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_key TEXT NOT NULL,
      who TEXT NOT NULL,
      at INTEGER NOT NULL,
      how TEXT NOT NULL,
      decision TEXT NOT NULL,
      comment TEXT NOT NULL
    );
    CREATE INDEX approvals_by_run ON approvals (run_id, id);
  )sql");
}

// Version 2: run locks live beside the runs they protect, and runs count their resumes.
Status AddLocksAndResumes(Database& db) {
  return db.Exec(R"sql(
    ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;

    -- No foreign key to runs: the lock is taken before the run row exists.
    CREATE TABLE locks (
      lock_key TEXT PRIMARY KEY NOT NULL,
      lock_id TEXT NOT NULL UNIQUE,
      run_id TEXT NOT NULL,
      user TEXT NOT NULL,
      host TEXT NOT NULL,
      pid INTEGER NOT NULL,
      started_at INTEGER NOT NULL,
      heartbeat_at INTEGER NOT NULL,
      lease_ms INTEGER NOT NULL
    );
  )sql");
}

// Version 3: output past an attempt's inline share lives in a side file per attempt
// (output_files.h); its rows keep an empty blob and say where the bytes are. The columns
// are NULL on inline rows: a NULL takes no bytes in the record, so reading it never
// touches the overflow pages of the blob before it.
Status AddOutputFileColumns(Database& db) {
  return db.Exec(R"sql(
    ALTER TABLE output ADD COLUMN file_offset INTEGER;
    ALTER TABLE output ADD COLUMN file_length INTEGER;
  )sql");
}

// Version 4: the process group of each attempt's command, so a resume after the engine was
// killed can find what the step left running.
Status AddAttemptProcessColumns(Database& db) {
  return db.Exec(R"sql(
    ALTER TABLE attempts ADD COLUMN pgid INTEGER;
    ALTER TABLE attempts ADD COLUMN pgid_start INTEGER;
  )sql");
}

// Version 5: the step hierarchy and an attempt's detail get columns of their own. Before,
// an item's key was "<step>/<n>", a rollback block's "rollback/<n>", and `position` encoded
// both orders in one number; messages carried their detail after the first newline. Old
// rows are converted once here, so no reader has to parse keys or split messages.
Status AddHierarchyAndDetailColumns(Database& db) {
  return db.Exec(R"sql(
    ALTER TABLE steps ADD COLUMN parent_key TEXT;
    ALTER TABLE steps ADD COLUMN ordinal INTEGER NOT NULL DEFAULT 0;

    -- An item is a record with a '/' in its key whose prefix is a step planned in the same
    -- run; rollback blocks and records whose prefix names no step stay top-level.
    UPDATE steps SET parent_key = substr(step_key, 1, instr(step_key, '/') - 1)
     WHERE instr(step_key, '/') > 1 AND kind NOT IN ('rollback', 'compensation')
       AND EXISTS (SELECT 1 FROM steps p
                    WHERE p.run_id = steps.run_id
                      AND p.step_key = substr(steps.step_key, 1, instr(steps.step_key, '/') - 1));

    -- Ordinals are ranks of the old positions among siblings, whatever spacing they had.
    UPDATE steps SET ordinal = ranked.n
      FROM (SELECT run_id, step_key,
                   row_number() OVER (
                     PARTITION BY run_id, parent_key, kind IN ('rollback', 'compensation')
                     ORDER BY position, step_key) AS n
              FROM steps) AS ranked
     WHERE ranked.run_id = steps.run_id AND ranked.step_key = steps.step_key;

    ALTER TABLE steps DROP COLUMN position;

    ALTER TABLE attempts ADD COLUMN detail TEXT NOT NULL DEFAULT '';
    UPDATE attempts
       SET message = substr(message, 1, instr(message, char(10)) - 1),
           detail = substr(message, instr(message, char(10)) + 1)
     WHERE instr(message, char(10)) > 0;
  )sql");
}

// Version 6: every attempt at delivering a notification. Targets are kept by label only:
// their URLs may hold tokens.
Status AddNotifications(Database& db) {
  return db.Exec(R"sql(
    CREATE TABLE notifications (
      id INTEGER PRIMARY KEY,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      target TEXT NOT NULL,
      event TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      at INTEGER NOT NULL,
      duration_ms INTEGER NOT NULL,
      http_status INTEGER,
      delivered INTEGER NOT NULL,
      error TEXT NOT NULL
    );
    CREATE INDEX notifications_by_run ON notifications (run_id, id);
  )sql");
}

// Append only: a released binary's migrations never change, because files out there are
// already at their versions.
constexpr std::array<Migration, 6> kMigrations{{
    {1, "runs, steps, attempts, output, approvals", &CreateCoreTables},
    {2, "run locks; runs.resumes", &AddLocksAndResumes},
    {3, "output.file_offset, output.file_length for output in side files", &AddOutputFileColumns},
    {4, "attempts.pgid, attempts.pgid_start for processes left behind", &AddAttemptProcessColumns},
    {5, "steps.parent_key, steps.ordinal instead of steps.position; attempts.detail",
     &AddHierarchyAndDetailColumns},
    {6, "notifications: delivery attempts of notify targets", &AddNotifications},
}};

constexpr bool VersionsAreConsecutive() {
  for (size_t i = 0; i < kMigrations.size(); ++i)
    if (kMigrations[i].version != static_cast<int>(i) + 1) return false;
  return true;
}
static_assert(VersionsAreConsecutive(), "migration N must bring a file to version N");

Result<int64_t> ReadInt(Database& db, const char* sql) {
  Result<Statement> statement = db.Prepare(sql);
  if (!statement.ok()) return statement.status();
  Result<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  return *row ? statement->Int(0) : int64_t{0};
}

Status NewerFileError(const Database& db, int64_t version) {
  return Status::Error(
      fmt::format("journal: {} has schema version {}, newer than this stagecraft understands ({}); "
                  "upgrade stagecraft to read it",
                  db.path(), version, CurrentSchemaVersion()));
}

}  // namespace

int CurrentSchemaVersion() {
  return kMigrations.back().version;
}

Status MigrateSchema(Database& db) {
  // Read outside a transaction first: the common case (up to date) then takes no write
  // lock, so `logs -f` can open the journal while a run is writing it.
  Result<int64_t> version = ReadInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version == CurrentSchemaVersion()) return Status::Ok();
  if (*version > CurrentSchemaVersion()) return NewerFileError(db, *version);

  Result<Transaction> transaction = Transaction::Begin(db, /*durable=*/true);
  if (!transaction.ok()) return transaction.status();
  // Again under the write lock: another process may have migrated meanwhile.
  version = ReadInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version == CurrentSchemaVersion()) return transaction->Commit();
  if (*version > CurrentSchemaVersion()) return NewerFileError(db, *version);

  if (*version == 0) {
    Result<int64_t> tables =
        ReadInt(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
    if (!tables.ok()) return tables.status();
    if (*tables > 0) {
      return Status::Error(fmt::format(
          "journal: {} is a SQLite database but not a stagecraft journal; move it aside or "
          "choose another state directory",
          db.path()));
    }
  }

  for (const Migration& migration : kMigrations) {
    if (migration.version <= *version) continue;
    if (Status status = migration.apply(db); !status.ok()) {
      return Status::Error(fmt::format("journal: upgrading {} to schema version {} ({}): {}",
                                       db.path(), migration.version, migration.summary,
                                       status.message()));
    }
  }
  std::string set_version = fmt::format("PRAGMA user_version={}", CurrentSchemaVersion());
  if (Status status = db.Exec(set_version.c_str()); !status.ok()) return status;
  return transaction->Commit();
}

}  // namespace stagecraft::journal
