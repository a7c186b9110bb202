#include "support/binary_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/stagecraft-test-XXXXXX";
  if (!mkdtemp(pattern.data())) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& cwd,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::string dir = cwd.empty() ? TestsDir() : cwd;
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<std::string> argv_storage = {STAGECRAFT_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, STAGECRAFT_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

void Reap(pid_t pid, CommandResult& result) {
  int status = 0;
  struct rusage usage {};
  if (pid > 0 && wait4(pid, &status, 0, &usage) == pid) {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.max_rss_kib = usage.ru_maxrss;
  }
}

}  // namespace

CommandResult RunStagecraft(const std::vector<std::string>& args, const std::string& cwd) {
  TempDir capture;
  CommandResult result;
  pid_t pid = Spawn(args, cwd, capture.File("out"), capture.File("err"));
  Reap(pid, result);
  result.out = ReadFile(capture.File("out"));
  result.err = ReadFile(capture.File("err"));
  return result;
}

RunningStagecraft::RunningStagecraft(const std::vector<std::string>& args, const std::string& cwd) {
  char pattern[] = "/tmp/stagecraft-bg-XXXXXX";
  if (mkdtemp(pattern)) capture_dir_ = pattern;
  out_path_ = capture_dir_ + "/out";
  err_path_ = capture_dir_ + "/err";
  pid_ = Spawn(args, cwd, out_path_, err_path_);
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

std::string CompareWithGolden(const std::string& name, const std::string& actual) {
  std::string path = TestsDir() + "/golden/" + name;
  const char* update = std::getenv("STAGECRAFT_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    WriteFile(path, actual);
    return "";
  }
  if (!std::filesystem::exists(path))
    return "missing golden file " + path + " (rerun with STAGECRAFT_UPDATE_GOLDEN=1)";
  std::string expected = ReadFile(path);
  if (expected == actual) return "";
  return "output differs from " + path + "\n--- expected\n" + expected + "\n--- actual\n" + actual +
         "\n(rerun with STAGECRAFT_UPDATE_GOLDEN=1 after checking the change is intended)";
}

}  // namespace stagecraft::testing
