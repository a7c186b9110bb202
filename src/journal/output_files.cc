#include "journal/output_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/file_modes.h"

namespace stagecraft::journal {
namespace {

bool IsDiskFull(int error) {
  return error == ENOSPC || error == EDQUOT;
}

Status WriteError(const std::string& path, int error) {
  if (IsDiskFull(error)) return Status::Error(fmt::format("journal: disk full writing {}", path));
  return Status::Error(fmt::format("journal: cannot write {}: {}", path, std::strerror(error)));
}

// fsync of a directory makes the entries created in it durable.
int SyncDirectory(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return error;
}

}  // namespace

std::string OutputFilePath(const std::string& dir, int64_t attempt_id) {
  return (std::filesystem::path(dir) / "output" / fmt::format("{}.log", attempt_id)).string();
}

// --- OutputFileWriter ---

OutputFileWriter::OutputFileWriter(std::string dir, int64_t max_file_bytes, bool start_writeback)
    : dir_(std::move(dir)),
      output_dir_((std::filesystem::path(dir_) / "output").string()),
      max_file_bytes_(max_file_bytes),
      start_writeback_(start_writeback) {}

OutputFileWriter::~OutputFileWriter() {
  for (auto& [attempt_id, file] : files_)
    close(file.fd);
}

Result<OutputFileWriter::File*> OutputFileWriter::Open(int64_t attempt_id) {
  if (auto it = files_.find(attempt_id); it != files_.end()) return &it->second;
  // Modes as base/file_modes.h says, from the state directory's.
  CreationModes modes = ModesBeneath(dir_);
  if (mkdir(output_dir_.c_str(), 0700) == 0) {
    output_dir_created_ = true;
    if (chmod(output_dir_.c_str(), modes.directory) != 0) return WriteError(output_dir_, errno);
  } else if (errno != EEXIST) {
    return WriteError(output_dir_, errno);
  }
  std::string path = OutputFilePath(dir_, attempt_id);
  // O_EXCL first, to know whether the directory gained an entry that Sync must make
  // durable. The file exists already when another journal wrote output for the attempt
  // (or a crash left unreferenced bytes): appends go after what is there.
  int fd = OpenWithMode(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, modes.file);
  if (fd >= 0) {
    files_created_ = true;
  } else if (errno == EEXIST) {
    fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) return WriteError(path, errno);
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    int error = errno;
    close(fd);
    return WriteError(path, error);
  }
  File& file = files_[attempt_id];
  file.fd = fd;
  file.size = info.st_size;
  return &file;
}

Result<int64_t> OutputFileWriter::Append(int64_t attempt_id,
                                         const std::vector<std::string_view>& pieces) {
  Result<File*> opened = Open(attempt_id);
  if (!opened.ok()) return opened.status();
  File& file = **opened;
  std::vector<iovec> iov;
  iov.reserve(pieces.size());
  int64_t total = 0;
  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    iov.push_back(iovec{const_cast<char*>(piece.data()), piece.size()});
    total += static_cast<int64_t>(piece.size());
  }
  const int64_t start = file.size;
  if (max_file_bytes_ > 0 && start + total > max_file_bytes_)
    return WriteError(OutputFilePath(dir_, attempt_id), ENOSPC);

  int64_t offset = start;
  size_t next = 0;
  while (next < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
    ssize_t written = pwritev(file.fd, &iov[next], count, offset);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      // A regular file only writes nothing when there is no room left.
      int error = written < 0 ? errno : ENOSPC;
      // Best effort: give back what a partial write took, so a full disk gets its space.
      (void)ftruncate(file.fd, start);
      return WriteError(OutputFilePath(dir_, attempt_id), error);
    }
    offset += written;
    auto left = static_cast<size_t>(written);
    while (next < iov.size() && left >= iov[next].iov_len) {
      left -= iov[next].iov_len;
      ++next;
    }
    if (left > 0) {
      iov[next].iov_base = static_cast<char*>(iov[next].iov_base) + left;
      iov[next].iov_len -= left;
    }
  }
  file.size = offset;
  file.unsynced += total;
  // Without this the kernel holds up to gigabytes of dirty pages, and the fdatasync before
  // the next durable commit would write them all while the run waits.
  if (start_writeback_ && total > 0) sync_file_range(file.fd, start, total, SYNC_FILE_RANGE_WRITE);
  return start;
}

