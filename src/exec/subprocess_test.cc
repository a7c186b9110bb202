#include "exec/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/text.h"
#include "exec/masking.h"
#include "exec/process_tree.h"

namespace stagecraft::exec {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Kind = ProcessOutcome::Kind;

class CollectingSink : public OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    if (chunks == 0) first_chunk_at = Clock::now();
    ++chunks;
    (stream == Stream::kStdout ? out : err).append(bytes);
  }
  std::string out;
  std::string err;
  int chunks = 0;
  Clock::time_point first_chunk_at;
};

// Counts bytes without keeping them, like a sink writing to a file would.
class CountingSink : public OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    if (stream == Stream::kStdout) total += bytes.size();
    largest_chunk = std::max(largest_chunk, bytes.size());
    // memcmp against zeros: a byte loop would dominate the test's time in a Debug build.
    static const std::string zeros(256 * 1024, '\0');
    nonzero = nonzero || bytes.size() > zeros.size() ||
              memcmp(bytes.data(), zeros.data(), bytes.size()) != 0;
  }
  size_t total = 0;
  size_t largest_chunk = 0;
  bool nonzero = false;
};

std::vector<std::string> BaseEnv() {
  const char* path = getenv("PATH");
  return {std::string("PATH=") + (path ? path : "/usr/bin:/bin")};
}

SpawnRequest Shell(const std::string& script, OutputSink* sink = nullptr) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", script};
  request.env = BaseEnv();
  request.sink = sink;
  return request;
}

bool Gone(pid_t pid) {
  std::optional<ProcessInfo> info = ReadProcessInfo(pid);
  return !info || info->dead();
}

// SIGKILL is delivered asynchronously; give the kernel a moment before declaring failure.
bool GoneWithin(pid_t pid, milliseconds limit) {
  Clock::time_point end = Clock::now() + limit;
  while (!Gone(pid)) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

int CountOpenFds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir))
    count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

class SubprocessTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/exec_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (pid_t pid : cleanup_pids_)
      kill(pid, SIGKILL);
    for (pid_t pid : cleanup_pids_)
      GoneWithin(pid, milliseconds(1000));
    ReapOrphans();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Reads a pid a child wrote to `name`; remembers it so TearDown kills it on failure.
  pid_t ReadPid(const std::string& name) {
    std::ifstream in(Path(name));
    pid_t pid = 0;
    in >> pid;
    if (pid > 0) cleanup_pids_.push_back(pid);
    return pid;
  }

  std::string dir_;
  std::vector<pid_t> cleanup_pids_;
};

TEST_F(SubprocessTest, ExitCodeIsPropagated) {
  ProcessOutcome outcome = RunProcess(Shell("exit 3"));
  EXPECT_EQ(outcome.kind, Kind::kExited);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_FALSE(outcome.success());
  EXPECT_EQ(outcome.error, "exited with status 3");

  ProcessOutcome ok = RunProcess(Shell("exit 0"));
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(ok.error, "");
}

TEST_F(SubprocessTest, StdoutAndStderrStayApart) {
  CollectingSink sink;
  ProcessOutcome outcome = RunProcess(Shell("echo out; echo err >&2; echo out2", &sink));
  EXPECT_TRUE(outcome.success());
  EXPECT_EQ(sink.out, "out\nout2\n");
  EXPECT_EQ(sink.err, "err\n");
}

TEST_F(SubprocessTest, OutputIsStreamedBeforeExit) {
  CollectingSink sink;
  Clock::time_point start = Clock::now();
  ProcessOutcome outcome = RunProcess(Shell("echo first; sleep 0.6; echo second", &sink));
  EXPECT_TRUE(outcome.success());
  EXPECT_EQ(sink.out, "first\nsecond\n");
  ASSERT_GE(sink.chunks, 2);
  EXPECT_LT(sink.first_chunk_at - start, milliseconds(400));
  EXPECT_GE(outcome.elapsed, milliseconds(550));
}

