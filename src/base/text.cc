#include "base/text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace stagecraft {
namespace {

// The C locale's classes, without a call per character: nothing in stagecraft sets a
// locale, and runbook syntax is ASCII.
bool IsSpace(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
char LowerAscii(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}
bool IsAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::string_view TrimView(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && IsSpace(static_cast<unsigned char>(text[begin])))
    ++begin;
  while (end > begin && IsSpace(static_cast<unsigned char>(text[end - 1])))
    --end;
  return text.substr(begin, end - begin);
}

std::string Trim(std::string_view text) {
  return std::string(TrimView(text));
}

std::string TrimRight(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && IsSpace(static_cast<unsigned char>(text[end - 1])))
    --end;
  return std::string(text.substr(0, end));
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    c = LowerAscii(static_cast<unsigned char>(c));
  return lower;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  LineReader reader(text);
  for (std::string_view line; reader.Next(line);)
    lines.push_back(line);
  return lines;
}

std::string Slugify(std::string_view title) {
  std::string slug;
  bool pending_dash = false;
  for (unsigned char c : title) {
    if (IsAlnum(c)) {
      if (pending_dash && !slug.empty()) slug.push_back('-');
      pending_dash = false;
      slug.push_back(LowerAscii(c));
    } else {
      pending_dash = true;
    }
  }
  return slug;
}

std::optional<Utf8Char> DecodeUtf8(std::string_view text, size_t i) {
  if (i >= text.size()) return std::nullopt;
  unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return Utf8Char{1, c};
  Utf8Char decoded;
  if ((c & 0xE0) == 0xC0) {
    decoded = {2, c & 0x1Fu};
  } else if ((c & 0xF0) == 0xE0) {
    decoded = {3, c & 0x0Fu};
  } else if ((c & 0xF8) == 0xF0) {
    decoded = {4, c & 0x07u};
  } else {
    return std::nullopt;
  }
  if (i + decoded.length > text.size()) return std::nullopt;
  for (size_t k = 1; k < decoded.length; ++k) {
    unsigned char next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return std::nullopt;
    decoded.code = (decoded.code << 6) | (next & 0x3F);
  }
  // Overlong encodings, surrogates and values past U+10FFFF are invalid too.
  static constexpr uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (decoded.code < kMinimum[decoded.length] || decoded.code > 0x10FFFF ||
      (decoded.code >= 0xD800 && decoded.code <= 0xDFFF))
    return std::nullopt;
  return decoded;
}

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    // Runbooks are mostly ASCII: skip eight such bytes at a time.
    uint64_t word;
    if (i + sizeof word <= text.size()) {
      std::memcpy(&word, text.data() + i, sizeof word);
      if ((word & 0x8080808080808080ull) == 0) {
        i += sizeof word;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    auto decoded = DecodeUtf8(text, i);
    if (!decoded) return i;
    i += decoded->length;
  }
  return std::nullopt;
}

namespace {

bool IsTerminalControl(unsigned char byte) {
  return (byte < 0x20 && byte != '\t' && byte != '\n') || byte == 0x7f;
}

void AppendHexEscape(unsigned char byte, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xf];
}

}  // namespace

bool NeedsTerminalEscaping(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (IsTerminalControl(byte)) return true;
      ++i;
      continue;
    }
    auto decoded = DecodeUtf8(text, i);
    if (!decoded || decoded->code <= 0x9f) return true;
    i += decoded->length;
  }
  return false;
}

void AppendTerminalSafe(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (IsTerminalControl(byte))
        AppendHexEscape(byte, out);
      else
        out += static_cast<char>(byte);
      ++i;
      continue;
    }
    auto decoded = DecodeUtf8(text, i);
    if (!decoded) {
      AppendHexEscape(byte, out);
      ++i;
    } else if (decoded->code >= 0x80 && decoded->code <= 0x9f) {
      for (size_t k = 0; k < decoded->length; ++k)
        AppendHexEscape(static_cast<unsigned char>(text[i + k]), out);
      i += decoded->length;
    } else {
      out.append(text.substr(i, decoded->length));
      i += decoded->length;
    }
  }
}

std::string TerminalSafe(std::string_view text) {
  if (!NeedsTerminalEscaping(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  AppendTerminalSafe(text, out);
  return out;
}

LineColumn LocateOffset(std::string_view text, size_t offset) {
  LineColumn where;
  offset = std::min(offset, text.size());
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++where.line;
      where.column = 1;
    } else {
      ++where.column;
    }
  }
  return where;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = 0;
  std::string lower = ToLower(word);
  for (const auto& candidate : candidates) {
    size_t distance = EditDistance(lower, candidate);
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // Allow about one typo per three letters ("timout" finds "timeout", "foo" finds nothing),
  // or a shared stem of four letters for truncations and plurals ("retry" -> "retries").
  if (!best) return std::nullopt;
  size_t common_prefix = 0;
  while (common_prefix < lower.size() && common_prefix < best->size() &&
         lower[common_prefix] == (*best)[common_prefix])
    ++common_prefix;
  if (best_distance <= std::max<size_t>(2, word.size() / 3) ||
      (common_prefix >= 4 && best_distance <= 3))
    return best;
  return std::nullopt;
}

bool IsShellIdentifier(std::string_view name) {
  if (name.empty()) return false;
  auto c0 = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(c0) || c0 == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x80 && (std::isalnum(u) || u == '_');
  });
}

}  // namespace stagecraft
