#pragma once

// Secret masking: everything the engine writes (console, journal, reports) passes through a
// SecretMasker so declared secrets and secret-looking variables show up as "***".
//
// Patterns. From each registered value the masker derives the byte strings to hide:
//   - the value itself, and the value trimmed of surrounding whitespace (secrets read from a
//     file or a command usually end in '\n' that the shell strips again);
//   - for a multi-line value, each line trimmed of whitespace (so "\r\n" files work) instead
//     of the whole value: output is masked line by line, so no pattern may contain '\n'.
//     The line structure stays visible, and lines shorter than kMinSecretLength are not
//     hidden (a PEM key's "-----END ...-----" line is, its short last base64 line may not be);
//   - base64 (standard and URL-safe alphabet, padded and unpadded) of the value, and the
//     alignment-independent middle of base64(k filler bytes + value) for k = 0, 1, 2. Inside
//     a longer base64 stream (e.g. base64("user:" + secret) in an Authorization header) the
//     secret starts at one of three byte alignments; the first and last base64 characters
//     it touches also carry bits of its neighbours, so those edge characters are left out of
//     the pattern. At most 4 bits of the secret stay visible at each end. Also the lines of
//     the standard encoding wrapped at 76 (`base64 FILE`) and 64 (`openssl base64`) columns,
//     which covers a secret encoded on its own; a long secret inside a longer wrapped stream
//     is only hidden where a whole pattern fits on one line;
//   - hex, lower and upper case (`xxd -p`, `od -An -tx1`, Python's bytes.hex()). Hex keeps
//     byte boundaries, so the whole pattern is found inside longer hex too. Also the lines of
//     the hex wrapped at 60 columns (`xxd -p`) of a secret encoded on its own; inside a
//     longer wrapped hex dump, a secret is only hidden where its whole hex fits on one line;
//   - URL encoding: RFC 3986 percent-encoding with upper- and lower-case hex, with space as
//     "%20" or "+" (form encoding), and with the "safe" sets of common encoders (only the
//     unreserved set; also "!'()*" like JavaScript's encodeURIComponent; also "/" like
//     Python's quote);
//   - JSON string escaping: \" \\ \b \f \n \r \t and \u00XX for other control bytes, with the
//     variants serializers differ on: "\/" for '/', \u escapes of non-ASCII (Python's
//     ensure_ascii), \u003c \u003e \u0026 \u2028 \u2029 (Go's HTML-safe default), hex case.
// Values whose trimmed form is shorter than kMinSecretLength bytes are ignored, and so is any
// derived pattern that short: hiding every "a" or "no" would destroy the output and tell an
// attacker little anyway. Such a value is still hidden where it is part of a longer
// registered secret, since the longer pattern covers it.
//
// Matching. Every occurrence of every pattern is found, overlapping ones included; a run of
// overlapping occurrences becomes a single "***" (hiding the union, so overlapping secrets
// never leave a piece of one visible). Occurrences that merely touch give one "***" each.
// Scanning probes a 64 Ki-bit filter of the byte pairs that begin patterns once every
// three positions, then a filter of hashed first four bytes, and only compares patterns on
// a hit, so clean output costs about one table probe per three bytes (no regex, no
// per-pattern pass).
//
// Thread-safety: Add() must not run concurrently with anything else on the same masker;
// the const methods may be called from any number of threads at once.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exec/output_sink.h"

namespace stagecraft::exec {

// What replaces each hidden run of bytes.
inline constexpr std::string_view kMaskText = "***";

class SecretMasker {
 public:
  static constexpr size_t kMinSecretLength = 4;

  // Registers a secret value and the patterns derived from it (see above). Returns false
  // when the value is too short to mask, so callers can warn that it will show in output.
  bool Add(std::string_view value);

  // `text` with every hidden run replaced by kMaskText. For complete texts (reports,
  // journal entries); streamed output goes through MaskingSink.
  std::string Mask(std::string_view text) const;

  // Streaming primitive behind MaskingSink; most callers want Mask().
  // Masks window[0, emit). The bytes after `emit` are lookahead: they let an occurrence that
  // starts before `emit` be seen whole, so the caller must pass at least
  // longest_pattern() - 1 of them unless `window` ends its stream (or `emit` follows a '\n',
  // which no pattern contains). On entry `*covered` is how many leading bytes of `window`
  // are already hidden by a kMaskText emitted earlier; on return, how many bytes of
  // window[emit..] the kMaskText emitted now already hides (carry it to the next call).
  // Returns the masked bytes: a view into `window` when nothing new was hidden (no copy),
  // otherwise a view of `*scratch`, which is overwritten.
  std::string_view MaskPrefix(std::string_view window, size_t emit, size_t* covered,
                              std::string* scratch) const;

  bool empty() const { return patterns_.empty(); }
  size_t pattern_count() const { return patterns_.size(); }
  // Length of the longest pattern; 0 when empty.
  size_t longest_pattern() const { return longest_; }

 private:
  // Patterns sharing their first two bytes, as a range of patterns_.
  struct Bucket {
    uint16_t key = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
  };

