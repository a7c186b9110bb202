#include "exec/scratch_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace stagecraft::exec {
namespace {

constexpr std::string_view kPrefix = "stagecraft-run-";

std::string TempBase() {
  const char* base = std::getenv("TMPDIR");
  return base && *base ? base : "/tmp";
}

// The owner's pid from "stagecraft-run-PID-XXXXXX", or 0 when the name is not ours.
pid_t OwnerPid(std::string_view name) {
  if (name.substr(0, kPrefix.size()) != kPrefix) return 0;
  name.remove_prefix(kPrefix.size());
  size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 9) return 0;
  pid_t pid = 0;
  for (char c : name.substr(0, dash)) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

bool ProcessExists(pid_t pid) {
  // EPERM: it exists and belongs to someone else.
  return kill(pid, 0) == 0 || errno != ESRCH;
}

int OpenDirectory(const std::string& path) {
  return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

ScratchDir::ScratchDir() {
  std::string pattern =
      TempBase() + "/" + std::string(kPrefix) + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(pattern.data())) return;
  lock_fd_ = OpenDirectory(pattern);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    if (lock_fd_ >= 0) close(lock_fd_);
    lock_fd_ = -1;
    rmdir(pattern.c_str());
    errno = saved;
    return;
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  if (lock_fd_ >= 0) close(lock_fd_);
}

int RemoveAbandonedScratchDirs() {
  int removed = 0;
  std::error_code error;
  std::filesystem::directory_iterator entries(
      TempBase(), std::filesystem::directory_options::skip_permission_denied, error);
  for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
    std::string name = entries->path().filename().string();
    pid_t pid = OwnerPid(name);
    if (pid <= 0 || ProcessExists(pid)) continue;
    std::string path = entries->path().string();
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != geteuid())
      continue;
    int fd = OpenDirectory(path);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code ignored;
      if (std::filesystem::remove_all(path, ignored) > 0) ++removed;
    }
    close(fd);
  }
  return removed;
}

}  // namespace stagecraft::exec
