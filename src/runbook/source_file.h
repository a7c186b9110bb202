#pragma once

// A runbook file's bytes, checked to be UTF-8 text.

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stagecraft::runbook {

class SourceFile {
 public:
  // How the bytes are held. Mapping the file costs next to nothing, while copying a large
  // runbook into fresh memory costs more than parsing it; but a mapped file that is
  // truncated under the process kills it (SIGBUS). So short read-only commands map, and
  // commands that run steps (and may live for hours while someone edits the file) copy.
  enum class Hold { kMapped, kCopied };

  // The largest runbook read: a guide past it is not a runbook someone reviews, and the
  // model of one takes a few times its size in memory.
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  // Reads `path`. Fails with a complete message ("path: error: ..." or
  // "path:line:col: error: ...") when the file is missing, is not a regular file (a
  // directory, FIFO or device is refused without blocking on it), is larger than
  // kMaxBytes, or is not UTF-8 text.
  static Result<SourceFile> Load(const std::string& path, Hold hold);

  SourceFile() = default;
  SourceFile(SourceFile&& other) noexcept;
  SourceFile& operator=(SourceFile&& other) noexcept;
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;
  ~SourceFile();

  std::string_view text() const { return mapped_ ? std::string_view(mapped_, size_) : copied_; }
  operator std::string_view() const { return text(); }

 private:
  void Unmap();

  std::string copied_;
  const char* mapped_ = nullptr;
  size_t size_ = 0;
};

}  // namespace stagecraft::runbook
