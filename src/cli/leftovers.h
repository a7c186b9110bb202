#pragma once

// Processes a killed engine left behind. When stagecraft dies with SIGKILL, the step it
// was running keeps running: nothing is left to stop it. A resume (or rollback) that
// started the step again, or undid it, would race that survivor. The journal records each
// attempt's process group (journal::AttemptRecord::process_group); before continuing a
// run, the attempts that never ended are looked up in /proc here.

#include <chrono>
#include <string>
#include <vector>

#include "exec/process_tree.h"
#include "journal/records.h"

namespace stagecraft::cli {

struct Leftover {
  std::string step_key;
  std::vector<exec::ProcessInfo> processes;
};

// The live processes of `attempts` that never ended, from `snapshot`: members of the
// recorded process group started no earlier than its leader was. A group whose leader
// still exists with another start time is a later group reusing the number: skipped.
std::vector<Leftover> FindLeftovers(const std::vector<journal::AttemptRecord>& attempts,
                                    const std::vector<exec::ProcessInfo>& snapshot);

// Refuses (printing which pids, returning false) when the run's open attempts still have
// processes, unless `kill`: then says so, stops them (SIGTERM, then SIGKILL after
// `grace`) and returns true once they are gone.
bool HandleLeftovers(const journal::RunRecord& run,
                     const std::vector<journal::AttemptRecord>& attempts, bool kill,
                     std::chrono::milliseconds grace);

}  // namespace stagecraft::cli
