#include "cli/run_lock.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <filesystem>

#include "base/duration.h"
#include "base/text.h"
#include "base/work_tree.h"

namespace stagecraft::cli {
namespace {

std::optional<Millis> LockWait(const ExecutionFlags& flags) {
  if (flags.lock_timeout.empty()) return Millis(0);
  auto wait = ParseDuration(flags.lock_timeout);
  if (!wait.ok()) {
    fmt::print(stderr, "stagecraft: error: --lock-timeout: {}\n", wait.error());
    return std::nullopt;
  }
  return wait.value();
}

// The path with every symbolic link resolved; the absolute path when that fails (the file
// is gone: the run then fails to read it anyway).
std::string RealPath(const std::string& path) {
  if (char* real = realpath(path.c_str(), nullptr)) {
    std::string resolved = real;
    free(real);
    return resolved;
  }
  return std::filesystem::absolute(path).lexically_normal().string();
}

// The runbook as the lock knows it: its path inside the git work tree holding it, the same
// in every clone and from every directory, or its real path outside one.
std::string RunbookIdentity(const std::string& real) {
  std::optional<std::string> top = WorkTreeTop(std::filesystem::path(real).parent_path().string());
  if (!top) return real;
  std::string inside = std::filesystem::path(real).lexically_relative(*top).string();
  return inside.empty() || inside.rfind("..", 0) == 0 ? real : inside;
}

}  // namespace

std::vector<std::string> LockKeys(const runbook::Runbook& book, const std::string& path,
                                  const std::string& environment) {
  if (book.front_matter.lock) return {*book.front_matter.lock};
  std::string real = RealPath(path);
  std::vector<std::string> keys = {journal::DefaultLockKey(RunbookIdentity(real), environment)};
  // Hard links have no name in common. The inode is not the key of every runbook because
  // editors save by writing a new file and renaming it over the old one: a run started
  // after such a save would not see the lock of one started before.
  struct stat info {};
  if (stat(real.c_str(), &info) == 0 && info.st_nlink > 1)
    keys.push_back(
        journal::DefaultLockKey(fmt::format("hard-linked runbook, inode {} on device {}:{}",
                                            info.st_ino, major(info.st_dev), minor(info.st_dev)),
                                environment));
  return keys;
}

std::optional<std::vector<std::unique_ptr<journal::RunLock>>> TakeLocks(
    const std::vector<std::string>& keys, const std::string& run_id, const ExecutionFlags& flags) {
  auto wait = LockWait(flags);
  if (!wait) return std::nullopt;
  std::vector<std::unique_ptr<journal::RunLock>> locks;
  for (const std::string& key : keys) {
    journal::LockOptions options;
    options.state_dir = flags.state_dir;
    options.run_id = run_id;
    options.wait = *wait;
    auto lock = journal::RunLock::Acquire(key, options);
    if (!lock.ok()) {
      fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(lock.error()));
      return std::nullopt;  // the locks already taken are released with `locks`
    }
    if (lock.value()->replaced())
      fmt::print(stderr, "stagecraft: note: took over the lock of run {} ({})\n",
                 lock.value()->replaced()->run_id, lock.value()->replaced_reason());
    locks.push_back(std::move(lock.value()));
  }
  return locks;
}

}  // namespace stagecraft::cli