TEST_F(SubprocessTest, MissingExecutableFailsToSpawn) {
  SpawnRequest request;
  request.argv = {"nosuchtool-stagecraft"};
  request.env = BaseEnv();
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "cannot run 'nosuchtool-stagecraft': No such file or directory");
}

TEST_F(SubprocessTest, MissingExecutableWithSlashFailsToSpawn) {
  SpawnRequest request;
  request.argv = {"/nonexistent/tool"};
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "cannot run '/nonexistent/tool': No such file or directory");
}

TEST_F(SubprocessTest, EmptyArgvFailsToSpawn) {
  ProcessOutcome outcome = RunProcess(SpawnRequest{});
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "cannot run an empty command");
}

TEST_F(SubprocessTest, NonexistentCwdSpawnsNothing) {
  SpawnRequest request = Shell("touch " + Path("marker"));
  request.cwd = dir_ + "/missing";
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "working directory '" + dir_ + "/missing' does not exist");
  EXPECT_FALSE(std::filesystem::exists(Path("marker")));
}

TEST_F(SubprocessTest, CwdThatIsAFileIsRejected) {
  std::ofstream(Path("file")) << "x";
  SpawnRequest request = Shell("true");
  request.cwd = Path("file");
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "working directory '" + Path("file") + "' is not a directory");
}

TEST_F(SubprocessTest, CwdIsHonoured) {
  CollectingSink sink;
  SpawnRequest request = Shell("pwd -P", &sink);
  request.cwd = dir_;
  ASSERT_TRUE(RunProcess(request).success());
  EXPECT_EQ(sink.out, std::filesystem::canonical(dir_).string() + "\n");
}

TEST_F(SubprocessTest, EnvironmentIsExactlyWhatWasGiven) {
  CollectingSink sink;
  SpawnRequest request;
  request.argv = {"/usr/bin/env"};
  request.env = {"A=1", "B=two words"};
  request.sink = &sink;
  ASSERT_TRUE(RunProcess(request).success());
  EXPECT_EQ(sink.out, "A=1\nB=two words\n");
}

TEST_F(SubprocessTest, CommandIsLookedUpInTheChildsPath) {
  {
    std::ofstream script(Path("mytool"));
    script << "#!/bin/sh\necho from mytool\n";
  }
  std::filesystem::permissions(Path("mytool"), std::filesystem::perms::owner_all);
  CollectingSink sink;
  SpawnRequest request;
  request.argv = {"mytool"};
  request.env = {"PATH=/nonexistent:" + dir_};
  request.sink = &sink;
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success()) << outcome.error;
  EXPECT_EQ(sink.out, "from mytool\n");
}

TEST_F(SubprocessTest, NonExecutableInPathIsPermissionDenied) {
  std::ofstream(Path("plain")) << "echo hi\n";
  SpawnRequest request;
  request.argv = {"plain"};
  request.env = {"PATH=" + dir_};
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "cannot run 'plain': Permission denied");
}

TEST_F(SubprocessTest, StdinIsDevNull) {
  CollectingSink sink;
  SpawnRequest request = Shell("cat; readlink /proc/self/fd/0", &sink);
  request.timeout = milliseconds(5000);  // a hang would fail rather than block the suite
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success()) << outcome.error;
  EXPECT_EQ(sink.out, "/dev/null\n");
  EXPECT_LT(outcome.elapsed, milliseconds(1000));
}

TEST_F(SubprocessTest, ChildStartsWithDefaultSignals) {
  // The engine blocks and ignores signals of its own; none of that may reach a command.
  // sed runs directly, not under sh, because a shell would reset its mask itself.
  InterruptWatcher watcher;
  CollectingSink sink;
  SpawnRequest request;
  request.argv = {"sed", "-n", "s/^SigBlk:\t//p; s/^SigIgn:\t//p", "/proc/self/status"};
  request.env = BaseEnv();
  request.sink = &sink;
  request.interrupts = &watcher;
  ASSERT_TRUE(RunProcess(request).success());
  std::vector<std::string_view> lines = SplitLines(sink.out);
  ASSERT_EQ(lines.size(), 2u) << sink.out;
  EXPECT_EQ(std::stoull(std::string(lines[0]), nullptr, 16), 0u) << "blocked: " << lines[0];
  // glibc's posix_spawn leaves its internal signals 32 and 33 ignored in every child (the
  // API refuses to reset them); signals 1-31, SIGPIPE included, must be at default.
  EXPECT_EQ(std::stoull(std::string(lines[1]), nullptr, 16) & 0x7fffffffu, 0u)
      << "ignored: " << lines[1];
}

