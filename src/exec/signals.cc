#include "exec/signals.h"

#include <string.h>

#include <atomic>

namespace stagecraft::exec {
namespace {

constexpr int kWatched[3] = {SIGINT, SIGTERM, SIGHUP};

// The counter is a lock-free atomic rather than a plain sig_atomic_t because with several
// threads two signals can be handled at the same moment on different threads, and a
// read-modify-write on a sig_atomic_t could then lose the second Ctrl-C, the one that
// means "kill now". Lock-free atomics are async-signal-safe.
std::atomic<int> g_signal_count{0};
static_assert(std::atomic<int>::is_always_lock_free);
// Atomic too: the handler may run on another thread (the lock heartbeat's) than the one
// that reads it.
std::atomic<int> g_last_signal{0};

extern "C" void HandleInterrupt(int signal) {
  g_last_signal.store(signal);
  g_signal_count.fetch_add(1);
}

}  // namespace

InterruptWatcher::InterruptWatcher() : baseline_(g_signal_count.load()) {
  IgnoreSigpipe();
  struct sigaction action = {};
  action.sa_handler = HandleInterrupt;
  // Blocking the other watched signals while one is handled keeps g_last_signal and the
  // count describing the same signal. No SA_RESTART: a blocking call in the engine should
  // see EINTR and get a chance to look at pending().
  action.sa_mask = WatchedSignals();
  for (int i = 0; i < 3; ++i)
    sigaction(kWatched[i], &action, &previous_[i]);
}

InterruptWatcher::~InterruptWatcher() {
  for (int i = 0; i < 3; ++i)
    sigaction(kWatched[i], &previous_[i], nullptr);
}

int InterruptWatcher::count() const {
  return g_signal_count.load() - baseline_.load();
}

int InterruptWatcher::last_signal() const {
  return g_last_signal.load();
}

void InterruptWatcher::Clear() {
  baseline_.store(g_signal_count.load());
}

sigset_t InterruptWatcher::WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kWatched)
    sigaddset(&set, signal);
  return set;
}

void IgnoreSigpipe() {
  struct sigaction action = {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  sigaction(SIGPIPE, &action, nullptr);
}

std::string SignalName(int signal) {
  // sigabbrev_np (glibc 2.32) is thread-safe, unlike strsignal's buffer on older glibc.
  if (const char* abbrev = sigabbrev_np(signal)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signal);
}

}  // namespace stagecraft::exec