  void RebuildIndex();
  // Length of the longest pattern that occurs at text[pos..], or 0.
  size_t LongestMatchAt(std::string_view text, size_t pos) const;

  // Sorted by first two bytes, then longest first, so the first hit in a bucket is the
  // longest match at that position.
  std::vector<std::string> patterns_;
  std::vector<Bucket> buckets_;  // sorted by key
  // Bit FilterSlot(p) is set for the first four bytes of every pattern p (see masking.cc).
  std::array<uint64_t, 65536 / 64> prefix_filter_{};
  // Bit k is set for every two-byte pair k at offsets 0, 1 and 2 of a pattern: lets the
  // scan rule out three positions with one probe (see MaskPrefix).
  std::array<uint64_t, 65536 / 64> pair_filter_{};
  size_t longest_ = 0;
};

// An OutputSink that masks secrets before passing output on to `downstream`.
//
// Output arrives in arbitrary chunks, so a secret may be split across OnOutput calls. Each
// stream keeps its own buffer (a secret split between stdout and stderr is two unrelated
// fragments, as it is on a terminal). Complete lines are masked and passed on as soon as
// they arrive. A partial line is held back until its newline, except that once more than
// `line_cap` + longest_pattern() - 1 bytes are pending the sink emits all but the last
// longest_pattern() - 1, which is enough to still recognise a secret that straddles the cut. Memory
// per stream is thus bounded by about 2 * line_cap + longest_pattern() whatever the input (a 1 GiB
// line without newline is streamed, not buffered). Output is identical to Mask() of the whole
// stream, however it was chunked.
//
// Ownership: `downstream` and `masker` are not owned and must outlive the sink; the masker
// may gain secrets between calls but not during one. Not thread-safe: one thread feeds it,
// and `downstream` is called on that thread, from OnOutput(), Flush() and the destructor.
class MaskingSink final : public OutputSink {
 public:
  static constexpr size_t kDefaultLineCap = 64 * 1024;

  MaskingSink(OutputSink& downstream, const SecretMasker& masker,
              size_t line_cap = kDefaultLineCap);
  // Flushes, so a forgotten Flush() cannot drop the last line.
  ~MaskingSink() override;
  MaskingSink(const MaskingSink&) = delete;
  MaskingSink& operator=(const MaskingSink&) = delete;

  void OnOutput(Stream stream, std::string_view bytes) override;

  // Masks and passes on whatever is still buffered (e.g. an unterminated last line). Call
  // when the process has exited; the sink can be reused afterwards.
  void Flush();

  // Bytes currently held back for `stream` (for tests and diagnostics).
  size_t buffered(Stream stream) const { return state(stream).pending.size(); }

 private:
  struct StreamState {
    std::string pending;  // not yet passed on; never contains '\n' between calls
    size_t covered = 0;   // leading bytes of `pending` already hidden by an emitted "***"
  };

  StreamState& state(Stream stream) { return streams_[stream == Stream::kStdout ? 0 : 1]; }
  const StreamState& state(Stream stream) const {
    return streams_[stream == Stream::kStdout ? 0 : 1];
  }
  // Passes on the masked prefix of `pending` that is safe to emit; everything if `final`.
  // `appended` is how many bytes at the end of `pending` are new since the last call.
  void Drain(Stream stream, size_t appended, bool final);

  OutputSink& downstream_;
  const SecretMasker& masker_;
  size_t line_cap_;
  std::array<StreamState, 2> streams_;
  std::string scratch_;  // reused between calls to avoid an allocation per line
};

// Whether an environment/shell variable name looks like it holds a secret, so the engine
// masks its value without it being declared. The name is split into words at '_' and other
// non-alphanumeric characters and at camelCase boundaries, and upper-cased. It looks secret
// when:
//   - it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL, APIKEY,
//     ACCESSKEY, PRIVATEKEY or PRIVKEY anywhere (these are unambiguous even inside a word:
//     DBPASSWORD, GITHUBTOKEN); or
//   - one of its words is KEY, KEYS, PASS or PRIVATE. Whole words only, because as
//     substrings they hit MONKEY, KEYBOARD, BYPASS, COMPASS, PASSENGER. KEY preceded by a
//     data-structure word (PARTITION_KEY, SORT_KEY, RANGE_KEY, FOREIGN_KEY, CACHE_KEY,
//     OBJECT_KEY, S3_KEY, ROUTING_KEY) names a lookup key, not a secret.
// except when its last word says the variable is about a secret rather than holding one: ID,
// IDS, ARN, ARNS, NAME, NAMES, PATH, FILE, DIR, ALIAS, TYPE, LENGTH, TTL, VERSION (SECRET_ARN,
// AWS_ACCESS_KEY_ID, KMS_KEY_ID, DB_PASSWORD_FILE). PWD/OLDPWD (the working directory) are
// deliberately not matched. False positives only hide a harmless value; the rule errs that
// way for anything ambiguous (PRIVATE_SUBNETS is masked).
bool LooksSecret(std::string_view variable_name);

}  // namespace stagecraft::exec
