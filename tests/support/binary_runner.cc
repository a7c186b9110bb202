#include "support/binary_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/golden.h"

extern char** environ;

namespace stagecraft::testing {

std::string ReportFile(const CommandResult& run, const std::string& cwd,
                       const std::string& extension) {
  size_t at = run.out.find("\nreport: ");
  if (at == std::string::npos) return "";
  size_t start = at + 9;
  size_t end = run.out.find_first_of(" \n", start);
  std::string html = run.out.substr(start, end - start);
  std::string path = html.substr(0, html.rfind('.') + 1) + extension;
  return path.front() == '/' ? path : cwd + "/" + path;
}

std::string TestsDir() {
  return STAGECRAFT_TESTS_DIR;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary);
  file << contents;
}

namespace {

// Every stagecraft these tests start keeps its state in the directory it is started from, as
// a relative STAGECRAFT_STATE says: the runbooks under tests/fixtures sit in this git work
// tree, whose top would otherwise hold one state shared by every test at once. The tests of
// where state is found (state_test.cc) take it away.
[[maybe_unused]] const bool kStateBesideTheCommand = [] {
  setenv("STAGECRAFT_STATE", ".stagecraft", /*overwrite=*/0);
  return true;
}();

}  // namespace

namespace {

// Starts `PREFIX... stagecraft ARGS...` in `cwd` (default: the tests/ directory) with the
// descriptors `actions` sets up, and destroys `actions`. -1 when it could not start.
pid_t Spawn(posix_spawn_file_actions_t& actions, const std::vector<std::string>& args,
            const std::string& cwd, const std::vector<std::string>& prefix = {}) {
  std::string dir = cwd.empty() ? TestsDir() : cwd;
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<std::string> argv_storage = prefix;
  argv_storage.push_back(STAGECRAFT_BINARY);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

void AddOutputFile(posix_spawn_file_actions_t& actions, int fd, const std::string& path) {
  posix_spawn_file_actions_addopen(&actions, fd, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

// stdin from /dev/null, stdout and stderr into files.
pid_t SpawnToFiles(const std::vector<std::string>& args, const std::string& cwd,
                   const std::string& out_path, const std::string& err_path,
                   const std::vector<std::string>& prefix = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  AddOutputFile(actions, 1, out_path);
  AddOutputFile(actions, 2, err_path);
  return Spawn(actions, args, cwd, prefix);
}

void Reap(pid_t pid, CommandResult& result) {
  int status = 0;
  struct rusage usage {};
  if (pid > 0 && wait4(pid, &status, 0, &usage) == pid) {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.max_rss_kib = usage.ru_maxrss;
  }
}

CommandResult RunToFiles(const TempDir& capture, const std::vector<std::string>& args,
                         const std::string& cwd, const std::vector<std::string>& prefix = {}) {
  CommandResult result;
  Reap(SpawnToFiles(args, cwd, capture.File("out"), capture.File("err"), prefix), result);
  result.out = ReadFile(capture.File("out"));
  result.err = ReadFile(capture.File("err"));
  return result;
}

}  // namespace

CommandResult RunStagecraft(const std::vector<std::string>& args, const std::string& cwd) {
  return RunStagecraftTail(args, cwd, std::string::npos);
}

CommandResult RunStagecraftTail(const std::vector<std::string>& args, const std::string& cwd,
                                size_t tail_bytes) {
  TempDir capture;
  CommandResult result;
  Reap(SpawnToFiles(args, cwd, capture.File("out"), capture.File("err")), result);
  std::ifstream out(capture.File("out"), std::ios::binary | std::ios::ate);
  auto size = static_cast<size_t>(std::max<std::streamoff>(out.tellg(), 0));
  result.out.resize(std::min(size, tail_bytes));
  out.seekg(static_cast<std::streamoff>(size - result.out.size()));
  out.read(result.out.data(), static_cast<std::streamsize>(result.out.size()));
  result.err = ReadFile(capture.File("err"));
  return result;
}

CommandResult RunStagecraftAs(unsigned uid, const std::vector<std::string>& args,
                              const std::string& cwd) {
  TempDir capture;
  chmod(capture.path().c_str(), 0777);  // the account writes its output there
  std::string id = std::to_string(uid);
  return RunToFiles(capture, args, cwd,
                    {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"});
}

std::vector<std::string> AsUser(const std::string& name) {
  // setpriv execs stagecraft itself (runuser would stay its parent), so a test that kills
  // the process it started kills stagecraft.
  // getpwnam_r: tests call this from a thread of their own while the main thread does too.
  passwd storage{};
  passwd* entry = nullptr;
  char buffer[4096];
  getpwnam_r(name.c_str(), &storage, buffer, sizeof buffer, &entry);
  std::string group = entry ? std::to_string(entry->pw_gid) : name;
  return {"/usr/bin/setpriv", "--reuid=" + name, "--regid=" + group, "--init-groups"};
}

CommandResult RunStagecraftAsUser(const std::string& name, const std::vector<std::string>& args,
                                  const std::string& cwd) {
  TempDir capture;
  chmod(capture.path().c_str(), 0777);  // the account writes its output there
  return RunToFiles(capture, args, cwd, AsUser(name));
}

CommandResult RunStagecraftPiped(const std::vector<std::string>& args, const std::string& cwd,
                                 const PipeOptions& options) {
  using Clock = std::chrono::steady_clock;
  TempDir capture;
  CommandResult result;
  int out[2], in[2] = {-1, -1};
  if (pipe(out) != 0 || (options.stdin_open_pipe && pipe(in) != 0)) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.stdin_open_pipe)
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  else
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  std::string err_path = capture.File("err");
  AddOutputFile(actions, 2, err_path);
  for (int fd : {out[0], out[1], in[0], in[1]})
    if (fd >= 0) posix_spawn_file_actions_addclose(&actions, fd);
  pid_t pid = Spawn(actions, args, cwd);
  close(out[1]);
  if (in[0] >= 0) close(in[0]);

  // Read in slices every 10 ms so the rate holds on average without long stalls.
  size_t slice = options.stdout_bytes_per_second ? options.stdout_bytes_per_second / 100 : 65536;
  std::string buffer(std::max<size_t>(slice, 1), '\0');
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(options.timeout_seconds));
  bool timed_out = false;
  for (;;) {
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    pollfd fd{out[0], POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) continue;
    ssize_t n = read(out[0], buffer.data(), buffer.size());
    if (n <= 0) break;
    result.out.append(buffer.data(), static_cast<size_t>(n));
    if (options.stdout_bytes_per_second) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (timed_out && pid > 0) kill(pid, SIGKILL);
  close(out[0]);
  Reap(pid, result);
  if (in[1] >= 0) close(in[1]);
  if (timed_out) result.exit_code = -1;
  result.err = ReadFile(err_path);
  return result;
}

RunningStagecraft::RunningStagecraft(const std::vector<std::string>& args, const std::string& cwd,
                                     const std::vector<std::string>& prefix) {
  char pattern[] = "/tmp/stagecraft-bg-XXXXXX";
  if (mkdtemp(pattern)) capture_dir_ = pattern;
  out_path_ = capture_dir_ + "/out";
  err_path_ = capture_dir_ + "/err";
  if (!prefix.empty()) chmod(capture_dir_.c_str(), 0777);  // the account writes its output there
  pid_ = SpawnToFiles(args, cwd, out_path_, err_path_, prefix);
}

RunningStagecraft::~RunningStagecraft() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(capture_dir_, ignored);
}

CommandResult RunningStagecraft::Wait() {
  CommandResult result;
  Reap(pid_, result);
  pid_ = -1;
  result.out = ReadFile(out_path_);
  result.err = ReadFile(err_path_);
  return result;
}

bool WaitForFile(const std::string& path, double seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    if (std::filesystem::exists(path)) return true;
    usleep(10'000);
  }
  return std::filesystem::exists(path);
}

bool WaitUntilNoProcessMentions(const std::string& text, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    bool found = false;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (ReadFile(entry.path().string() + "/environ").find(text) != std::string::npos) {
        found = true;
        break;
      }
    }
    if (!found) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string CompareWithGolden(const std::string& name, const std::string& actual) {
  return CompareWithGoldenFile(TestsDir() + "/golden/" + name, actual);
}

CommandResult RunStagecraftOnTerminal(
    const std::vector<std::string>& args, const std::string& cwd,
    const std::vector<std::pair<std::string, std::string>>& answers, double timeout_seconds,
    const std::vector<std::string>& prefix) {
  std::vector<std::string> argv_storage = prefix;
  argv_storage.push_back(STAGECRAFT_BINARY);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string dir = cwd.empty() ? TestsDir() : cwd;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  CommandResult result;
  if (pid < 0) return result;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(timeout_seconds));
  size_t answered = 0, searched_from = 0;
  bool timed_out = false;
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      break;
    }
    pollfd fd{master, POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO once the last process holding the terminal is gone
    result.out.append(buffer, static_cast<size_t>(n));
    if (answered < answers.size()) {
      size_t at = result.out.find(answers[answered].first, searched_from);
      if (at != std::string::npos) {
        searched_from = at + answers[answered].first.size();
        const std::string& typed = answers[answered++].second;
        if (write(master, typed.data(), typed.size()) < 0) break;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  if (waitpid(pid, &status, 0) == pid)
    result.exit_code = timed_out           ? -1
                       : WIFEXITED(status) ? WEXITSTATUS(status)
                                           : 128 + WTERMSIG(status);
  close(master);
  return result;
}

}  // namespace stagecraft::testing
