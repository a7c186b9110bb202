#pragma once

// Runs one command of a deployment step as a child process and supervises it: output
// streamed to a sink as it arrives, a deadline, Ctrl-C handling, and cleanup of what the
// command started. Modelled on ninja's subprocess-posix.cc (posix_spawn, a process group
// per command, stdin from /dev/null, close-on-exec pipes, signals only unblocked inside
// ppoll), with these additions:
//
//  - deadlines are ppoll timeouts and escalate SIGTERM -> grace -> SIGKILL;
//  - stdout and stderr stay apart and reach the sink chunk by chunk, never buffered;
//  - the step ends when its main process exits (watched through a pidfd), so a daemon it
//    started that keeps the output pipe open cannot hang the run;
//  - on timeout or interrupt, descendants that left the process group (setsid, double
//    fork) are found through /proc and killed too, as far as they can be attributed to the
//    step (see BecomeChildSubreaper in process_tree.h).
//
// Thread-safety: RunProcess may be called from several threads at once; each call owns
// its child. ReapOrphans is safe to call concurrently with RunProcess.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration.h"
#include "exec/output_sink.h"
#include "exec/signals.h"

namespace stagecraft::exec {

// Output reaches an OutputSink (exec/output_sink.h, shared with the masking sinks) on the
// thread that called RunProcess, one chunk per read() of up to 256 KiB: arbitrary bytes,
// not lines, possibly containing NUL. Sinks must not throw; if one does, the step's
// processes are killed and RunProcess reports kSpawnFailed with the exception text.

// Called once, right after the spawn, with the child's process group (0 for interactive
// children, which share ours) and its start time in clock ticks (see ProcessInfo), so the
// caller can record where the step's processes are before any of them can outlive it.
using StartedCallback = std::function<void(pid_t process_group, unsigned long long start_ticks)>;

inline constexpr int kStartGateFd = 3;

struct SpawnRequest {
  // argv[0] is looked up in the PATH of `env` (falling back to the engine's PATH when
  // `env` has none) unless it contains a '/'. Must not be empty.
  std::vector<std::string> argv;
  // The child's complete environment as "KEY=VALUE"; nothing of the engine's leaks in.
  std::vector<std::string> env;
  // Working directory; empty inherits the engine's. A missing directory is reported as
  // kSpawnFailed and nothing is started.
  std::string cwd;
  // false: stdin is /dev/null, stdout/stderr go to the sink, the child gets its own process
  // group. true: the child shares the engine's terminal and process group (as ninja's
  // console pool does) so it can read the keyboard and receives Ctrl-C directly; `sink`
  // is unused and on timeout only the child and its descendants are signalled.
  bool interactive = false;
  // Descriptors the child gets besides 0-2, as {engine's fd, child's fd}; the engine's own
  // stay close-on-exec. An engine fd must not be one of the child fds listed (they are
  // set up in order, so an earlier one would be overwritten).
  std::vector<std::pair<int, int>> extra_fds;
  // Deadline for the main process, measured from the spawn.
  std::optional<Millis> timeout;
  // Time between SIGTERM and SIGKILL when stopping the step.
  Millis kill_grace{5000};
  // Not owned; may be null, which discards the output.
  OutputSink* sink = nullptr;
  // Not owned; may be null, in which case signals are not watched. When set and already
  // pending() at the call, nothing is spawned and the outcome is kInterrupted: an
  // interrupt between steps must stop the run, not start the next step.
  const InterruptWatcher* interrupts = nullptr;
  // May be empty. Must not throw.
  StartedCallback on_started;
  // With on_started: the child's fd kStartGateFd is a pipe that receives one byte once
  // on_started has returned. A child that reads it before doing anything (and gives up on
  // end-of-file) never acts before the caller has recorded it, even if the caller dies in
  // between. Not for interactive children.
  bool start_gate = false;
};

struct ProcessOutcome {
  enum class Kind {
    kExited,       // the main process exited on its own; see exit_code
    kSignaled,     // the main process was killed by a signal nobody here sent
    kTimedOut,     // the deadline passed; the step's processes were stopped
    kInterrupted,  // the engine received SIGINT/SIGTERM/SIGHUP; the step was stopped
    kSpawnFailed,  // nothing could be started (or supervision failed); see error
  };
  Kind kind = Kind::kSpawnFailed;
  int exit_code = -1;        // when the main process exited normally, else -1
  int signal = 0;            // the signal that ended the main process, if one did
  int interrupt_signal = 0;  // for kInterrupted: what the engine received (SIGINT...)
  bool killed = false;       // stopping needed SIGKILL (grace ran out or second signal)
  std::string error;         // human-readable reason whenever !success()
  Millis elapsed{0};         // from spawn until the step's processes were accounted for
  // For kTimedOut: the deadline that passed. elapsed is longer by the time stopping took
  // (up to the kill grace), which is not what the operator configured.
  Millis timeout{0};

  bool success() const { return kind == Kind::kExited && exit_code == 0; }
};

// Runs `request` to completion. Blocks the calling thread; never throws.
ProcessOutcome RunProcess(const SpawnRequest& request);

// Reaps zombie children of the engine (orphans reparented to it as subreaper) without
// touching the main processes RunProcess calls are currently waiting for. Any other child
// the engine created outside RunProcess would be reaped too, so only call this if all
// child processes go through RunProcess. Returns how many were reaped.
int ReapOrphans();

}  // namespace stagecraft::exec
