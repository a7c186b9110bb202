#include "report/escape.h"

#include <cstdint>

#include "base/text.h"

namespace stagecraft::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at text[i] (2-4), 0 if it is invalid, or
// minus its length if it is well-formed but encodes a character not to show (C1 controls,
// the non-characters U+FFFE/U+FFFF that XML forbids).
int SequenceLength(std::string_view text, size_t i) {
  auto decoded = DecodeUtf8(text, i);
  if (!decoded) return 0;
  int length = static_cast<int>(decoded->length);
  if (decoded->code == 0xFFFE || decoded->code == 0xFFFF) return -length;
  // C1 controls are valid XML but render as garbage; dropped like C0 controls.
  if (decoded->code >= 0x80 && decoded->code <= 0x9F) return -length;
  return length;
}

// Length of the ANSI escape sequence starting at text[i] (an ESC), covering CSI
// ("ESC [ ... final") and OSC ("ESC ] ... BEL" or "ESC ] ... ESC \") and two-byte forms.
size_t EscapeSequenceLength(std::string_view text, size_t i) {
  size_t n = text.size();
  if (i + 1 >= n) return 1;
  char kind = text[i + 1];
  if (kind == '[') {
    size_t j = i + 2;
    while (j < n && static_cast<unsigned char>(text[j]) >= 0x20 &&
           static_cast<unsigned char>(text[j]) <= 0x3F)
      ++j;
    if (j < n && static_cast<unsigned char>(text[j]) >= 0x40 &&
        static_cast<unsigned char>(text[j]) <= 0x7E)
      return j + 1 - i;
    return j - i;
  }
  if (kind == ']') {
    for (size_t j = i + 2; j < n; ++j) {
      if (text[j] == '\a') return j + 1 - i;
      if (text[j] == '\x1b' && j + 1 < n && text[j + 1] == '\\') return j + 2 - i;
    }
    return n - i;
  }
  return 2;
}

}  // namespace

std::string SanitizeText(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    // Fast path: a run of printable ASCII is copied in one go.
    size_t start = i;
    while (i < n) {
      unsigned char c = static_cast<unsigned char>(bytes[i]);
      if (c < 0x20 || c >= 0x7F) break;
      ++i;
    }
    out.append(bytes.data() + start, i - start);
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\n' || c == '\t') {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\r') {
      // "\r\n" is one line end; a lone '\r' (progress bars) starts a new line too, so
      // nothing is overwritten out of sight.
      out += '\n';
      i += (i + 1 < n && bytes[i + 1] == '\n') ? 2 : 1;
    } else if (c == 0x1B) {
      i += EscapeSequenceLength(bytes, i);
    } else if (c < 0x80) {
      ++i;  // other C0 controls and DEL
    } else if (int length = SequenceLength(bytes, i); length > 0) {
      out.append(bytes.data() + i, length);
      i += length;
    } else if (length < 0) {
      i += -length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

void AppendXmlEscaped(std::string& out, std::string_view text) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    std::string_view replacement;
    switch (text[i]) {
      case '&':
        replacement = "&amp;";
        break;
      case '<':
        replacement = "&lt;";
        break;
      case '>':
        replacement = "&gt;";
        break;
      case '"':
        replacement = "&quot;";
        break;
      case '\'':
        replacement = "&#39;";
        break;
      case '\t':
      case '\n':
      case '\r':
        continue;
      default:
        // C0 controls cannot appear in XML 1.0 even as references; SanitizeText drops
        // them earlier, this keeps text that skipped it well-formed.
        if (static_cast<unsigned char>(text[i]) >= 0x20) continue;
        replacement = "";
        break;
    }
    out.append(text.data() + start, i - start);
    out += replacement;
    start = i + 1;
  }
  out.append(text.data() + start, text.size() - start);
}

std::string XmlEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendXmlEscaped(out, text);
  return out;
}

std::string MarkdownInline(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '&':
      case '|':
      case '~':
        out += '\\';
        out += c;
        break;
      case '\n':
      case '\t':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string MarkdownFence(std::string_view content) {
  size_t longest = 0;
  size_t run = 0;
  for (char c : content) {
    run = c == '`' ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return std::string(longest >= 3 ? longest + 1 : 3, '`');
}

std::string Ellipsize(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back up to the start of a UTF-8 character.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  std::string out(text.substr(0, cut));
  out += "\xE2\x80\xA6";
  return out;
}

}  // namespace stagecraft::report
