#pragma once

// From chunked process output to lines: LineSplitter cuts what an OutputSink receives into
// lines for the expectation matcher and red-flag scanner, and TailBuffer keeps the last few
// lines for error reports ("last lines of output").

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/output_sink.h"

namespace stagecraft::engine {

// Splits each stream into lines and calls `on_line` once per line, in order.
//
// Lines. stdout and stderr are split separately (a line is never glued together from both).
// A line is passed without its '\n', and a '\r' right before the '\n' is removed too, so
// CRLF output matches like LF output. Other '\r's stay (a progress bar's "10%\r20%\r100%"
// is one line): only the whole line is meaningful to the matchers.
//
// Bounded memory. A line longer than kMaxLineBytes is passed in pieces of kMaxLineBytes
// (the last piece holds the rest), each counting as a line. At most kMaxLineBytes are held
// per stream, whatever the input (1 GiB without a newline streams through in 64 KiB
// pieces). A piece is cut only once a byte beyond it has arrived that is not the line's
// '\n', so a line of exactly kMaxLineBytes is one line, and a trailing '\r' left over after
// the last piece of a CRLF line does not produce an empty line.
//
// Complete lines contained in one chunk are passed as views into that chunk, without a copy;
// only a line split across chunks is assembled in a buffer.
//
// Ownership and threading: owns the callback. Not thread-safe: one thread calls OnOutput()
// and Flush(), and `on_line` runs on that thread, inside those calls. `line` is only valid
// during the call, and `on_line` must not call back into the splitter.
class LineSplitter final : public exec::OutputSink {
 public:
  static constexpr size_t kMaxLineBytes = 64 * 1024;
  using Callback = std::function<void(Stream stream, std::string_view line)>;

  // `on_line` must not be empty.
  explicit LineSplitter(Callback on_line);
  // No flush here: by the time the splitter is destroyed, what `on_line` refers to may be
  // gone. Call Flush() when the process has exited.
  ~LineSplitter() override = default;
  LineSplitter(const LineSplitter&) = delete;
  LineSplitter& operator=(const LineSplitter&) = delete;

  void OnOutput(Stream stream, std::string_view bytes) override;

  // Passes on the unterminated last line of each stream (stdout first), if any. The splitter
  // can be reused afterwards.
  void Flush();

  // Bytes held back for `stream` (for tests and diagnostics); at most kMaxLineBytes.
  size_t buffered(Stream stream) const { return state(stream).pending.size(); }

 private:
  struct StreamState {
    std::string pending;     // the current line's bytes since its last piece; no '\n'
    bool cut_piece = false;  // the current line has already been passed on in part
  };

  StreamState& state(Stream stream) { return streams_[stream == Stream::kStdout ? 0 : 1]; }
  const StreamState& state(Stream stream) const {
    return streams_[stream == Stream::kStdout ? 0 : 1];
  }
  // Adds bytes (no '\n') to the current line, passing on full pieces as they become certain.
  void Append(Stream stream, StreamState& s, std::string_view bytes);
  // Ends the current line: `rest` is its last bytes not yet in `pending` (no '\n').
  void EndLine(Stream stream, StreamState& s, std::string_view rest);
  void Emit(Stream stream, std::string_view line) { on_line_(stream, line); }

  Callback on_line_;
  StreamState streams_[2];
};

// The last `max_lines` lines of output (both streams as they were interleaved), for "last
// lines of output" in failure reports. Lines longer than `max_line_bytes` are shortened at
// a UTF-8 character boundary and marked with " […]": the tail is for a human to glance at,
// and 50 lines of 64 KiB would drown the report.
//
// Memory is bounded by about max_lines * max_line_bytes; slots are reused, so a steady
// stream of lines does not allocate once the buffer has filled. Value type; not thread-safe.
class TailBuffer {
 public:
  static constexpr size_t kDefaultMaxLines = 50;
  static constexpr size_t kDefaultMaxLineBytes = 1024;

  explicit TailBuffer(size_t max_lines = kDefaultMaxLines,
                      size_t max_line_bytes = kDefaultMaxLineBytes);

  void Add(std::string_view line);

  // The kept lines, oldest first.
  std::vector<std::string> Lines() const;
  // The kept lines, each followed by '\n'; empty when there are none.
  std::string Text() const;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Every line ever added, kept or not (to say "last 50 of 1234 lines").
  size_t total_lines() const { return total_; }

 private:
  size_t max_lines_;
  size_t max_line_bytes_;
  std::vector<std::string> ring_;  // grows to max_lines_, then slots are overwritten
  size_t next_ = 0;                // slot the next line goes to once the ring is full
  size_t count_ = 0;
  size_t total_ = 0;
};

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a
// UTF-8 character. Shared by the engine's reports, which quote output lines.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

}  // namespace stagecraft::engine
