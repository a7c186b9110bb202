#pragma once

// The state directory (state_location.h finds it) as the commands see it: the journal
// in it, run ids typed by people, and times shown to them.

#include <memory>
#include <string>

#include "base/status.h"
#include "journal/records.h"
#include "journal/sqlite_journal.h"

namespace stagecraft::cli {

// Opens STATE/journal.db. With `create` the directory and database are made when missing;
// without, a missing journal is an error that says so ("no runs recorded in ...").
// `fsync`: commits survive power loss, not only the engine's death (slower; `--fsync`).
Result<std::unique_ptr<journal::SqliteJournal>> OpenJournal(const std::string& state_dir,
                                                            bool create, bool fsync = false);

// A run id as typed: the full id, a unique prefix, or "latest"/"" for the newest run.
Result<std::string> ResolveRun(journal::Journal& journal, const std::string& typed);

// True for a run still marked running whose process is gone from this host: the engine
// was killed and never finished the record.
bool IsAbandoned(const journal::RunRecord& run);

// True for a run waiting at a gate whose engine still waits with it (--wait-for-approval):
// a decision reaches it without `resume`.
bool IsWaitingAttached(const journal::RunRecord& run);

// "running", or "abandoned" for an abandoned run, else the stored status name.
std::string DisplayStatus(const journal::RunRecord& run);

// Local time "2026-11-29 21:03:05".
std::string FormatTime(journal::TimeMs at);

}  // namespace stagecraft::cli
