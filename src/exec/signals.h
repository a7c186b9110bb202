#pragma once

// Interrupt handling for the engine: Ctrl-C (SIGINT), SIGTERM and SIGHUP become a counter
// the engine and RunProcess can look at, instead of killing the engine while a deployment
// step is half done.
//
// Signal dispositions are process-wide, so the state behind an InterruptWatcher is too:
// every watcher reads the same counter. Each watcher remembers the count when it was
// created (or last cleared), so nested or successive watchers do not see each other's
// signals as their own.
//
// Thread-safety: the query methods and Clear() may be called from any thread at any time. Construct
// and destroy a watcher on one thread, and do not interleave the lifetimes of two
// watchers other than by strict nesting (each restores what it replaced).
//
// How signals reach RunProcess: the handlers only bump an atomic counter. RunProcess
// blocks the three signals on its own thread while it runs and unblocks them only inside
// ppoll (through ppoll's sigmask argument), so a signal aimed at the engine either
// interrupts that ppoll or is handled by another thread; RunProcess re-checks the counter
// at least every 100 ms for the second case. Between steps the signals are not blocked,
// so pending() turns true as soon as one arrives.

#include <atomic>
#include <csignal>
#include <string>

namespace stagecraft::exec {

class InterruptWatcher {
 public:
  // Installs the handlers for SIGINT, SIGTERM and SIGHUP; the destructor restores the
  // previous dispositions. Also calls IgnoreSigpipe(), which is never undone.
  InterruptWatcher();
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // True once a watched signal arrived since construction or the last Clear().
  bool pending() const { return count() > 0; }
  // How many watched signals arrived since construction or the last Clear().
  int count() const;
  // The most recent watched signal (SIGINT, SIGTERM or SIGHUP); 0 if none ever arrived.
  int last_signal() const;
  // Acknowledges the signals seen so far, e.g. when the engine decides to run a rollback
  // after an interrupted step; a later signal makes pending() true again.
  void Clear();

  // The signals a watcher handles, as a set for sigprocmask/ppoll.
  static sigset_t WatchedSignals();

 private:
  std::atomic<int> baseline_{0};
  struct sigaction previous_[3] = {};
};

// Sets SIGPIPE to SIG_IGN for the whole process. The engine writes step output to
// terminals, files and pipes; when a reader such as `| head` goes away the write must
// fail with EPIPE and be reported, not kill the engine mid-deployment. RunProcess calls
// this on its first use and resets SIGPIPE to the default in every child, so commands
// still see the usual shell behaviour. Idempotent and thread-safe.
void IgnoreSigpipe();

// "SIGINT" for SIGINT; "signal 42" for numbers without a name.
std::string SignalName(int signal);

}  // namespace stagecraft::exec
