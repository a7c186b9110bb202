#include "base/duration.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>

namespace stagecraft {
namespace {

// Milliseconds per unit word, or 0 when the word is not a unit.
int64_t UnitMillis(std::string_view unit) {
  std::string lower;
  for (char c : unit)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "ms" || lower == "msec" || lower == "millisecond" || lower == "milliseconds")
    return 1;
  if (lower == "s" || lower == "sec" || lower == "secs" || lower == "second" || lower == "seconds")
    return 1000;
  if (lower == "m" || lower == "min" || lower == "mins" || lower == "minute" || lower == "minutes")
    return 60'000;
  if (lower == "h" || lower == "hr" || lower == "hrs" || lower == "hour" || lower == "hours")
    return 3'600'000;
  if (lower == "d" || lower == "day" || lower == "days") return 86'400'000;
  return 0;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Reads a non-negative decimal ("1", "1.5") at `pos`. Returns false when none is there.
bool ReadNumber(std::string_view text, size_t& pos, double& out) {
  size_t start = pos;
  while (pos < text.size() && IsDigit(text[pos]))
    ++pos;
  if (pos < text.size() && text[pos] == '.' && pos + 1 < text.size() && IsDigit(text[pos + 1])) {
    ++pos;
    while (pos < text.size() && IsDigit(text[pos]))
      ++pos;
  }
  if (pos == start || pos - start > 12) {
    pos = start;
    return false;
  }
  out = std::stod(std::string(text.substr(start, pos - start)));
  return true;
}

}  // namespace

Result<Millis> ParseDuration(std::string_view text) {
  auto invalid = [&] {
    return Status::Error(fmt::format(
        "invalid duration '{}' (expected a number with a unit, e.g. 30s, 5m, 1h30m)", text));
  };
  size_t pos = 0;
  double total = 0;
  bool any = false;
  while (pos < text.size()) {
    double number = 0;
    if (!ReadNumber(text, pos, number)) return invalid();
    size_t unit_start = pos;
    while (pos < text.size() && IsAlpha(text[pos]))
      ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    int64_t millis_per_unit = unit.empty() ? (any ? 0 : 1000) : UnitMillis(unit);
    // A bare number is seconds, but only on its own: "1h30" is ambiguous.
    if (millis_per_unit == 0 || (unit.empty() && pos != text.size())) return invalid();
    total += number * static_cast<double>(millis_per_unit);
    any = true;
  }
  if (!any || total > 1e13) return invalid();
  return Millis(static_cast<int64_t>(total));
}

std::optional<Millis> FindHeadingBudget(std::string_view title, size_t* budget_begin,
                                        size_t* budget_end) {
  // The last parenthesised "(N unit)" or "(N-M unit)" wins: "Step 2 (API) (5 minutes)".
  std::optional<Millis> found;
  for (size_t open = title.find('('); open != std::string_view::npos;
       open = title.find('(', open + 1)) {
    size_t pos = open + 1;
    while (pos < title.size() && title[pos] == ' ')
      ++pos;
    double low = 0;
    double high = 0;
    if (!ReadNumber(title, pos, low)) continue;
    high = low;
    size_t after_low = pos;
    while (pos < title.size() && title[pos] == ' ')
      ++pos;
    if (pos < title.size() && (title[pos] == '-')) {
      ++pos;
      while (pos < title.size() && title[pos] == ' ')
        ++pos;
      if (!ReadNumber(title, pos, high)) continue;
    } else if (title.substr(pos, 3) == "\xE2\x80\x93") {  // en dash, as editors write ranges
      pos += 3;
      while (pos < title.size() && title[pos] == ' ')
        ++pos;
      if (!ReadNumber(title, pos, high)) continue;
    } else {
      pos = after_low;
    }
    while (pos < title.size() && title[pos] == ' ')
      ++pos;
    size_t unit_start = pos;
    while (pos < title.size() && IsAlpha(title[pos]))
      ++pos;
    int64_t millis_per_unit = UnitMillis(title.substr(unit_start, pos - unit_start));
    while (pos < title.size() && title[pos] == ' ')
      ++pos;
    if (millis_per_unit == 0 || pos >= title.size() || title[pos] != ')') continue;
    found = Millis(static_cast<int64_t>((high > low ? high : low) * millis_per_unit));
    if (budget_begin) *budget_begin = open;
    if (budget_end) *budget_end = pos + 1;
  }
  return found;
}

std::string FormatDuration(Millis duration) {
  int64_t ms = duration.count();
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{}ms", ms);
  int64_t seconds = (ms + 500) / 1000;
  if (seconds < 60) return fmt::format("{}s", seconds);
  int64_t minutes = seconds / 60;
  seconds %= 60;
  if (minutes < 60)
    return seconds ? fmt::format("{}m{:02}s", minutes, seconds) : fmt::format("{}m", minutes);
  int64_t hours = minutes / 60;
  minutes %= 60;
  return minutes ? fmt::format("{}h{:02}m", hours, minutes) : fmt::format("{}h", hours);
}

}  // namespace stagecraft
