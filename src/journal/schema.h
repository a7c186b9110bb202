#pragma once

// The journal's schema and its migrations. PRAGMA user_version holds the version a file
// is at; opening a file runs the migrations above that version in one transaction, so a
// file is always at exactly one known version. A file newer than this binary is refused
// rather than guessed at. Internal to journal/; docs/journal-format.md describes the
// tables for users.

#include <string_view>

#include "base/status.h"

namespace stagecraft::journal {

class Database;

// One step of the schema's history: brings a file from version - 1 to version. Functions
// (not just SQL) so a migration can also rewrite data.
struct Migration {
  int version;
  std::string_view summary;
  Status (*apply)(Database& db);
};

// The version this binary writes.
int CurrentSchemaVersion();

// Brings `db` to CurrentSchemaVersion(). Refuses files with a newer version and SQLite
// files that hold other applications' tables.
Status MigrateSchema(Database& db);

}  // namespace stagecraft::journal
