#pragma once

// `capture=VAR` and `capture=VAR:/regex/`: turning a block's stdout into a variable's value.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "exec/output_sink.h"

namespace stagecraft::engine {

// The value captured from `stdout_text`:
//   - without a regex, stdout with leading and trailing whitespace removed (what `$(cmd)`
//     gives a shell user, minus leading blanks, which are never wanted in an ARN or id);
//   - with one, its first match anywhere (PCRE2, UTF, multiline so ^ and $ work per line):
//     capture group 1 when the pattern has groups (empty when that group did not take
//     part), otherwise the whole match. Not trimmed: the pattern says exactly what to take.
// Errors: "capture regex /R/ did not match the output", "capture regex /R/ is invalid: ..."
// (lint normally catches that first), or "capture regex /R/ failed: ..." for a PCRE2 match
// error such as its backtracking limit.
Result<std::string> ExtractCapture(std::string_view stdout_text,
                                   std::optional<std::string_view> regex);

// Collects a capturing block's stdout (stderr is ignored: `$(cmd)` does not see it either),
// up to `limit` bytes. Past the limit it keeps nothing more and records overflowed(): a
// capture cut short would silently be a wrong value, so Extract() refuses it instead.
//
// Not thread-safe: one thread feeds it. Chain it beside the console and journal sinks (it
// does not pass output on).
class CaptureBuffer final : public exec::OutputSink {
 public:
  static constexpr size_t kDefaultLimit = 16 * 1024 * 1024;

  explicit CaptureBuffer(size_t limit = kDefaultLimit) : limit_(limit) {}
  CaptureBuffer(const CaptureBuffer&) = delete;
  CaptureBuffer& operator=(const CaptureBuffer&) = delete;

  void OnOutput(Stream stream, std::string_view bytes) override;

  bool overflowed() const { return overflowed_; }
  // What was collected: all of stdout unless overflowed(), then its first `limit` bytes.
  const std::string& text() const { return text_; }

  // "output too large to capture (over 16 MiB)", with this buffer's limit.
  std::string OverflowMessage() const;

  // ExtractCapture() of the collected stdout, or OverflowMessage() as the error when it
  // overflowed (no match is attempted on a truncated output).
  Result<std::string> Extract(std::optional<std::string_view> regex) const;

 private:
  size_t limit_;
  bool overflowed_ = false;
  std::string text_;
};

}  // namespace stagecraft::engine