TEST_F(SubprocessTest, ChildLeadsItsOwnProcessGroup) {
  CollectingSink sink;
  ASSERT_TRUE(RunProcess(Shell("cut -d' ' -f5 /proc/$$/stat; echo $$", &sink)).success());
  std::vector<std::string_view> lines = SplitLines(sink.out);
  ASSERT_EQ(lines.size(), 2u) << sink.out;
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_NE(lines[0], std::to_string(getpgrp()));
}

TEST_F(SubprocessTest, TimeoutKillsChildAndItsGroup) {
  SpawnRequest request = Shell("sleep 30 & echo $! > " + Path("pid") + "; wait");
  request.timeout = milliseconds(300);
  request.kill_grace = milliseconds(2000);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kTimedOut);
  EXPECT_FALSE(outcome.killed);  // SIGTERM was enough
  EXPECT_EQ(outcome.signal, SIGTERM);
  EXPECT_EQ(outcome.error, "timed out after 300ms; stopped with SIGTERM");
  EXPECT_GE(outcome.elapsed, milliseconds(300));
  EXPECT_LT(outcome.elapsed, milliseconds(1500));
  pid_t grandchild = ReadPid("pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneWithin(grandchild, milliseconds(200)));
}

TEST_F(SubprocessTest, TimeoutKillsSetsidChildOfRunningShell) {
  // setsid leaves the process group; only the parent link still ties it to the step.
  SpawnRequest request = Shell("setsid sleep 30 & echo $! > " + Path("pid") + "; wait");
  request.timeout = milliseconds(300);
  request.kill_grace = milliseconds(2000);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kTimedOut);
  pid_t daemon = ReadPid("pid");
  ASSERT_GT(daemon, 0);
  EXPECT_TRUE(GoneWithin(daemon, milliseconds(200)));
}

TEST_F(SubprocessTest, TimeoutKillsSetsidOrphanWhenSubreaper) {
  // The subshell that started the daemon is long gone when the deadline hits, so neither
  // the group nor the parent chain lead to it; being its subreaper does.
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  SpawnRequest request = Shell("(setsid sleep 30 & echo $! > " + Path("pid") + "); exec sleep 30");
  request.timeout = milliseconds(300);
  request.kill_grace = milliseconds(2000);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kTimedOut);
  pid_t daemon = ReadPid("pid");
  ASSERT_GT(daemon, 0);
  EXPECT_TRUE(GoneWithin(daemon, milliseconds(200)));
}

TEST_F(SubprocessTest, ChildIgnoringTermIsKilledAfterGrace) {
  SpawnRequest request = Shell("trap '' TERM; sleep 30");
  request.timeout = milliseconds(200);
  request.kill_grace = milliseconds(200);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kTimedOut);
  EXPECT_TRUE(outcome.killed);
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_EQ(outcome.error, "timed out after 200ms; killed with SIGKILL");
  EXPECT_GE(outcome.elapsed, milliseconds(400));
  EXPECT_LT(outcome.elapsed, milliseconds(1500));
}

TEST_F(SubprocessTest, DaemonHoldingThePipeDoesNotHang) {
  CollectingSink sink;
  SpawnRequest request = Shell("sleep 5 & echo $! > " + Path("pid") + "; echo started", &sink);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success());
  EXPECT_EQ(sink.out, "started\n");
  EXPECT_LT(outcome.elapsed, milliseconds(500));
  // A step may legitimately start a service: normal exit leaves it running.
  pid_t daemon = ReadPid("pid");
  ASSERT_GT(daemon, 0);
  EXPECT_FALSE(Gone(daemon));
}

