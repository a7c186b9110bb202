#pragma once

// Where a running process's output goes. Sinks are chained: the process layer writes raw
// bytes to a sink, which may transform them (masking) and pass them on to the next.

#include <string_view>

#include "base/vocabulary.h"

namespace stagecraft::exec {

// Receives output in the order it was read, in arbitrary chunks: a chunk may end in the
// middle of a line or of a multi-byte character. `bytes` is only valid during the call.
// Implementations say for themselves whether they are thread-safe.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void OnOutput(Stream stream, std::string_view bytes) = 0;
};

}  // namespace stagecraft::exec
