#include "runbook/lint_text.h"

#include <fmt/format.h>

#include <array>
#include <map>
#include <set>
#include <vector>

#include "base/text.h"

namespace stagecraft::runbook {
namespace {

// The characters bytes 0x80-0xFF stand for in each encoding (Python's codecs; Windows-1252's
// five unassigned bytes are kept as the C1 controls Latin-1 gives them).
constexpr std::array<uint32_t, 128> kMacRoman = {
    0x00C4, 0x00C5, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00DC, 0x00E1, 0x00E0, 0x00E2, 0x00E4, 0x00E3,
    0x00E5, 0x00E7, 0x00E9, 0x00E8, 0x00EA, 0x00EB, 0x00ED, 0x00EC, 0x00EE, 0x00EF, 0x00F1, 0x00F3,
    0x00F2, 0x00F4, 0x00F6, 0x00F5, 0x00FA, 0x00F9, 0x00FB, 0x00FC, 0x2020, 0x00B0, 0x00A2, 0x00A3,
    0x00A7, 0x2022, 0x00B6, 0x00DF, 0x00AE, 0x00A9, 0x2122, 0x00B4, 0x00A8, 0x2260, 0x00C6, 0x00D8,
    0x221E, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x00B5, 0x2202, 0x2211, 0x220F, 0x03C0, 0x222B, 0x00AA,
    0x00BA, 0x03A9, 0x00E6, 0x00F8, 0x00BF, 0x00A1, 0x00AC, 0x221A, 0x0192, 0x2248, 0x2206, 0x00AB,
    0x00BB, 0x2026, 0x00A0, 0x00C0, 0x00C3, 0x00D5, 0x0152, 0x0153, 0x2013, 0x2014, 0x201C, 0x201D,
    0x2018, 0x2019, 0x00F7, 0x25CA, 0x00FF, 0x0178, 0x2044, 0x20AC, 0x2039, 0x203A, 0xFB01, 0xFB02,
    0x2021, 0x00B7, 0x201A, 0x201E, 0x2030, 0x00C2, 0x00CA, 0x00C1, 0x00CB, 0x00C8, 0x00CD, 0x00CE,
    0x00CF, 0x00CC, 0x00D3, 0x00D4, 0xF8FF, 0x00D2, 0x00DA, 0x00DB, 0x00D9, 0x0131, 0x02C6, 0x02DC,
    0x00AF, 0x02D8, 0x02D9, 0x02DA, 0x00B8, 0x02DD, 0x02DB, 0x02C7};

constexpr std::array<uint32_t, 128> kWindows1252 = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178, 0x00A0, 0x00A1, 0x00A2, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x00BA, 0x00BB,
    0x00BC, 0x00BD, 0x00BE, 0x00BF, 0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x00D0, 0x00D1, 0x00D2, 0x00D3,
    0x00D4, 0x00D5, 0x00D6, 0x00D7, 0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB,
    0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF};

struct Encoding {
  const char* name;
  const std::array<uint32_t, 128>* table;
};
constexpr Encoding kEncodings[] = {{"Mac Roman", &kMacRoman}, {"Windows-1252", &kWindows1252}};

// The byte `code` stands for in the encoding, or -1.
int ByteOf(const Encoding& encoding, uint32_t code) {
  for (size_t i = 0; i < encoding.table->size(); ++i)
    if ((*encoding.table)[i] == code) return static_cast<int>(0x80 + i);
  return -1;
}

// Characters text is written in: a match outside them (a modifier letter, a combining mark
// out of nowhere) is more likely a real pair of accented letters than mojibake.
bool Plausible(uint32_t code) {
  return (code >= 0xA0 && code <= 0x24F) || (code >= 0x370 && code <= 0x52F) ||
         (code >= 0x1E00 && code <= 0x1EFF) || (code >= 0x2000 && code <= 0x2BFF) ||
         (code >= 0x3000 && code <= 0x30FF) || (code >= 0x4E00 && code <= 0x9FFF) ||
         (code >= 0xAC00 && code <= 0xD7AF) || (code >= 0xFE00 && code <= 0xFE0F) ||
         (code >= 0x1F000 && code <= 0x1FAFF);
}

struct Char {
  size_t offset = 0;
  size_t length = 0;
  uint32_t code = 0;
};

// At chars[i], the characters that spell one UTF-8 sequence in `encoding`: how many, and the
// sequence's bytes; 0 when there is none.
size_t SequenceAt(const std::vector<Char>& chars, size_t i, const Encoding& encoding,
                  std::string& bytes) {
  int lead = ByteOf(encoding, chars[i].code);
  size_t length = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  std::string sequence(1, static_cast<char>(lead));
  // Mac Roman shows an emoji's lead byte F0 as the Apple logo, a private character that
  // editors and web pages often drop: "üöÄ" alone is still 🚀 without its first byte.
  size_t shown = length;
  if (length == 0 && lead == 0x9F && encoding.table == &kMacRoman) {
    sequence.insert(sequence.begin(), '\xF0');
    length = 4;
    shown = 3;
  }
  if (length == 0 || lead > 0xF4 || i + shown > chars.size()) return 0;
  for (size_t k = 1; k < shown; ++k) {
    if (chars[i + k].offset != chars[i + k - 1].offset + chars[i + k - 1].length) return 0;
    int byte = ByteOf(encoding, chars[i + k].code);
    if (byte < 0x80 || byte > 0xBF) return 0;
    sequence.push_back(static_cast<char>(byte));
  }
  auto decoded = DecodeUtf8(sequence, 0);
  if (!decoded || decoded->length != length || !Plausible(decoded->code)) return 0;
  if (shown < length && decoded->code < 0x1F300) return 0;  // only emoji lose their lead
  bytes += sequence;
  return shown;
}

std::vector<Char> NonAscii(std::string_view line) {
  std::vector<Char> chars;
  for (size_t i = 0; i < line.size();) {
    auto decoded = DecodeUtf8(line, i);
    size_t length = decoded ? decoded->length : 1;
    if (decoded && decoded->code >= 0x80) chars.push_back({i, length, decoded->code});
    i += length;
  }
  return chars;
}

// The garbled run starting at chars[i] in `encoding`: its end (i when there is none) and
// what it spelled. Adjacent sequences make one run: "‚ö†Ô∏è" is two, "⚠" and its variation
// selector.
size_t RunAt(const std::vector<Char>& chars, size_t i, const Encoding& encoding,
             std::string& repaired) {
  size_t end = i;
  while (end < chars.size() &&
         (end == i || chars[end].offset == chars[end - 1].offset + chars[end - 1].length)) {
    size_t length = SequenceAt(chars, end, encoding, repaired);
    if (length == 0) break;
    end += length;
  }
  return end;
}

bool IsAscii(std::string_view line) {
  for (char c : line)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

std::vector<Mojibake> FindMojibake(std::string_view line) {
  if (IsAscii(line)) return {};
  std::vector<Char> chars = NonAscii(line);
  std::vector<Mojibake> found;
  for (size_t i = 0; i < chars.size();) {
    size_t end = i;
    std::string repaired;
    const Encoding* encoding = nullptr;
    for (const Encoding& candidate : kEncodings) {
      std::string text;
      size_t candidate_end = RunAt(chars, i, candidate, text);
      if (candidate_end > end) {
        end = candidate_end;
        repaired = std::move(text);
        encoding = &candidate;
      }
    }
    if (!encoding) {
      ++i;
      continue;
    }
    size_t from = chars[i].offset;
    size_t to = chars[end - 1].offset + chars[end - 1].length;
    found.push_back({from, std::string(line.substr(from, to - from)), repaired, encoding->name});
    i = end;
  }
  return found;
}

void LintMojibake(std::string_view source, Diagnostics& out) {
  int number = 0;
  LineReader reader(source);
  for (std::string_view line; reader.Next(line);) {
    ++number;
    for (const Mojibake& found : FindMojibake(line)) {
      std::string iconv =
          std::string_view(found.encoding) == "Mac Roman" ? "MACINTOSH" : "WINDOWS-1252";
      out.push_back(
          {Severity::kWarning,
           {number, static_cast<int>(found.offset) + 1},
           fmt::format("'{}' looks like UTF-8 text read as {}", found.garbled, found.encoding),
           fmt::format("it was probably '{}': retype it (if the whole file was garbled this way, "
                       "'iconv -f UTF-8 -t {}' turns it back)",
                       found.repaired, iconv),
           "mojibake"});
    }
  }
}

void MergeRepeatedMojibake(Diagnostics& findings) {
  std::map<std::string, size_t> first;  // message -> index of its first finding
  std::map<std::string, std::set<int>> later_lines;
  Diagnostics kept;
  for (Diagnostic& finding : findings) {
    if (finding.id == "mojibake") {
      auto [at, inserted] = first.emplace(finding.message, kept.size());
      if (!inserted) {
        if (finding.pos.line != kept[at->second].pos.line)
          later_lines[finding.message].insert(finding.pos.line);
        continue;
      }
    }
    kept.push_back(std::move(finding));
  }
  for (auto& [message, lines] : later_lines)
    kept[first[message]].message +=
        fmt::format(" (and on {} later line{}, from line {})", lines.size(),
                    lines.size() == 1 ? "" : "s", *lines.begin());
  findings = std::move(kept);
}

}  // namespace stagecraft::runbook
