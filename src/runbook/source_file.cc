#include "runbook/source_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "base/text.h"

namespace stagecraft::runbook {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status CannotRead(const std::string& path) {
  return Status::Error(
      fmt::format("{}: error: cannot read runbook: {}", path, std::strerror(errno)));
}

// `size` is unknown (0) when the file grew past the limit while being read.
Status TooLarge(const std::string& path, uint64_t size) {
  std::string how_large =
      size ? fmt::format("{:.1f} MiB; ", static_cast<double>(size) / (1 << 20)) : std::string();
  return Status::Error(fmt::format("{}: error: runbook is too large ({}the limit is {} MiB)", path,
                                   how_large, SourceFile::kMaxBytes >> 20));
}

// Why a path is not a file we can read as a runbook, or nothing when it is. A FIFO would
// block the open until a writer comes, and a device such as /dev/zero never ends.
std::optional<Status> RefuseKind(const std::string& path, mode_t mode) {
  if (S_ISREG(mode)) return std::nullopt;
  if (S_ISDIR(mode))
    return Status::Error(fmt::format("{}: error: is a directory, not a runbook file", path));
  std::string_view kind = S_ISFIFO(mode)   ? "a FIFO"
                          : S_ISCHR(mode)  ? "a character device"
                          : S_ISBLK(mode)  ? "a block device"
                          : S_ISSOCK(mode) ? "a socket"
                                           : "not a file";
  return Status::Error(fmt::format("{}: error: not a regular file ({})", path, kind));
}

enum class ReadOutcome { kOk, kFailed, kTooLarge };

// Reads to the end, however the size changes after fstat (a growing file, or one that
// reports size 0 like those in /proc), but never past the size limit.
ReadOutcome ReadAll(int fd, size_t size_hint, std::string& out) {
  out.reserve(std::min(size_hint, SourceFile::kMaxBytes) + 1);
  char buffer[65536];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ReadOutcome::kFailed;
    if (got == 0) return ReadOutcome::kOk;
    out.append(buffer, static_cast<size_t>(got));
    if (out.size() > SourceFile::kMaxBytes) return ReadOutcome::kTooLarge;
  }
}

}  // namespace

SourceFile::SourceFile(SourceFile&& other) noexcept
    : copied_(std::move(other.copied_)),
      mapped_(std::exchange(other.mapped_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SourceFile& SourceFile::operator=(SourceFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    copied_ = std::move(other.copied_);
    mapped_ = std::exchange(other.mapped_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SourceFile::~SourceFile() {
  Unmap();
}

void SourceFile::Unmap() {
  if (mapped_) munmap(const_cast<char*>(mapped_), size_);
  mapped_ = nullptr;
  size_ = 0;
}

Result<SourceFile> SourceFile::Load(const std::string& path, Hold hold) {
  // Looked at before opening, so that opening has no effect (a tape rewinds, a FIFO
  // waits); then again on what was opened, in case the path changed in between.
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return CannotRead(path);
  if (auto refused = RefuseKind(path, info.st_mode)) return *refused;
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) return CannotRead(path);
  if (fstat(fd.get(), &info) != 0) return CannotRead(path);
  if (auto refused = RefuseKind(path, info.st_mode)) return *refused;
  if (static_cast<uint64_t>(info.st_size) > kMaxBytes) return TooLarge(path, info.st_size);

  SourceFile file;
  size_t size = static_cast<size_t>(info.st_size);
  if (hold == Hold::kMapped && S_ISREG(info.st_mode) && size > 0) {
    // MAP_POPULATE maps the cached pages in one call instead of one fault per page.
    void* mapped = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (mapped != MAP_FAILED) {
      file.mapped_ = static_cast<const char*>(mapped);
      file.size_ = size;
    }
  }
  if (!file.mapped_) {
    ReadOutcome read = ReadAll(fd.get(), size, file.copied_);
    if (read == ReadOutcome::kFailed) return CannotRead(path);
    if (read == ReadOutcome::kTooLarge) return TooLarge(path, 0);
  }

  std::string_view source = file.text();
  if (size_t nul = source.find('\0'); nul != std::string::npos) {
    LineColumn where = LocateOffset(source, nul);
    return Status::Error(
        fmt::format("{}:{}:{}: error: file contains a NUL byte; a runbook must be Markdown text",
                    path, where.line, where.column));
  }
  if (auto bad = FindInvalidUtf8(source)) {
    LineColumn where = LocateOffset(source, *bad);
    return Status::Error(
        fmt::format("{}:{}:{}: error: invalid UTF-8 (byte 0x{:02x}); save the "
                    "runbook as UTF-8",
                    path, where.line, where.column, static_cast<unsigned char>(source[*bad])));
  }
  return file;
}

}  // namespace stagecraft::runbook
