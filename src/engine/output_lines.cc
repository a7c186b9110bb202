#include "engine/output_lines.h"

#include <algorithm>
#include <utility>

namespace stagecraft::engine {

LineSplitter::LineSplitter(Callback on_line) : on_line_(std::move(on_line)) {}

void LineSplitter::OnOutput(Stream stream, std::string_view bytes) {
  StreamState& s = state(stream);
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      Append(stream, s, bytes);
      return;
    }
    EndLine(stream, s, bytes.substr(0, newline));
    bytes.remove_prefix(newline + 1);
  }
}

void LineSplitter::Flush() {
  for (Stream stream : {Stream::kStdout, Stream::kStderr}) {
    StreamState& s = state(stream);
    // Nothing pending means the stream ended with '\n' (or a cut piece): no extra line.
    if (!s.pending.empty()) EndLine(stream, s, {});
    s.cut_piece = false;
  }
}

void LineSplitter::Append(Stream stream, StreamState& s, std::string_view bytes) {
  while (!bytes.empty()) {
    // A full buffer followed by more bytes of the same line: its content certainly exceeds
    // the limit (a trailing '\r' could only be the newly arrived byte), so cut a piece.
    if (s.pending.size() == kMaxLineBytes) {
      Emit(stream, s.pending);
      s.pending.clear();
      s.cut_piece = true;
    }
    if (s.pending.empty() && bytes.size() > kMaxLineBytes) {
      // Same reasoning, straight from the chunk: no copy for the bulk of a huge line.
      Emit(stream, bytes.substr(0, kMaxLineBytes));
      bytes.remove_prefix(kMaxLineBytes);
      s.cut_piece = true;
      continue;
    }
    size_t take = std::min(kMaxLineBytes - s.pending.size(), bytes.size());
    s.pending.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
  }
}

void LineSplitter::EndLine(Stream stream, StreamState& s, std::string_view rest) {
  if (s.pending.empty()) {
    // The common case: the whole line arrived in one chunk, so pass a view of it.
    std::string_view line = rest;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() <= kMaxLineBytes) {
      if (!(line.empty() && s.cut_piece)) Emit(stream, line);
      s.cut_piece = false;
      return;
    }
  }
  Append(stream, s, rest);
  std::string_view line = s.pending;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // After a cut, an empty remainder is the '\r' of a CRLF line, not a line of its own.
  if (!(line.empty() && s.cut_piece)) Emit(stream, line);
  s.pending.clear();
  s.cut_piece = false;
}

TailBuffer::TailBuffer(size_t max_lines, size_t max_line_bytes)
    : max_lines_(max_lines), max_line_bytes_(max_line_bytes) {}

void TailBuffer::Add(std::string_view line) {
  ++total_;
  if (max_lines_ == 0) return;
  std::string* slot;
  if (ring_.size() < max_lines_) {
    slot = &ring_.emplace_back();
    ++count_;
  } else {
    slot = &ring_[next_];
    next_ = (next_ + 1) % max_lines_;
  }
  if (line.size() <= max_line_bytes_) {
    slot->assign(line);  // reuses the slot's capacity
  } else {
    slot->assign(Utf8Prefix(line, max_line_bytes_));
    slot->append(" […]");
  }
}

std::vector<std::string> TailBuffer::Lines() const {
  std::vector<std::string> lines;
  lines.reserve(count_);
  // Before the ring fills next_ is 0, so this is insertion order either way.
  for (size_t i = 0; i < count_; ++i)
    lines.push_back(ring_[(next_ + i) % count_]);
  return lines;
}

std::string TailBuffer::Text() const {
  std::string text;
  for (size_t i = 0; i < count_; ++i) {
    text += ring_[(next_ + i) % count_];
    text += '\n';
  }
  return text;
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Back off over at most 3 continuation bytes (10xxxxxx) to the start of the character the
  // cut falls in; more than that is not UTF-8 anyway, and cutting there is as good as any.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++i)
    --cut;
  if ((static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut = max_bytes;
  return text.substr(0, cut);
}

}  // namespace stagecraft::engine
