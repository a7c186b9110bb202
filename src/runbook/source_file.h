#pragma once

// A runbook file's bytes, checked to be UTF-8 text.

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

  // Reads `path`. Fails with a complete message ("path: error: ..." or
  // "path:line:col: error: ...") when the file is missing, is a directory, or is not UTF-8
  // text.
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
