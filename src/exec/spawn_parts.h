#pragma once

// The small POSIX pieces RunProcess is built from: an owning file descriptor, pipes made
// the way the supervisor needs them, the PATH lookup and working-directory check done
// before a spawn, and RAII wrappers for posix_spawn's attribute objects. Internal to the
// exec module.

#include <spawn.h>

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "exec/subprocess.h"

namespace stagecraft::exec::internal {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoMessage(int error);

struct Pipe {
  Fd read;
  Fd write;
};

// Close-on-exec from birth (pipe2), so a child spawned concurrently by another thread
// cannot inherit our write end and hold our EOF hostage.
Result<Pipe> MakePipe();

// The start gate: blocking on the child's side (it waits for the byte), and both ends above
// kStartGateFd so the dup2 onto it always clears close-on-exec.
Result<Pipe> MakeGatePipe();

// PATH lookup done here rather than by posix_spawnp, which would search the engine's PATH:
// the command must resolve the way it would in a shell running with the child's env.
Result<std::string> FindExecutable(const SpawnRequest& request);

Status CheckWorkingDirectory(const std::string& cwd);

class SpawnFileActions {
 public:
  SpawnFileActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_;
};

std::vector<char*> CStrings(const std::vector<std::string>& strings);

}  // namespace stagecraft::exec::internal
