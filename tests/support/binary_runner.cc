#include "support/binary_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace stagecraft::testing {

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

CommandResult RunStagecraft(const std::vector<std::string>& args, const std::string& cwd) {
  TempDir capture;
  std::string out_path = capture.File("out");
  std::string err_path = capture.File("err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.empty() ? TestsDir().c_str() : cwd.c_str());
  std::vector<std::string> argv_storage = {STAGECRAFT_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  CommandResult result;
  pid_t pid = 0;
  if (posix_spawn(&pid, STAGECRAFT_BINARY, &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
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