// A sink as slow as a console piped into a slow reader: every chunk takes longer than the
// quiet period after which a silent pipe is given up.
class SlowSink : public OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    std::this_thread::sleep_for(milliseconds(150));
    if (stream == Stream::kStdout) total += bytes.size();
    last_line_end.append(bytes);
    if (last_line_end.size() > 64) last_line_end.erase(0, last_line_end.size() - 64);
  }
  size_t total = 0;
  std::string last_line_end;
};

TEST_F(SubprocessTest, SlowSinkGetsEveryByteWrittenBeforeExit) {
  SlowSink sink;
  // 3 MB, more than the pipe holds, so the end is still in the pipe when the shell exits.
  SpawnRequest request = Shell("head -c 3000000 /dev/zero | tr '\\0' y; echo; echo LAST", &sink);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success()) << outcome.error;
  EXPECT_EQ(sink.total, 3000000u + 6u);
  EXPECT_TRUE(EndsWith(sink.last_line_end, "y\nLAST\n")) << sink.last_line_end;
}

TEST_F(SubprocessTest, DaemonThatKeepsWritingDoesNotHang) {
  CountingSink sink;
  SpawnRequest request = Shell(
      "(while :; do echo tick; sleep 0.01; done) & echo $! > " + Path("pid") + "; echo started",
      &sink);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success());
  EXPECT_LT(outcome.elapsed, milliseconds(10000));
  pid_t daemon = ReadPid("pid");
  ASSERT_GT(daemon, 0);
}

TEST_F(SubprocessTest, StartGateOpensOnlyAfterOnStartedReturned) {
  CollectingSink sink;
  SpawnRequest request = Shell("IFS= read -r -n 1 -u 3 go && echo \"opened $go\"", &sink);
  request.argv = {"bash", "-c", request.argv[2]};  // read -n is not in every sh
  request.start_gate = true;
  pid_t seen_group = 0;
  request.on_started = [&](pid_t group, unsigned long long start) {
    seen_group = group;
    EXPECT_GT(start, 0u);
    // The child is held at the gate meanwhile, so it has printed nothing yet.
    std::this_thread::sleep_for(milliseconds(100));
    EXPECT_EQ(sink.chunks, 0);
  };
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success()) << outcome.error;
  EXPECT_EQ(sink.out, "opened g\n");
  EXPECT_GT(seen_group, 0);
}

TEST_F(SubprocessTest, InterruptStopsTheChildGroup) {
  InterruptWatcher watcher;
  SpawnRequest request = Shell("sleep 30 & echo $! > " + Path("pid") + "; kill -INT $PPID; wait");
  request.interrupts = &watcher;
  request.kill_grace = milliseconds(3000);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kInterrupted);
  EXPECT_EQ(outcome.interrupt_signal, SIGINT);
  EXPECT_FALSE(outcome.killed);
  EXPECT_EQ(outcome.error, "interrupted by SIGINT; stopped with SIGTERM");
  EXPECT_LT(outcome.elapsed, milliseconds(1500));
  // The engine still sees the interrupt between steps.
  EXPECT_TRUE(watcher.pending());
  pid_t grandchild = ReadPid("pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneWithin(grandchild, milliseconds(200)));
}

TEST_F(SubprocessTest, InterruptWinsOverFloodingOutput) {
  InterruptWatcher watcher;
  CountingSink sink;
  SpawnRequest request = Shell("kill -TERM $PPID; exec cat /dev/zero", &sink);
  request.interrupts = &watcher;
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kInterrupted);
  EXPECT_EQ(outcome.interrupt_signal, SIGTERM);
  EXPECT_LT(outcome.elapsed, milliseconds(1500));
}