void OutputFileWriter::Rewind(int64_t attempt_id, int64_t offset) {
  auto it = files_.find(attempt_id);
  if (it == files_.end() || offset >= it->second.size) return;
  File& file = it->second;
  file.unsynced = std::max<int64_t>(0, file.unsynced - (file.size - offset));
  file.size = offset;
  // Best effort: bytes no row refers to are never read, so this only saves space.
  (void)ftruncate(file.fd, offset);
}

Status OutputFileWriter::Sync() {
  Status first_error;
  for (auto& [attempt_id, file] : files_) {
    if (file.unsynced == 0) continue;
    if (fdatasync(file.fd) != 0 && first_error.ok()) {
      int error = errno;
      std::string path = OutputFilePath(dir_, attempt_id);
      std::string what = IsDiskFull(error)
                             ? fmt::format("disk full writing {}", path)
                             : fmt::format("cannot sync {}: {}", path, std::strerror(error));
      first_error = Status::Error(fmt::format(
          "journal: {}; {} bytes of output may not survive a power loss", what, file.unsynced));
    }
    file.unsynced = 0;
  }
  if (files_created_) {
    files_created_ = false;
    if (int error = SyncDirectory(output_dir_); error != 0 && first_error.ok())
      first_error = Status::Error(
          fmt::format("journal: cannot sync directory {}: {}", output_dir_, std::strerror(error)));
  }
  if (output_dir_created_) {
    output_dir_created_ = false;
    if (int error = SyncDirectory(dir_); error != 0 && first_error.ok())
      first_error = Status::Error(
          fmt::format("journal: cannot sync directory {}: {}", dir_, std::strerror(error)));
  }
  return first_error;
}

void OutputFileWriter::Close(int64_t attempt_id) {
  auto it = files_.find(attempt_id);
  if (it == files_.end()) return;
  close(it->second.fd);
  files_.erase(it);
}

// --- OutputFileReader ---

OutputFileReader::~OutputFileReader() {
  CloseFile();
}

void OutputFileReader::CloseFile() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  open_ = false;
}

Status OutputFileReader::Read(int64_t attempt_id, int64_t offset, int64_t length,
                              std::string& out) {
  out.clear();
  if (!open_ || attempt_id_ != attempt_id) {
    CloseFile();
    std::string path = OutputFilePath(dir_, attempt_id);
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0 && errno != ENOENT)
      return Status::Error(fmt::format("journal: cannot read {}: {}", path, std::strerror(errno)));
    attempt_id_ = attempt_id;
    open_ = true;
    size_ = 0;
  }
  if (fd_ < 0 || offset < 0 || length <= 0) return Status::Ok();
  // The writer may have appended since the size was taken; the size also bounds what a
  // damaged row can make us allocate.
  if (length > size_ - offset) {
    struct stat info {};
    if (fstat(fd_, &info) == 0) size_ = info.st_size;
  }
  int64_t available = std::clamp<int64_t>(size_ - offset, 0, length);
  out.resize(static_cast<size_t>(available));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t got =
        pread(fd_, out.data() + done, out.size() - done, offset + static_cast<int64_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int error = errno;
      out.clear();
      return Status::Error(fmt::format("journal: cannot read {}: {}",
                                       OutputFilePath(dir_, attempt_id), std::strerror(error)));
    }
    if (got == 0) break;  // truncated meanwhile
    done += static_cast<size_t>(got);
  }
  out.resize(done);
  return Status::Ok();
}

}  // namespace stagecraft::journal
