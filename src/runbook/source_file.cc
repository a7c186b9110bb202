#include "runbook/source_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// Reads to the end, however the size changes after fstat (a growing file, or one that
// reports size 0 like those in /proc).
bool ReadAll(int fd, size_t size_hint, std::string& out) {
  out.reserve(size_hint + 1);
  char buffer[65536];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) return true;
    out.append(buffer, static_cast<size_t>(got));
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
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return CannotRead(path);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) return CannotRead(path);
  if (S_ISDIR(info.st_mode))
    return Status::Error(fmt::format("{}: error: is a directory, not a runbook file", path));

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
  if (!file.mapped_ && !ReadAll(fd.get(), size, file.copied_)) return CannotRead(path);

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