TEST_F(SubprocessTest, SecondInterruptKillsImmediately) {
  InterruptWatcher watcher;
  SpawnRequest request =
      Shell("trap '' TERM; kill -INT $PPID; sleep 0.2; kill -INT $PPID; sleep 30");
  request.interrupts = &watcher;
  request.kill_grace = milliseconds(10000);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kInterrupted);
  EXPECT_TRUE(outcome.killed);
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_LT(outcome.elapsed, milliseconds(2000));
  EXPECT_EQ(watcher.count(), 2);
}

TEST_F(SubprocessTest, PendingInterruptSpawnsNothing) {
  InterruptWatcher watcher;
  raise(SIGHUP);
  SpawnRequest request = Shell("touch " + Path("marker"));
  request.interrupts = &watcher;
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kInterrupted);
  EXPECT_EQ(outcome.interrupt_signal, SIGHUP);
  EXPECT_EQ(outcome.error, "interrupted by SIGHUP before start");
  EXPECT_FALSE(std::filesystem::exists(Path("marker")));

  watcher.Clear();  // the engine acknowledges, e.g. to run the rollback
  EXPECT_TRUE(RunProcess(request).success());
  EXPECT_TRUE(std::filesystem::exists(Path("marker")));
}

TEST_F(SubprocessTest, ManySequentialProcessesLeakNoFds) {
  int before = CountOpenFds();
  SpawnRequest request;
  request.argv = {"/bin/true"};
  for (int i = 0; i < 200; ++i) {
    ProcessOutcome outcome = RunProcess(request);
    ASSERT_TRUE(outcome.success()) << i << ": " << outcome.error;
  }
  EXPECT_EQ(CountOpenFds(), before);
}

TEST_F(SubprocessTest, ManyConcurrentProcesses) {
  constexpr int kThreads = 20;
  std::vector<std::string> outputs(kThreads);
  std::vector<char> ok(kThreads);  // not vector<bool>: threads write neighbours
  std::vector<std::thread> threads;
  int before = CountOpenFds();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      CollectingSink sink;
      for (int round = 0; round < 5; ++round) {
        ok[i] = RunProcess(Shell("echo " + std::to_string(i), &sink)).success();
      }
      outputs[i] = sink.out;
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_TRUE(ok[i]);
    std::string line = std::to_string(i) + "\n";
    EXPECT_EQ(outputs[i], line + line + line + line + line);
  }
  EXPECT_EQ(CountOpenFds(), before);
}

TEST_F(SubprocessTest, HugeOutputStreamsWithFlatMemory) {
  constexpr size_t kBytes = 200u << 20;
  rusage before;
  getrusage(RUSAGE_SELF, &before);
  CountingSink sink;
  SpawnRequest request;
  request.argv = {"head", "-c", std::to_string(kBytes), "/dev/zero"};
  request.env = BaseEnv();
  request.sink = &sink;
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_TRUE(outcome.success()) << outcome.error;
  EXPECT_EQ(sink.total, kBytes);
  EXPECT_FALSE(sink.nonzero);
  EXPECT_LE(sink.largest_chunk, 256u * 1024);  // one read buffer
  rusage after;
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 16 * 1024);  // KiB
}

TEST_F(SubprocessTest, BinaryOutputPassesThroughUntouched) {
  CollectingSink sink;
  ASSERT_TRUE(
      RunProcess(Shell("printf 'a\\000b\\377c\\r\\n'; printf '\\000' >&2", &sink)).success());
  EXPECT_EQ(sink.out, std::string("a\0b\xff"
                                  "c\r\n",
                                  7));
  EXPECT_EQ(sink.err, std::string(1, '\0'));
}

TEST_F(SubprocessTest, MaskingSinkChainsBehindRunProcess) {
  // The engine's real pipeline: process output -> masking -> console/journal.
  SecretMasker masker;
  ASSERT_TRUE(masker.Add("hunter2-secret"));
  CollectingSink console;
  {
    MaskingSink masking(console, masker);
    ASSERT_TRUE(RunProcess(Shell("echo token=hunter2-secret; echo hunter2-secret >&2", &masking))
                    .success());
  }
  EXPECT_EQ(console.out, "token=***\n");
  EXPECT_EQ(console.err, "***\n");
}

