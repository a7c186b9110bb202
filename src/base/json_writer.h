#pragma once

// Pretty-printed JSON written as it is produced, without building a document first: byte
// for byte what nlohmann::json::dump(2) prints for the same values (two spaces a level,
// "key": value, empty containers as {} and [], '"', '\\' and control characters escaped,
// other UTF-8 passed through). Like nlohmann's objects, keys must come in byte-wise order
// where output is compared with it. Used by the plan and the JSON report.

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stagecraft {

namespace json_detail {

// Position of the first byte at or after `i` that a JSON string must escape: '"', '\\' or a
// control character; text.size() if none. Code is most of a JSON plan's bytes and rarely
// needs escapes, so eight bytes are looked at a time (the tests for a byte below a value and
// for a zero byte from Sean Anderson's "Bit Twiddling Hacks"; both are exact for a word).
inline size_t FindEscape(std::string_view text, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    uint64_t quote = word ^ (kOnes * '"');
    uint64_t backslash = word ^ (kOnes * '\\');
    uint64_t found = ((word - kOnes * 0x20) & ~word) | ((quote - kOnes) & ~quote) |
                     ((backslash - kOnes) & ~backslash);
    if (found & kHigh) break;
  }
  for (; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return text.size();
}

}  // namespace json_detail

// Appends to a string: the sink for JSON that is wanted whole.
struct StringSink {
  std::string& out;
  void Append(std::string_view bytes) { out.append(bytes); }
  void Append(char c) { out.push_back(c); }
};

// `Sink` has Append(std::string_view) and Append(char); it may be a reference type.
template <typename Sink>
class JsonWriter {
 public:
  explicit JsonWriter(Sink out) : out_(out) { open_.reserve(16); }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  // Starts an object member; its value follows.
  void Key(std::string_view key) {
    NextMember();
    if (json_detail::FindEscape(key, 0) == key.size()) {  // all of the schemas' own keys
      out_.Append('"');
      out_.Append(key);
      out_.Append("\": ");
      return;
    }
    String(key);
    out_.Append(": ");
  }

  void String(std::string_view text) {
    BeforeValue();
    out_.Append('"');
    // nlohmann escapes '"', '\\' and control characters (with the short forms where JSON
    // has them) and, without ensure_ascii, passes every other byte through: UTF-8 stays.
    size_t run = 0;
    for (size_t i = json_detail::FindEscape(text, 0); i < text.size();
         i = json_detail::FindEscape(text, i + 1)) {
      out_.Append(text.substr(run, i - run));
      run = i + 1;
      switch (text[i]) {
        case '"':
          out_.Append("\\\"");
          break;
        case '\\':
          out_.Append("\\\\");
          break;
        case '\b':
          out_.Append("\\b");
          break;
        case '\f':
          out_.Append("\\f");
          break;
        case '\n':
          out_.Append("\\n");
          break;
        case '\r':
          out_.Append("\\r");
          break;
        case '\t':
          out_.Append("\\t");
          break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          auto c = static_cast<unsigned char>(text[i]);
          char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.Append(std::string_view(escape, sizeof escape));
        }
      }
    }
    out_.Append(text.substr(run));
    out_.Append('"');
  }
  void Number(int64_t value) {
    BeforeValue();
    char digits[24];
    out_.Append(std::string_view(digits, std::to_chars(digits, digits + sizeof digits, value).ptr));
  }
  void Bool(bool value) {
    BeforeValue();
    out_.Append(value ? "true" : "false");
  }
  void Null() {
    BeforeValue();
    out_.Append("null");
  }

  template <typename T>
  void Optional(const std::optional<T>& value) {
    if (value)
      Value(*value);
    else
      Null();
  }
  void Value(std::string_view text) { String(text); }
  void Value(int64_t number) { Number(number); }

  // A member in one call: "key": value, of the value's JSON type.
  void Field(std::string_view key, std::string_view text) {
    Key(key);
    String(text);
  }
  void Field(std::string_view key, const char* text) { Field(key, std::string_view(text)); }
  void Field(std::string_view key, int64_t number) {
    Key(key);
    Number(number);
  }
  void Field(std::string_view key, int number) { Field(key, static_cast<int64_t>(number)); }
  void Field(std::string_view key, bool value) {
    Key(key);
    Bool(value);
  }
  template <typename T>
  void Field(std::string_view key, const std::optional<T>& value) {
    Key(key);
    Optional(value);
  }

 protected:
  // For callers that splice in JSON text of their own: how deep the next line is, and the
  // separator before a value.
  size_t depth() const { return open_.size(); }
  void BeforeValue() {
    if (!open_.empty() && open_.back().array) NextMember();
  }
  Sink& out() { return out_; }

 private:
  struct Frame {
    bool array;
    bool empty = true;
  };

  void Open(char bracket) {
    BeforeValue();
    out_.Append(bracket);
    open_.push_back({bracket == '['});
  }
  void Close(char bracket) {
    if (!open_.back().empty) NewLine(open_.size() - 1);
    out_.Append(bracket);
    open_.pop_back();
  }
  void NextMember() {
    Frame& innermost = open_.back();
    if (!innermost.empty) out_.Append(',');
    innermost.empty = false;
    NewLine(open_.size());
  }
  // A newline and two spaces a level, in one piece at the usual depths: every line of the
  // document starts this way.
  void NewLine(size_t depth) {
    static constexpr std::string_view kIndented =
        "\n                                                                ";
    if (1 + 2 * depth <= kIndented.size()) {
      out_.Append(kIndented.substr(0, 1 + 2 * depth));
    } else {
      out_.Append('\n');
      for (size_t i = 0; i < 2 * depth; ++i)
        out_.Append(' ');
    }
  }
  Sink out_;
  std::vector<Frame> open_;
};

}  // namespace stagecraft
