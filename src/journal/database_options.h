#pragma once

// How DIR/journal.db is opened: shared by SqliteJournal::Options and the run locks.

#include <cstdint>
#include <string>

#include "base/duration.h"

namespace stagecraft::journal {

struct DatabaseOptions {
  std::string dir = ".stagecraft";
  // Create DIR and DIR/journal.db when missing. Commands that only read history pass
  // false so they do not leave an empty .stagecraft behind.
  bool create = true;
  // How long a writer waits for another process's write transaction.
  Millis busy_timeout{5000};
  // false: synchronous=OFF, for scratch journals (tests, benchmarks). Never for real runs.
  bool durable = true;
  // true: durable commits are fsynced (synchronous=FULL) and survive power loss. false:
  // they are written to the WAL before returning (synchronous=NORMAL), which survives the
  // death of the process (kill -9, OOM) but not of the machine, and spares an fsync per
  // commit.
  bool fsync_commits = true;
  // Caps the file at this many pages (PRAGMA max_page_count); 0 = no cap. Tests use it to
  // make SQLITE_FULL happen without filling a disk.
  int64_t max_pages = 0;
};

}  // namespace stagecraft::journal
