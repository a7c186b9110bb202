#include "exec/masking.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/text.h"

namespace stagecraft::exec {
namespace {

constexpr char kBase64Standard[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                     static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                     static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6)
      out.push_back(alphabet[(group >> shift) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(group >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

// The base64 characters of `value` that do not depend on its neighbours when it sits at
// byte offset `k` (mod 3) of a longer encoded stream. Character j covers bits [6j, 6j+6);
// the value covers bits [8k, 8k + 8n); keep the characters wholly inside.
std::string Base64Inner(std::string_view value, size_t k, const char* alphabet) {
  std::string padded(k, '\0');
  padded.append(value);
  padded.append((3 - padded.size() % 3) % 3, '\0');
  std::string encoded = Base64(padded, alphabet, /*pad=*/false);
  size_t first = (8 * k + 5) / 6;
  size_t last = (8 * k + 8 * value.size()) / 6;  // exclusive
  return encoded.substr(first, last - first);
}

std::string Hex(std::string_view bytes, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string UrlEncode(std::string_view value, std::string_view extra_safe, bool plus_for_space,
                      bool lower_hex) {
  const char* hex = lower_hex ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (IsUnreserved(c) || extra_safe.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && plus_for_space) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Options on which JSON serializers differ.
enum JsonOption : unsigned {
  kEscapeSlash = 1,  // "\/" (PHP's json_encode default)
  kAsciiOnly = 2,    // \uXXXX for non-ASCII (Python's json.dumps default)
  kHtmlSafe = 4,     // \u003c \u003e \u0026 \u2028 \u2029 (Go's encoding/json default)
  kUpperHex = 8,     // \u001F rather than \u001f
  kAllJsonOptions = 16,
};

void AppendUnicodeEscape(uint32_t unit, bool upper_hex, std::string& out) {
  const char* hex = upper_hex ? "0123456789ABCDEF" : "0123456789abcdef";
  out.append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4)
    out.push_back(hex[(unit >> shift) & 15]);
}

// Decodes the UTF-8 sequence at text[i], or returns false if it is not valid UTF-8.
bool DecodeUtf8(std::string_view text, size_t i, uint32_t* code_point, size_t* length) {
  auto c = static_cast<unsigned char>(text[i]);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || i + n > text.size()) return false;
  uint32_t cp = c & (0x7F >> n);
  for (size_t j = 1; j < n; ++j) {
    auto cc = static_cast<unsigned char>(text[i + j]);
    if ((cc & 0xC0) != 0x80) return false;
    cp = cp << 6 | (cc & 0x3F);
  }
  *code_point = cp;
  *length = n;
  return true;
}

// What a JSON serializer writes between the quotes for `value`; empty when `options` ask
// for \u escapes of non-ASCII and the value is not UTF-8 (no serializer would produce it).
std::string JsonEscape(std::string_view value, unsigned options) {
  bool upper = (options & kUpperHex) != 0;
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    switch (c) {
      case '"':
        out.append("\\\"");
        continue;
      case '\\':
        out.append("\\\\");
        continue;
      case '\b':
        out.append("\\b");
        continue;
      case '\f':
        out.append("\\f");
        continue;
      case '\n':
        out.append("\\n");
        continue;
      case '\r':
        out.append("\\r");
        continue;
      case '\t':
        out.append("\\t");
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      AppendUnicodeEscape(c, upper, out);
    } else if (c == '/' && (options & kEscapeSlash)) {
      out.append("\\/");
    } else if ((c == '<' || c == '>' || c == '&') && (options & kHtmlSafe)) {
      AppendUnicodeEscape(c, upper, out);
    } else if (c >= 0x80 && (options & (kAsciiOnly | kHtmlSafe))) {
      uint32_t cp = 0;
      size_t length = 0;
      if (!DecodeUtf8(value, i, &cp, &length)) {
        // Not UTF-8: ensure_ascii serializers reject it; Go writes U+FFFD, which no longer
        // holds the secret's byte, so plain pass-through is the best guess for both.
        if (options & kAsciiOnly) return {};
        out.push_back(static_cast<char>(c));
        continue;
      }
      bool line_separator = cp == 0x2028 || cp == 0x2029;
      if (options & kAsciiOnly) {
        if (cp >= 0x10000) {
          AppendUnicodeEscape(0xD800 + ((cp - 0x10000) >> 10), upper, out);
          AppendUnicodeEscape(0xDC00 + ((cp - 0x10000) & 0x3FF), upper, out);
        } else {
          AppendUnicodeEscape(cp, upper, out);
        }
      } else if (line_separator) {
        AppendUnicodeEscape(cp, upper, out);
      } else {
        out.append(value.substr(i, length));
      }
      i += length - 1;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// Slot of a position in the prefix filter: a multiplicative hash of its first four bytes
// (every pattern has at least kMinSecretLength = 4). Hashing four bytes rather than
// indexing by two keeps the false-hit rate near patterns/65536 even when secrets start
// like ordinary words ("the-...").
static_assert(SecretMasker::kMinSecretLength >= 4);
uint32_t FilterSlot(const char* bytes) {
  uint32_t prefix = 0;
  std::memcpy(&prefix, bytes, sizeof prefix);
  return (prefix * 2654435761u) >> 16;
}

uint16_t PairKey(std::string_view pattern) {
  return static_cast<uint16_t>(static_cast<unsigned char>(pattern[0]) << 8 |
                               static_cast<unsigned char>(pattern[1]));
}

std::vector<std::string> SplitNameWords(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  auto finish = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c)) {
      finish();
      continue;
    }
    if (std::isupper(c) && i > 0) {
      auto prev = static_cast<unsigned char>(name[i - 1]);
      bool next_lower =
          i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
      // "apiKey" -> api|Key; "APIKey" -> API|Key.
      if (std::islower(prev) || std::isdigit(prev) || (std::isupper(prev) && next_lower)) finish();
    }
    word.push_back(static_cast<char>(std::toupper(c)));
  }
  finish();
  return words;
}

bool Contains(const std::vector<std::string_view>& set, std::string_view word) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

}  // namespace

bool SecretMasker::Add(std::string_view value) {
  std::string_view trimmed = TrimView(value);
  if (trimmed.size() < kMinSecretLength) return false;

  std::vector<std::string> derived;
  auto add = [&derived](std::string pattern) {
    // No pattern may contain '\n': output is masked per line (see the header).
    if (pattern.size() >= kMinSecretLength && pattern.find('\n') == std::string::npos)
      derived.push_back(std::move(pattern));
  };

  std::vector<std::string_view> forms = {value};
  if (trimmed != value) forms.push_back(trimmed);
  for (std::string_view form : forms) {
    add(std::string(form));
    if (form.find('\n') != std::string_view::npos) {
      for (std::string_view line : SplitLines(form))
        add(std::string(TrimView(line)));
    }
    // `base64 FILE` wraps at 76 columns and `openssl base64` at 64: a long secret encoded
    // on its own comes out as lines, and output is masked line by line.
    std::string standard = Base64(form, kBase64Standard, /*pad=*/true);
    for (size_t width : {76, 64}) {
      for (size_t at = 0; standard.size() > width && at < standard.size(); at += width)
        add(standard.substr(at, width));
    }
    for (const char* alphabet : {kBase64Standard, kBase64Url}) {
      add(Base64(form, alphabet, /*pad=*/true));
      add(Base64(form, alphabet, /*pad=*/false));
      for (size_t k = 0; k < 3; ++k)
        add(Base64Inner(form, k, alphabet));
    }
    // Hex is byte-aligned, so the plain pattern also covers a secret inside longer hex.
    // `xxd -p` wraps at 60 columns: as for base64, the lines of a secret encoded on its own.
    for (bool upper : {false, true}) {
      std::string hex = Hex(form, upper);
      for (size_t at = 0; hex.size() > 60 && at < hex.size(); at += 60)
        add(hex.substr(at, 60));
      add(std::move(hex));
    }
    for (std::string_view safe : {"", "!'()*", "/"}) {
      for (bool plus : {false, true}) {
        for (bool lower : {false, true})
          add(UrlEncode(form, safe, plus, lower));
      }
    }
    for (unsigned options = 0; options < kAllJsonOptions; ++options)
      add(JsonEscape(form, options));
  }

  patterns_.insert(patterns_.end(), std::make_move_iterator(derived.begin()),
                   std::make_move_iterator(derived.end()));
  RebuildIndex();
  return true;
}

void SecretMasker::RebuildIndex() {
  std::sort(patterns_.begin(), patterns_.end(), [](const std::string& a, const std::string& b) {
    uint16_t ka = PairKey(a);
    uint16_t kb = PairKey(b);
    if (ka != kb) return ka < kb;
    if (a.size() != b.size()) return a.size() > b.size();
    return a < b;
  });
  patterns_.erase(std::unique(patterns_.begin(), patterns_.end()), patterns_.end());

  buckets_.clear();
  prefix_filter_.fill(0);
  pair_filter_.fill(0);
  longest_ = 0;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    uint16_t key = PairKey(patterns_[i]);
    if (buckets_.empty() || buckets_.back().key != key)
      buckets_.push_back({key, static_cast<uint32_t>(i), static_cast<uint32_t>(i)});
    buckets_.back().end = static_cast<uint32_t>(i + 1);
    uint32_t slot = FilterSlot(patterns_[i].data());
    prefix_filter_[slot >> 6] |= uint64_t{1} << (slot & 63);
    for (size_t offset = 0; offset < 3; ++offset) {
      uint16_t pair = PairKey(std::string_view(patterns_[i]).substr(offset));
      pair_filter_[pair >> 6] |= uint64_t{1} << (pair & 63);
    }
    longest_ = std::max(longest_, patterns_[i].size());
  }
}

size_t SecretMasker::LongestMatchAt(std::string_view text, size_t pos) const {
  uint16_t key = PairKey(text.substr(pos));
  auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                                 [](const Bucket& b, uint16_t k) { return b.key < k; });
  if (bucket == buckets_.end() || bucket->key != key) return 0;
  size_t room = text.size() - pos;
  for (uint32_t i = bucket->begin; i < bucket->end; ++i) {
    const std::string& pattern = patterns_[i];
    if (pattern.size() > room) continue;
    // The first two bytes are equal by construction of the bucket.
    if (std::memcmp(text.data() + pos + 2, pattern.data() + 2, pattern.size() - 2) == 0)
      return pattern.size();
  }
  return 0;
}

std::string_view SecretMasker::MaskPrefix(std::string_view window, size_t emit, size_t* covered,
                                          std::string* scratch) const {
  emit = std::min(emit, window.size());
  // Bytes before run_end are hidden by the latest "***" (emitted now or by an earlier call).
  size_t run_end = *covered;
  bool wrote = false;
  if (!patterns_.empty() && window.size() >= kMinSecretLength) {
    const char* bytes = window.data();
    size_t scan_end = std::min(emit, window.size() - kMinSecretLength + 1);
    for (size_t block = 0; block < scan_end; block += 3) {
      // Every pattern is at least four bytes long, so one starting at block, block + 1 or
      // block + 2 has the pair at block + 2 among its first four bytes. block + 3 is within
      // the window because scan_end leaves room for a four-byte pattern.
      uint16_t pair = PairKey(window.substr(block + 2, 2));
      if (((pair_filter_[pair >> 6] >> (pair & 63)) & 1) == 0) continue;
      for (size_t pos = block; pos < std::min(block + 3, scan_end); ++pos) {
        uint32_t slot = FilterSlot(bytes + pos);
        if (((prefix_filter_[slot >> 6] >> (slot & 63)) & 1) == 0) continue;
        size_t length = LongestMatchAt(window, pos);
        if (length == 0) continue;
        if (pos < run_end) {
          // Overlaps the current run: hide the union rather than leak the tail.
          run_end = std::max(run_end, pos + length);
          continue;
        }
        if (!wrote) {
          scratch->clear();
          wrote = true;
        }
        scratch->append(window.substr(run_end, pos - run_end));
        scratch->append(kMaskText);
        run_end = pos + length;
      }
    }
  }
  size_t tail = std::min(run_end, emit);
  *covered = run_end > emit ? run_end - emit : 0;
  if (!wrote) return window.substr(tail, emit - tail);
  scratch->append(window.substr(tail, emit - tail));
  return *scratch;
}

std::string SecretMasker::Mask(std::string_view text) const {
  std::string scratch;
  size_t covered = 0;
  std::string_view masked = MaskPrefix(text, text.size(), &covered, &scratch);
  if (masked.data() == scratch.data()) return scratch;
  return std::string(masked);
}

MaskingSink::MaskingSink(OutputSink& downstream, const SecretMasker& masker, size_t line_cap)
    : downstream_(downstream), masker_(masker), line_cap_(std::max<size_t>(line_cap, 1)) {}

MaskingSink::~MaskingSink() {
  Flush();
}

void MaskingSink::OnOutput(Stream stream, std::string_view bytes) {
  StreamState& s = state(stream);
  // Feed large writes in slices so a single huge chunk does not get copied whole into the
  // buffer: memory stays bounded by the cap, not by the caller's chunk size.
  while (!bytes.empty()) {
    size_t take = std::min(bytes.size(), line_cap_);
    s.pending.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    Drain(stream, take, /*final=*/false);
  }
}

void MaskingSink::Flush() {
  Drain(Stream::kStdout, 0, /*final=*/true);
  Drain(Stream::kStderr, 0, /*final=*/true);
}

void MaskingSink::Drain(Stream stream, size_t appended, bool final) {
  StreamState& s = state(stream);
  std::string_view window = s.pending;
  size_t emit = 0;
  if (final) {
    emit = window.size();
  } else {
    // Only the new bytes can hold a newline: everything up to an older one was emitted.
    std::string_view fresh = window.substr(window.size() - appended);
    size_t newline = fresh.rfind('\n');
    if (newline != std::string_view::npos) emit = window.size() - appended + newline + 1;
    // Keep longest - 1 bytes so a pattern starting before the cut is seen whole. Waiting for
    // cap + hold bytes makes every early emit at least `cap` long (no trickle of tiny writes).
    size_t hold = masker_.longest_pattern() > 0 ? masker_.longest_pattern() - 1 : 0;
    if (window.size() - emit >= line_cap_ + hold) emit = window.size() - hold;
  }
  if (emit == 0) return;
  std::string_view masked = masker_.MaskPrefix(window, emit, &s.covered, &scratch_);
  if (!masked.empty()) downstream_.OnOutput(stream, masked);
  s.pending.erase(0, emit);
}

bool LooksSecret(std::string_view variable_name) {
  static const std::vector<std::string_view> kAnywhere = {
      "PASSWORD",   "PASSWD", "PASSPHRASE", "SECRET",     "TOKEN",
      "CREDENTIAL", "APIKEY", "ACCESSKEY",  "PRIVATEKEY", "PRIVKEY"};
  static const std::vector<std::string_view> kWords = {"KEY", "KEYS", "PASS", "PRIVATE"};
  static const std::vector<std::string_view> kLookupKeyKinds = {
      "PARTITION", "SORT", "RANGE", "FOREIGN", "CACHE", "OBJECT", "S3", "ROUTING"};
  static const std::vector<std::string_view> kAboutASecret = {
      "ID",   "IDS", "ARN",   "ARNS", "NAME",   "NAMES", "PATH",
      "FILE", "DIR", "ALIAS", "TYPE", "LENGTH", "TTL",   "VERSION"};

  std::vector<std::string> words = SplitNameWords(variable_name);
  if (words.empty()) return false;
  if (words.size() > 1 && Contains(kAboutASecret, words.back())) return false;

  std::string upper(variable_name);
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view marker : kAnywhere) {
    if (upper.find(marker) != std::string::npos) return true;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (!Contains(kWords, words[i])) continue;
    bool lookup_key = (words[i] == "KEY" || words[i] == "KEYS") && i > 0 &&
                      Contains(kLookupKeyKinds, words[i - 1]);
    if (!lookup_key) return true;
  }
  return false;
}

}  // namespace stagecraft::exec
