#include "engine/secret_templates.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "exec/masking.h"

namespace stagecraft::engine {

void SecretTemplates::Add(const std::string& name, const std::string& value) {
  if (value.size() < exec::SecretMasker::kMinSecretLength) return;
  if (value.find('\0') != std::string::npos) return;
  values_[name] = value;
}

std::optional<std::string> SecretTemplates::Template(std::string_view text) const {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::vector<std::pair<std::string_view, std::string_view>> by_length;  // value, name
  for (const auto& [name, value] : values_)
    by_length.emplace_back(value, name);
  std::sort(by_length.begin(), by_length.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string out;
  out.reserve(text.size());
  // One left-to-right pass, so a value can never match inside a placeholder already written.
  for (size_t pos = 0; pos < text.size();) {
    bool replaced = false;
    for (const auto& [value, name] : by_length) {
      if (text.compare(pos, value.size(), value) != 0) continue;
      out.push_back('\0');
      out.append(name);
      out.push_back('\0');
      pos += value.size();
      replaced = true;
      break;
    }
    if (!replaced) out.push_back(text[pos++]);
  }
  return out;
}

Result<std::string> SecretTemplates::Fill(std::string_view templated) const {
  std::string out;
  std::set<std::string> unknown;
  for (size_t pos = 0; pos < templated.size();) {
    size_t start = templated.find('\0', pos);
    size_t end = start == std::string_view::npos ? start : templated.find('\0', start + 1);
    if (end == std::string_view::npos) {
      out.append(templated.substr(pos));
      break;
    }
    out.append(templated.substr(pos, start - pos));
    std::string name(templated.substr(start + 1, end - start - 1));
    auto found = values_.find(name);
    if (found == values_.end())
      unknown.insert(name);
    else
      out.append(found->second);
    pos = end + 1;
  }
  if (!unknown.empty())
    return Status::Error(
        fmt::format("the journal's values refer to secrets that have no value "
                    "now: {}",
                    fmt::join(unknown, ", ")));
  return out;
}

}  // namespace stagecraft::engine
