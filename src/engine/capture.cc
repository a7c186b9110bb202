#include "engine/capture.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"
#include "engine/expectation_matcher.h"

namespace stagecraft::engine {

Result<std::string> ExtractCapture(std::string_view stdout_text,
                                   std::optional<std::string_view> regex) {
  if (!regex) return std::string(TrimView(stdout_text));
  Result<Regex> compiled = Regex::Compile(*regex, Regex::Mode::kSearch);
  if (!compiled.ok())
    return Status::Error(
        fmt::format("capture regex /{}/ is invalid: {}", *regex, compiled.error()));
  Result<std::optional<std::string_view>> found = compiled->Find(stdout_text);
  if (!found.ok())
    return Status::Error(fmt::format("capture regex /{}/ failed: {}", *regex, found.error()));
  if (!found.value())
    return Status::Error(fmt::format("capture regex /{}/ did not match the output", *regex));
  return std::string(**found);
}

void CaptureBuffer::OnOutput(Stream stream, std::string_view bytes) {
  if (stream != Stream::kStdout || bytes.empty()) return;
  size_t room = limit_ - text_.size();
  if (bytes.size() > room) overflowed_ = true;
  text_.append(bytes.substr(0, std::min(room, bytes.size())));
}

std::string CaptureBuffer::OverflowMessage() const {
  constexpr size_t kKiB = 1024;
  constexpr size_t kMiB = 1024 * kKiB;
  std::string size = limit_ % kMiB == 0   ? fmt::format("{} MiB", limit_ / kMiB)
                     : limit_ % kKiB == 0 ? fmt::format("{} KiB", limit_ / kKiB)
                                          : fmt::format("{} bytes", limit_);
  return fmt::format("output too large to capture (over {})", size);
}

Result<std::string> CaptureBuffer::Extract(std::optional<std::string_view> regex) const {
  if (overflowed_) return Status::Error(OverflowMessage());
  return ExtractCapture(text_, regex);
}

}  // namespace stagecraft::engine
