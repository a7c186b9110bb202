#pragma once

// A read-only view of the Linux process table (/proc) and the few operations the process
// layer needs on it: finding everything a step started, even processes that left its
// process group with setsid, and signalling them without hitting a recycled pid.
//
// All functions are thread-safe; a snapshot is only a moment's truth, so callers re-read
// before acting (SignalProcess does this itself).

#include <sys/types.h>

#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stagecraft::exec {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = '?';  // as in /proc: R, S, D, T, Z, X...
  // Start time in clock ticks since boot. Together with pid it names one process: a pid
  // can be reused, a (pid, start) pair cannot.
  unsigned long long start_ticks = 0;

  bool dead() const { return state == 'Z' || state == 'X'; }
};

// Parses the contents of /proc/<pid>/stat. The command name sits in parentheses and may
// itself contain spaces and parentheses, so fields are counted from the last ')'.
std::optional<ProcessInfo> ParseProcStat(std::string_view stat);

// The current state of `pid`; nullopt once it is fully gone (reaped).
std::optional<ProcessInfo> ReadProcessInfo(pid_t pid);

// Every process visible in /proc, in no particular order.
std::vector<ProcessInfo> ListProcesses();

// The processes of `snapshot` reachable from `roots` through parent links, roots included
// (roots missing from the snapshot are skipped). Each process appears once.
std::vector<ProcessInfo> CollectDescendants(const std::vector<ProcessInfo>& snapshot,
                                            const std::vector<pid_t>& roots);

// True if the process `process` describes is still running: its pid exists, has the same
// start time, and is not a zombie.
bool IsAlive(const ProcessInfo& process);

// Sends `signal` to `process` unless its pid now names a different process. A pidfd pins
// the process between the identity check and the kill, so a recycled pid is never hit.
// Returns false if the process was gone (or reused) or could not be signalled.
bool SignalProcess(const ProcessInfo& process, int signal);

// Marks the engine as a child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphans of the
// processes it starts are reparented to the engine instead of init, so a step's
// descendants that daemonized with setsid can still be found (their ppid is ours) and
// killed on timeout or interrupt. Process-wide and permanent; the engine should call
// ReapOrphans() now and then to collect the zombies this brings.
Status BecomeChildSubreaper();
bool IsChildSubreaper();

}  // namespace stagecraft::exec
