#pragma once

// What the text plan (plan_text.cc) and the JSON plan (plan_json.cc) share: the output they
// render into, the names they give kinds, and their entry points for plan.cc. Not thread-
// safe: one renderer writes into one PlanOutput.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "base/text.h"
#include "runbook/plan.h"

namespace stagecraft::runbook {

// Where rendered bytes go: a string, or a file descriptor through a fixed buffer. A
// 10,000-step runbook makes megabytes of plan (tens of them as JSON); building that whole
// before printing it touched more memory than rendering it costs, and every large
// allocation after parsing makes malloc first sort the many small blocks the parser freed.
// Writing to the descriptor, not a FILE, keeps stdio from allocating a buffer of its own.
class PlanOutput {
 public:
  explicit PlanOutput(std::string& text) : text_(&text) {}
  explicit PlanOutput(int fd) : fd_(fd) {}
  PlanOutput(const PlanOutput&) = delete;
  PlanOutput& operator=(const PlanOutput&) = delete;

  // From now on, what is appended is shown as TerminalSafe text: a text plan carries
  // titles, names and values from the runbook to a terminal.
  void MakeTerminalSafe() { terminal_safe_ = true; }

  void Append(std::string_view bytes) {
    if (terminal_safe_ && NeedsTerminalEscaping(bytes)) [[unlikely]] {
      AppendEscaped(bytes);
      return;
    }
    // Most pieces are a few bytes (punctuation, indentation, keys): keep their path short.
    if (!text_ && bytes.size() <= kSize - used_) {
      std::memcpy(buffer_ + used_, bytes.data(), bytes.size());
      used_ += bytes.size();
      return;
    }
    AppendSlowly(bytes);
  }
  void Append(char c) { Append(std::string_view(&c, 1)); }
  void Spaces(size_t count) {
    static constexpr std::string_view kSpaces = "                                ";
    for (; count > kSpaces.size(); count -= kSpaces.size())
      Append(kSpaces);
    Append(kSpaces.substr(0, count));
  }
  void Number(int64_t value) {
    char digits[24];
    Append(std::string_view(digits, std::to_chars(digits, digits + sizeof digits, value).ptr));
  }
  template <typename... T>
  void Format(fmt::format_string<T...> format, T&&... args) {
    fmt::memory_buffer formatted;
    fmt::format_to(std::back_inserter(formatted), format, std::forward<T>(args)...);
    Append(std::string_view(formatted.data(), formatted.size()));
  }

  // A row of the text plan is padded to a column once complete, so it is kept whole in the
  // buffer until then.
  void BeginRow() {
    row_ = Stored().size();
    row_written_ = false;
  }
  // Pads the row to `width` columns as fmt's "{:<N}" would. fmt counts display width (a wide
  // character such as most emoji takes two columns), so rows that are not plain ASCII ask
  // fmt; nearly all rows are ASCII, whose width is their size. A row that outgrew the buffer
  // (64 KiB: 16,384 characters at least) is wider than any column it is padded to.
  void PadRow(size_t width) {
    if (row_written_) return;
    std::string_view row = Stored().substr(row_);
    unsigned char high = 0;
    for (char c : row)
      high |= static_cast<unsigned char>(c);
    size_t padded =
        high < 0x80 ? std::max(width, row.size()) : fmt::formatted_size("{:<{}}", row, width);
    Spaces(padded - row.size());
  }
  void EndRow() { row_ = kNoRow; }

  // The first write error, if any; later output is dropped after one.
  Status Finish() {
    if (!text_) {
      Write(Stored());
      used_ = 0;
    }
    if (error_) return Status::Error(std::strerror(error_));
    return Status::Ok();
  }

 private:
  static constexpr size_t kSize = 64 * 1024;
  static constexpr size_t kNoRow = std::string_view::npos;

  std::string_view Stored() const {
    return text_ ? std::string_view(*text_) : std::string_view(buffer_, used_);
  }

  [[gnu::noinline]] void AppendEscaped(std::string_view bytes) {
    std::string safe = TerminalSafe(bytes);
    terminal_safe_ = false;
    Append(safe);
    terminal_safe_ = true;
  }

  [[gnu::noinline]] void AppendSlowly(std::string_view bytes) {
    if (text_) {
      text_->append(bytes);
      return;
    }
    MakeRoom(bytes.size());
    if (bytes.size() > kSize - used_) {
      Write(bytes);  // larger than the whole buffer, which MakeRoom emptied
      return;
    }
    std::memcpy(buffer_ + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }

  // Writes out what precedes an unfinished row, or everything when `needed` bytes would
  // not fit even beside the row alone.
  void MakeRoom(size_t needed) {
    size_t out = row_ == kNoRow ? used_ : row_;
    if (used_ - out + needed > kSize) {
      out = used_;
      if (row_ != kNoRow) row_written_ = true;
    }
    Write(std::string_view(buffer_, out));
    std::memmove(buffer_, buffer_ + out, used_ - out);
    used_ -= out;
    if (row_ != kNoRow) row_ = row_written_ ? 0 : row_ - out;
  }

  void Write(std::string_view bytes) {
    while (!bytes.empty() && !error_) {
      ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written < 0) {
        if (errno != EINTR) error_ = errno;
        continue;
      }
      bytes.remove_prefix(static_cast<size_t>(written));
    }
  }

  std::string* text_ = nullptr;
  int fd_ = -1;
  int error_ = 0;
  size_t row_ = kNoRow;
  bool row_written_ = false;
  bool terminal_safe_ = false;
  size_t used_ = 0;
  char buffer_[kSize];
};

void RenderText(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
                PlanOutput& out);
// The document of docs/plan-schema.md, and the newline `plan --json` ends it with.
void RenderJson(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
                PlanOutput& out);

// "check", "group" or "manual".
const char* ItemKind(const ChecklistItem& item);
// "env", "file" or "command".
const char* SecretSourceName(SecretSource source);

}  // namespace stagecraft::runbook
