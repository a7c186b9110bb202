#include "engine/requirements.h"

#include <vector>

namespace stagecraft::engine {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// The numeric components of a version, leading zeros stripped ("01" and "1" are equal).
std::vector<std::string_view> Components(std::string_view version) {
  if (!version.empty() && (version[0] == 'v' || version[0] == 'V')) version.remove_prefix(1);
  std::vector<std::string_view> components;
  size_t pos = 0;
  while (pos < version.size() && IsDigit(version[pos])) {
    size_t start = pos;
    while (pos < version.size() && IsDigit(version[pos]))
      ++pos;
    std::string_view digits = version.substr(start, pos - start);
    while (digits.size() > 1 && digits[0] == '0')
      digits.remove_prefix(1);
    components.push_back(digits);
    // Only a dot followed by a digit continues the version.
    if (pos + 1 < version.size() && version[pos] == '.' && IsDigit(version[pos + 1])) {
      ++pos;
    } else {
      break;
    }
  }
  return components;
}

int CompareDigits(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int order = a.compare(b);
  return order < 0 ? -1 : order > 0 ? 1 : 0;
}

}  // namespace

std::optional<std::string> ExtractVersion(std::string_view version_output) {
  size_t pos = 0;
  while (pos < version_output.size()) {
    if (!IsDigit(version_output[pos])) {
      ++pos;
      continue;
    }
    size_t start = pos;
    while (pos < version_output.size() && IsDigit(version_output[pos]))
      ++pos;
    bool dotted = false;
    while (pos + 1 < version_output.size() && version_output[pos] == '.' &&
           IsDigit(version_output[pos + 1])) {
      dotted = true;
      ++pos;
      while (pos < version_output.size() && IsDigit(version_output[pos]))
        ++pos;
    }
    if (dotted) return std::string(version_output.substr(start, pos - start));
  }
  return std::nullopt;
}

int CompareVersions(std::string_view a, std::string_view b) {
  std::vector<std::string_view> left = Components(a);
  std::vector<std::string_view> right = Components(b);
  for (size_t i = 0; i < left.size() || i < right.size(); ++i) {
    std::string_view x = i < left.size() ? left[i] : std::string_view("0");
    std::string_view y = i < right.size() ? right[i] : std::string_view("0");
    if (int order = CompareDigits(x, y); order != 0) return order;
  }
  return 0;
}

bool SatisfiesRequirement(std::string_view actual, std::string_view op, std::string_view wanted) {
  if (op.empty()) return true;
  int order = CompareVersions(actual, wanted);
  if (op == ">=") return order >= 0;
  if (op == ">") return order > 0;
  if (op == "=" || op == "==") return order == 0;
  if (op == "<=") return order <= 0;
  if (op == "<") return order < 0;
  return false;
}

}  // namespace stagecraft::engine