TEST_F(SubprocessTest, ChildKilledFromOutsideIsSignaled) {
  ProcessOutcome outcome = RunProcess(Shell("kill -KILL $$"));
  EXPECT_EQ(outcome.kind, Kind::kSignaled);
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_EQ(outcome.exit_code, -1);
  EXPECT_EQ(outcome.error, "killed by SIGKILL");
}

TEST_F(SubprocessTest, ThrowingSinkKillsTheStep) {
  class ThrowingSink : public OutputSink {
   public:
    void OnOutput(Stream, std::string_view) override { throw std::runtime_error("disk full"); }
  } sink;
  SpawnRequest request = Shell("sleep 30 & echo $! > " + Path("pid") + "; echo x; wait", &sink);
  ProcessOutcome outcome = RunProcess(request);
  EXPECT_EQ(outcome.kind, Kind::kSpawnFailed);
  EXPECT_EQ(outcome.error, "supervising the process failed: disk full");
  pid_t grandchild = ReadPid("pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneWithin(grandchild, milliseconds(500)));
}

TEST_F(SubprocessTest, SinkWritingToClosedPipeGetsEpipeNotSigpipe) {
  // A sink forwarding to `| head` whose reader has gone: the engine must survive.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  class PipeSink : public OutputSink {
   public:
    explicit PipeSink(int fd) : fd_(fd) {}
    void OnOutput(Stream, std::string_view bytes) override {
      if (write(fd_, bytes.data(), bytes.size()) < 0) error = errno;
    }
    int error = 0;

   private:
    int fd_;
  } sink(fds[1]);
  ASSERT_TRUE(RunProcess(Shell("echo hello", &sink)).success());
  EXPECT_EQ(sink.error, EPIPE);
  close(fds[1]);
}

TEST_F(SubprocessTest, InteractiveChildSharesOurOutputAndGroup) {
  // Point our stdout at a file for the duration, as a terminal stand-in.
  int saved = dup(1);
  int file = open(Path("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0);
  fflush(stdout);
  dup2(file, 1);
  CollectingSink sink;
  SpawnRequest request = Shell("cut -d' ' -f5 /proc/$$/stat", &sink);
  request.interactive = true;
  ProcessOutcome outcome = RunProcess(request);
  dup2(saved, 1);
  close(saved);
  close(file);
  EXPECT_TRUE(outcome.success());
  EXPECT_EQ(sink.chunks, 0);
  std::ifstream in(Path("out"));
  std::string group;
  std::getline(in, group);
  EXPECT_EQ(group, std::to_string(getpgrp()));
}

TEST_F(SubprocessTest, ReapOrphansCollectsReparentedZombies) {
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  CollectingSink sink;
  ASSERT_TRUE(RunProcess(Shell("sleep 0.1 & echo $!", &sink)).success());
  pid_t orphan = std::stoi(sink.out);
  // Wait until the orphan has exited and sits as our zombie.
  Clock::time_point end = Clock::now() + milliseconds(2000);
  std::optional<ProcessInfo> info;
  while ((info = ReadProcessInfo(orphan)) && !info->dead() && Clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(info && info->dead());
  EXPECT_EQ(info->ppid, getpid());
  EXPECT_GE(ReapOrphans(), 1);
  EXPECT_FALSE(ReadProcessInfo(orphan).has_value());
}

TEST_F(SubprocessTest, ReapOrphansLeavesRunningStepsAlone) {
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  ProcessOutcome outcome;
  std::atomic<bool> done{false};
  std::thread step([&] {
    outcome = RunProcess(Shell("sleep 0.2; exit 7"));
    done = true;
  });
  // Hammer ReapOrphans while the main process exits and lingers as a zombie.
  while (!done)
    ReapOrphans();
  step.join();
  EXPECT_EQ(outcome.kind, Kind::kExited);
  EXPECT_EQ(outcome.exit_code, 7);
}

}  // namespace
}  // namespace stagecraft::exec
