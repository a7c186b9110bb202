#include "exec/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37); harmless when present.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "base/status.h"
#include "exec/process_tree.h"
#include "exec/spawn_parts.h"

namespace stagecraft::exec {
namespace {

using namespace internal;
using Clock = std::chrono::steady_clock;

// One read() per ready pipe per loop turn: big enough for throughput, small enough that
// memory stays flat however much a command prints.
constexpr size_t kReadBufferSize = 256 * 1024;
// After the main process exits, everything already in the pipes is read whatever it takes
// (a slow console or journal only delays it). Past that, the pipes are followed while they
// keep producing: reading stops once nothing arrived for kQuietPeriod (a daemon that holds
// the pipe open but writes nothing), or after kFollowLimit of continuous output (a daemon
// that never stops writing), so neither can keep the step open forever.
constexpr Millis kQuietPeriod{100};
constexpr Millis kFollowLimit{5000};
// A signal handled on another thread does not wake our ppoll, so we look at the counter
// at least this often while a watcher is attached.
constexpr Millis kSignalRecheck{100};
// While stopping a step whose main process is gone, how often to look for survivors.
constexpr Millis kStragglerPoll{20};
// How long SIGKILLed processes get to disappear before we stop waiting for them (a
// process stuck in uninterruptible sleep cannot be helped).
constexpr Millis kKillWait{2000};
// Without pidfd support the main process's exit is noticed by polling at this interval.
constexpr Millis kExitPoll{10};

// Main processes RunProcess calls are waiting for. ReapOrphans must never reap these, or
// the owning RunProcess would lose the exit status. Spawning, reaping a main process and
// ReapOrphans all hold the mutex, so a pid is in the set for exactly as long as it names
// an unreaped main process.
std::mutex g_children_mutex;
std::unordered_set<pid_t> g_main_children;

// Reaps zombie children of ours that are not RunProcess main processes. With `only`, just
// those processes (matched by pid and start time). Caller must not hold the mutex.
int ReapDeadChildren(const std::vector<ProcessInfo>* only) {
  int reaped = 0;
  pid_t self = getpid();
  std::lock_guard<std::mutex> lock(g_children_mutex);
  auto reap = [&](const ProcessInfo& process) {
    if (process.ppid != self || !process.dead() || g_main_children.count(process.pid)) return;
    if (waitpid(process.pid, nullptr, WNOHANG) == process.pid) ++reaped;
  };
  if (only) {
    for (const ProcessInfo& target : *only) {
      std::optional<ProcessInfo> now = ReadProcessInfo(target.pid);
      if (now && now->start_ticks == target.start_ticks) reap(*now);
    }
  } else {
    for (const ProcessInfo& process : ListProcesses())
      reap(process);
  }
  return reaped;
}

timespec ToTimespec(Clock::duration duration) {
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::max(duration, Clock::duration::zero()));
  timespec ts;
  ts.tv_sec = static_cast<time_t>(nanos.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(nanos.count() % 1'000'000'000);
  return ts;
}

// Blocks the watched signals on this thread for the lifetime of the object; ppoll gets
// `unblocked()` so the signals are delivered only while we sleep in it. That is what makes
// "check the counter, then ppoll" race-free: a signal arriving after the check stays
// pending and makes ppoll return EINTR at once.
class SignalMaskScope {
 public:
  explicit SignalMaskScope(bool active) : active_(active) {
    if (!active_) return;
    sigset_t watched = InterruptWatcher::WatchedSignals();
    pthread_sigmask(SIG_BLOCK, &watched, &previous_);
    unblocked_ = previous_;
    for (int signal : {SIGINT, SIGTERM, SIGHUP})
      sigdelset(&unblocked_, signal);
  }
  ~SignalMaskScope() {
    if (active_) pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalMaskScope(const SignalMaskScope&) = delete;
  SignalMaskScope& operator=(const SignalMaskScope&) = delete;

  const sigset_t* unblocked() const { return active_ ? &unblocked_ : nullptr; }

 private:
  bool active_;
  sigset_t previous_;
  sigset_t unblocked_;
};

// Supervises one child from spawn to reaping. Owns the child: if the object is destroyed
// before the child was reaped (an exception escaped a sink), the child's processes are
// SIGKILLed and reaped, so no process outlives a failed supervision unnoticed.
class Supervisor {
 public:
  explicit Supervisor(const SpawnRequest& request)
      : request_(request), mask_(request.interrupts != nullptr) {}
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  ProcessOutcome Run();

 private:
  enum class Stopping { kNo, kTerminating, kKilling };

  Status Spawn();
  void Supervise();
  void CheckInterrupts();
  void BeginStop(ProcessOutcome::Kind reason);
  void Kill();
  // Adds every process that can be attributed to the step to targets_.
  void CollectTargets();
  void SignalTargets(int signal);
  bool AnyTargetAlive();
  void ReadOnce(Fd& fd, Stream stream);
  // Once the step's processes are accounted for: true when the output is fully read or
  // whoever still holds the pipes has gone quiet (see kQuietPeriod).
  bool DrainDone(Clock::time_point now);
  std::optional<Clock::time_point> DrainWake() const;
  void TryReap();
  ProcessOutcome Finish();

  const SpawnRequest& request_;
  SignalMaskScope mask_;
  Clock::time_point started_;
  pid_t pid_ = -1;
  pid_t pgid_ = 0;  // 0: the child shares our group (interactive), never signal a group
  unsigned long long start_ticks_ = 0;
  Fd pidfd_;
  Fd stdout_;
  Fd stderr_;
  bool exited_ = false;
  int wait_status_ = 0;

  Stopping stopping_ = Stopping::kNo;
  ProcessOutcome::Kind stop_reason_ = ProcessOutcome::Kind::kExited;
  int interrupt_signal_ = 0;
  int interrupts_at_stop_ = 0;
  bool settled_ = false;
  Clock::time_point term_deadline_;
  Clock::time_point kill_deadline_;
  Clock::time_point next_straggler_check_;
  // Set when draining starts: bytes that were waiting in each pipe at that moment, which
  // are read unconditionally, and the deadlines that end following the pipes afterwards.
  bool draining_ = false;
  size_t backlog_[2] = {0, 0};
  Clock::time_point quiet_deadline_;
  Clock::time_point follow_deadline_;
  std::vector<ProcessInfo> targets_;
  std::unique_ptr<char[]> buffer_;
};

Supervisor::~Supervisor() {
  if (pid_ <= 0 || exited_) return;
  // Only reached when an exception cut supervision short: nothing may outlive us.
  if (pgid_ > 0) kill(-pgid_, SIGKILL);
  kill(pid_, SIGKILL);
  try {
    for (const ProcessInfo& target : targets_) {
      SignalProcess(target, SIGKILL);
    }
  } catch (const std::exception&) {
    // Out of memory reading /proc: the group kill above is the best we can do.
  }
  std::lock_guard<std::mutex> lock(g_children_mutex);
  waitpid(pid_, nullptr, 0);
  g_main_children.erase(pid_);
}

ProcessOutcome Supervisor::Run() {
  const InterruptWatcher* interrupts = request_.interrupts;
  if (interrupts && interrupts->pending()) {
    ProcessOutcome outcome;
    outcome.kind = ProcessOutcome::Kind::kInterrupted;
    outcome.interrupt_signal = interrupts->last_signal();
    outcome.error = "interrupted by " + SignalName(outcome.interrupt_signal) + " before start";
    return outcome;
  }
  if (Status spawned = Spawn(); !spawned.ok()) {
    ProcessOutcome outcome;
    outcome.kind = ProcessOutcome::Kind::kSpawnFailed;
    outcome.error = spawned.message();
    return outcome;
  }
  Supervise();
  return Finish();
}

Status Supervisor::Spawn() {
  if (request_.argv.empty()) return Status::Error("cannot run an empty command");
  if (Status cwd = CheckWorkingDirectory(request_.cwd); !cwd.ok()) return cwd;
  Result<std::string> path = FindExecutable(request_);
  if (!path.ok()) return path.status();

  SpawnFileActions actions;
  SpawnAttributes attributes;
  // The setup calls only fail on ENOMEM or bad arguments; remember the first failure.
  int setup_error = 0;
  auto check = [&setup_error](int result) {
    if (setup_error == 0) setup_error = result;
  };
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  // Our own signal mask (watched signals blocked) must not leak into the child.
  sigset_t empty;
  sigemptyset(&empty);
  check(posix_spawnattr_setsigmask(attributes.get(), &empty));
  // Every disposition back to default, not just the ones we know we changed: a runbook
  // command must behave as it would from a shell, whatever the engine ignores (SIGPIPE)
  // or whatever the engine inherited from its own parent.
  sigset_t all;
  sigfillset(&all);
  check(posix_spawnattr_setsigdefault(attributes.get(), &all));

  Pipe out, err;
  Fd gate_read, gate_write;
  if (request_.start_gate && !request_.interactive) {
    Result<Pipe> gate = MakeGatePipe();
    if (!gate.ok()) return gate.status();
    gate_read = std::move(gate->read);
    gate_write = std::move(gate->write);
    check(posix_spawn_file_actions_adddup2(actions.get(), gate_read.get(), kStartGateFd));
  }
  if (!request_.interactive) {
    // A group of its own keeps terminal Ctrl-C away from the child (the engine decides
    // what an interrupt means) and lets us signal everything the command started at once.
    flags |= POSIX_SPAWN_SETPGROUP;
    check(posix_spawnattr_setpgroup(attributes.get(), 0));
    Result<Pipe> out_pipe = MakePipe();
    if (!out_pipe.ok()) return out_pipe.status();
    Result<Pipe> err_pipe = MakePipe();
    if (!err_pipe.ok()) return err_pipe.status();
    out = std::move(out_pipe.value());
    err = std::move(err_pipe.value());
    check(posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0));
    check(posix_spawn_file_actions_adddup2(actions.get(), out.write.get(), 1));
    check(posix_spawn_file_actions_adddup2(actions.get(), err.write.get(), 2));
  }
  for (const auto& [engine_fd, child_fd] : request_.extra_fds)
    check(posix_spawn_file_actions_adddup2(actions.get(), engine_fd, child_fd));
  check(posix_spawnattr_setflags(attributes.get(), flags));
  if (!request_.cwd.empty()) {
    // glibc >= 2.29; the chdir happens in the child, so a failure still spawns nothing.
    check(posix_spawn_file_actions_addchdir_np(actions.get(), request_.cwd.c_str()));
  }
  if (setup_error != 0) {
    return Status::Error("cannot prepare to run '" + request_.argv[0] +
                         "': " + ErrnoMessage(setup_error));
  }

  std::vector<char*> argv = CStrings(request_.argv);
  std::vector<char*> envp = CStrings(request_.env);
  int error;
  {
    // Spawn and registration are one step for ReapOrphans: a child that exits at once
    // must already be known as a main process when anyone looks for zombies.
    std::lock_guard<std::mutex> lock(g_children_mutex);
    error = posix_spawn(&pid_, path->c_str(), actions.get(), attributes.get(), argv.data(),
                        envp.data());
    if (error == 0) g_main_children.insert(pid_);
  }
  started_ = Clock::now();
  if (error != 0) {
    pid_ = -1;
    return Status::Error("cannot run '" + request_.argv[0] + "': " + ErrnoMessage(error));
  }
  if (!request_.interactive) pgid_ = pid_;

  // The child is unreaped, so its pid cannot be recycled before pidfd_open: no race.
  pidfd_ = Fd(pidfd_open(pid_, 0));
  if (std::optional<ProcessInfo> info = ReadProcessInfo(pid_)) start_ticks_ = info->start_ticks;
  if (request_.on_started) request_.on_started(pgid_, start_ticks_);
  if (gate_write.valid()) {
    // The child may have died already; EPIPE (SIGPIPE is ignored) is then harmless.
    ssize_t ignored = write(gate_write.get(), "g", 1);
    (void)ignored;
  }
  stdout_ = std::move(out.read);
  stderr_ = std::move(err.read);
  // out.write / err.write close here: only the child may hold write ends, or EOF never
  // comes.
  buffer_ = std::make_unique<char[]>(kReadBufferSize);
  return Status::Ok();
}

void Supervisor::Supervise() {
  const InterruptWatcher* interrupts = request_.interrupts;
  std::optional<Clock::time_point> deadline;
  if (request_.timeout) deadline = started_ + *request_.timeout;

  for (;;) {
    // Interrupts are looked at before any output is handled, so a child flooding its
    // pipes cannot delay the reaction to Ctrl-C.
    CheckInterrupts();
    Clock::time_point now = Clock::now();
    if (!exited_ && stopping_ == Stopping::kNo && deadline && now >= *deadline) {
      BeginStop(ProcessOutcome::Kind::kTimedOut);
    }
    if (stopping_ == Stopping::kTerminating && now >= term_deadline_) Kill();

    if (exited_) {
      if (stopping_ != Stopping::kNo && !settled_ && now >= next_straggler_check_) {
        // The main process is gone but the step is being stopped: wait until what it
        // started is gone too (or the grace ends), so a rollback never races the step.
        // Rate-limited because each check reads /proc, and a chatty survivor would
        // otherwise trigger one per read.
        next_straggler_check_ = now + kStragglerPoll;
        if (stopping_ == Stopping::kKilling) SignalTargets(SIGKILL);
        if (!AnyTargetAlive() || (stopping_ == Stopping::kKilling && now >= kill_deadline_)) {
          settled_ = true;
        }
      }
      if ((stopping_ == Stopping::kNo || settled_) && DrainDone(now)) break;
    }

    Clock::time_point wake = Clock::time_point::max();
    if (!exited_ && stopping_ == Stopping::kNo && deadline) wake = std::min(wake, *deadline);
    if (stopping_ == Stopping::kTerminating) wake = std::min(wake, term_deadline_);
    if (exited_ && stopping_ != Stopping::kNo && !settled_) {
      wake = std::min(wake, next_straggler_check_);
    }
    if (std::optional<Clock::time_point> drain = DrainWake()) wake = std::min(wake, *drain);
    if (interrupts) wake = std::min(wake, now + kSignalRecheck);
    if (!exited_ && !pidfd_.valid()) wake = std::min(wake, now + kExitPoll);

    pollfd fds[3];
    nfds_t count = 0;
    int out_index = -1, err_index = -1, pid_index = -1;
    if (stdout_.valid()) {
      out_index = static_cast<int>(count);
      fds[count++] = {stdout_.get(), POLLIN, 0};
    }
    if (stderr_.valid()) {
      err_index = static_cast<int>(count);
      fds[count++] = {stderr_.get(), POLLIN, 0};
    }
    if (!exited_ && pidfd_.valid()) {
      pid_index = static_cast<int>(count);
      fds[count++] = {pidfd_.get(), POLLIN, 0};
    }
    timespec timeout;
    const timespec* timeout_ptr = nullptr;
    if (wake != Clock::time_point::max()) {
      timeout = ToTimespec(wake - now);
      timeout_ptr = &timeout;
    }
    int ready = ppoll(fds, count, timeout_ptr, mask_.unblocked());
    if (ready < 0) {
      if (errno == EINTR) continue;
      // ppoll only fails on programming errors (EINVAL, EFAULT) or ENOMEM; do not spin.
      throw std::runtime_error("ppoll: " + ErrnoMessage(errno));
    }
    if (interrupts && interrupts->count() > interrupts_at_stop_ && !exited_) continue;

    auto readable = [&](int index) {
      return index >= 0 && (fds[index].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    };
    if (readable(out_index)) ReadOnce(stdout_, Stream::kStdout);
    if (readable(err_index)) ReadOnce(stderr_, Stream::kStderr);
    if (readable(pid_index) || (!exited_ && !pidfd_.valid())) TryReap();
  }
}

void Supervisor::CheckInterrupts() {
  const InterruptWatcher* interrupts = request_.interrupts;
  if (!interrupts || exited_) return;
  int count = interrupts->count();
  if (count <= interrupts_at_stop_) return;
  if (stopping_ == Stopping::kNo) {
    interrupt_signal_ = interrupts->last_signal();
    BeginStop(ProcessOutcome::Kind::kInterrupted);
    // Two signals before we even noticed the first still mean "kill now".
    if (count >= 2) Kill();
  } else if (stopping_ == Stopping::kTerminating) {
    // A second Ctrl-C during the grace period: the operator does not want to wait.
    Kill();
  }
  interrupts_at_stop_ = count;
}

void Supervisor::BeginStop(ProcessOutcome::Kind reason) {
  stop_reason_ = reason;
  stopping_ = Stopping::kTerminating;
  term_deadline_ = Clock::now() + request_.kill_grace;
  if (request_.interrupts) interrupts_at_stop_ = request_.interrupts->count();
  // Collect before signalling: once the main process dies its setsid'd children are
  // reparented and only the subreaper link (if any) still ties them to the step.
  CollectTargets();
  SignalTargets(SIGTERM);
}

void Supervisor::Kill() {
  stopping_ = Stopping::kKilling;
  CollectTargets();
  SignalTargets(SIGKILL);
  kill_deadline_ = Clock::now() + kKillWait;
}

void Supervisor::CollectTargets() {
  std::vector<ProcessInfo> snapshot = ListProcesses();
  pid_t self = getpid();
  std::vector<pid_t> roots;
  if (!exited_) roots.push_back(pid_);
  std::unordered_set<pid_t> other_mains;
  {
    std::lock_guard<std::mutex> lock(g_children_mutex);
    other_mains = g_main_children;
  }
  for (const ProcessInfo& process : snapshot) {
    if (process.pid == self || other_mains.count(process.pid)) continue;
    // Everything still in the step's process group, wherever its parent went.
    if (pgid_ > 0 && process.pgid == pgid_) roots.push_back(process.pid);
    // Orphans reparented to us (as subreaper) that were born after the step started.
    // Orphans of a step running concurrently on another thread cannot be told apart;
    // the engine runs steps one at a time, so this does not arise there.
    if (process.ppid == self && process.start_ticks >= start_ticks_) {
      roots.push_back(process.pid);
    }
  }
  for (const ProcessInfo& process : CollectDescendants(snapshot, roots)) {
    if (process.pid == self || process.pid == pid_) continue;
    bool known = std::any_of(targets_.begin(), targets_.end(), [&](const ProcessInfo& t) {
      return t.pid == process.pid && t.start_ticks == process.start_ticks;
    });
    if (!known) targets_.push_back(process);
  }
}

void Supervisor::SignalTargets(int signal) {
  // The main process is unreaped until exited_, so its pid is safe to use directly.
  if (!exited_) kill(pid_, signal);
  if (pgid_ > 0) kill(-pgid_, signal);
  for (const ProcessInfo& target : targets_)
    SignalProcess(target, signal);
}

bool Supervisor::AnyTargetAlive() {
  CollectTargets();
  return std::any_of(targets_.begin(), targets_.end(), IsAlive);
}

bool Supervisor::DrainDone(Clock::time_point now) {
  if (!stdout_.valid() && !stderr_.valid()) return true;
  if (!draining_) {
    draining_ = true;
    // What the step wrote before it ended is in the pipes now; FIONREAD says how much.
    int index = 0;
    for (const Fd* fd : {&stdout_, &stderr_}) {
      int waiting = 0;
      if (fd->valid() && ioctl(fd->get(), FIONREAD, &waiting) == 0 && waiting > 0) {
        backlog_[index] = static_cast<size_t>(waiting);
      }
      ++index;
    }
    quiet_deadline_ = now + kQuietPeriod;
    follow_deadline_ = Clock::time_point::max();
  }
  if (backlog_[0] > 0 || backlog_[1] > 0) return false;
  if (follow_deadline_ == Clock::time_point::max()) follow_deadline_ = now + kFollowLimit;
  return now >= quiet_deadline_ || now >= follow_deadline_;
}

std::optional<Clock::time_point> Supervisor::DrainWake() const {
  if (!draining_ || backlog_[0] > 0 || backlog_[1] > 0) return std::nullopt;
  return std::min(quiet_deadline_, follow_deadline_);
}

void Supervisor::ReadOnce(Fd& fd, Stream stream) {
  ssize_t n = read(fd.get(), buffer_.get(), kReadBufferSize);
  if (n > 0) {
    if (request_.sink) {
      request_.sink->OnOutput(stream, std::string_view(buffer_.get(), static_cast<size_t>(n)));
    }
    if (draining_) {
      size_t& backlog = backlog_[stream == Stream::kStdout ? 0 : 1];
      backlog -= std::min(backlog, static_cast<size_t>(n));
      // Quiet is measured from when we were ready for more, not from the read: time spent
      // in a slow sink is ours, not the producer's.
      quiet_deadline_ = Clock::now() + kQuietPeriod;
    }
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  backlog_[stream == Stream::kStdout ? 0 : 1] = 0;
  fd.Reset();  // EOF, or an error that will not go away
}

void Supervisor::TryReap() {
  std::lock_guard<std::mutex> lock(g_children_mutex);
  pid_t reaped = waitpid(pid_, &wait_status_, WNOHANG);
  if (reaped == 0) return;
  // reaped < 0 (ECHILD) would mean someone reaped our child despite the registry (SIGCHLD
  // set to SIG_IGN, or a waitpid(-1) outside this module); treat it as gone.
  if (reaped < 0) wait_status_ = 0;
  exited_ = true;
  g_main_children.erase(pid_);
  pidfd_.Reset();
}

ProcessOutcome Supervisor::Finish() {
  ProcessOutcome outcome;
  outcome.elapsed = std::chrono::duration_cast<Millis>(Clock::now() - started_);
  outcome.killed = stopping_ == Stopping::kKilling;
  if (WIFEXITED(wait_status_)) outcome.exit_code = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) outcome.signal = WTERMSIG(wait_status_);
  if (stopping_ != Stopping::kNo) {
    // Reap what we killed that was reparented to us; zombies of ours would otherwise
    // wait for the next ReapOrphans.
    ReapDeadChildren(&targets_);
    outcome.kind = stop_reason_;
    std::string how = outcome.killed ? "; killed with SIGKILL" : "; stopped with SIGTERM";
    if (stop_reason_ == ProcessOutcome::Kind::kTimedOut) {
      outcome.timeout = *request_.timeout;
      outcome.error = "timed out after " + FormatDuration(outcome.timeout) + how;
    } else {
      outcome.interrupt_signal = interrupt_signal_;
      outcome.error = "interrupted by " + SignalName(interrupt_signal_) + how;
    }
  } else if (outcome.signal != 0) {
    outcome.kind = ProcessOutcome::Kind::kSignaled;
    outcome.error = "killed by " + SignalName(outcome.signal);
  } else {
    outcome.kind = ProcessOutcome::Kind::kExited;
    if (outcome.exit_code != 0) {
      outcome.error = "exited with status " + std::to_string(outcome.exit_code);
    }
  }
  return outcome;
}

std::once_flag g_sigpipe_once;

}  // namespace

ProcessOutcome RunProcess(const SpawnRequest& request) {
  std::call_once(g_sigpipe_once, IgnoreSigpipe);
  try {
    Supervisor supervisor(request);
    return supervisor.Run();
  } catch (const std::exception& e) {
    ProcessOutcome outcome;
    outcome.error = std::string("supervising the process failed: ") + e.what();
    return outcome;
  } catch (...) {
    ProcessOutcome outcome;
    outcome.error = "supervising the process failed: unknown exception";
    return outcome;
  }
}

int ReapOrphans() {
  try {
    return ReapDeadChildren(nullptr);
  } catch (const std::exception&) {
    return 0;  // out of memory listing /proc; the zombies will still be there next time
  }
}

}  // namespace stagecraft::exec
