#pragma once

// The run locks a `run`, `resume` or `rollback` takes before its first block.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/run_command.h"
#include "journal/lock.h"
#include "runbook/model.h"

namespace stagecraft::cli {

// The keys a run of the runbook at `path` in `environment` locks. The runbook's `lock:`
// key when it has one; otherwise its path inside the git work tree holding it (the same in
// every clone sharing a state), or outside one its real path (symbolic links resolved, so
// every path to the file is the same lock), with the environment; for a file with several
// hard links also its device and inode, which all its names share.
std::vector<std::string> LockKeys(const runbook::Runbook& book, const std::string& path,
                                  const std::string& environment);

// Takes every key in order, or prints who holds one (or what went wrong) and takes none.
// The first lock is the one whose heartbeat the engine checks; the others beat on their
// own threads.
std::optional<std::vector<std::unique_ptr<journal::RunLock>>> TakeLocks(
    const std::vector<std::string>& keys, const std::string& run_id, const ExecutionFlags& flags);

}  // namespace stagecraft::cli
