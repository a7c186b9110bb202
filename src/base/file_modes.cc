#include "base/file_modes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace stagecraft {
namespace {

// mkdir, then the exact mode: mkdir's mode passes through the umask.
int MakeDirectory(const std::string& dir, mode_t mode) {
  if (mkdir(dir.c_str(), mode & 0777) != 0) return errno;
  if (chmod(dir.c_str(), mode) != 0) return errno;
  return 0;
}

Status CannotCreate(const std::string& dir, int error) {
  return Status::Error(fmt::format("cannot create directory {}: {}", dir, std::strerror(error)));
}

// `dir` and its missing ancestors, the nearest existing ancestor first (not included).
std::vector<std::string> MissingDirectories(const std::string& dir) {
  std::vector<std::string> missing;
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (!path.has_filename() && path.has_parent_path()) path = path.parent_path();
  struct stat info {};
  while (!path.empty() && stat(path.c_str(), &info) != 0) {
    missing.insert(missing.begin(), path.string());
    std::filesystem::path parent = path.parent_path();
    if (parent == path) break;
    path = parent;
  }
  return missing;
}

}  // namespace

CreationModes ModesBeneath(mode_t directory_mode) {
  CreationModes modes;
  mode_t group = directory_mode & (S_IRGRP | S_IWGRP);
  modes.file = 0600 | group;
  modes.directory = 0700 | (directory_mode & S_IRWXG) | (directory_mode & S_ISGID);
  return modes;
}

CreationModes ModesBeneath(const std::string& dir) {
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) return CreationModes{};
  return ModesBeneath(info.st_mode);
}

Status CreatePrivateDirectories(const std::string& dir) {
  for (const std::string& missing : MissingDirectories(dir)) {
    int error = MakeDirectory(missing, 0700);
    if (error != 0 && error != EEXIST) return CannotCreate(missing, error);
  }
  return Status::Ok();
}

Status CreateDirectoriesBeneath(const std::string& dir) {
  for (const std::string& missing : MissingDirectories(dir)) {
    std::string parent = std::filesystem::path(missing).parent_path().string();
    int error = MakeDirectory(missing, ModesBeneath(parent.empty() ? "." : parent).directory);
    if (error != 0 && error != EEXIST) return CannotCreate(missing, error);
  }
  return Status::Ok();
}

int OpenWithMode(const std::string& path, int flags, mode_t mode) {
  int fd = open(path.c_str(), flags | O_EXCL, mode & 0777);
  if (fd >= 0) {
    if (fchmod(fd, mode) != 0) {
      int error = errno;
      close(fd);
      errno = error;
      return -1;
    }
    return fd;
  }
  if (errno != EEXIST || (flags & O_EXCL)) return -1;
  return open(path.c_str(), flags & ~O_CREAT);
}

}  // namespace stagecraft
