#include "runbook/attributes.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/text.h"
#include "runbook/expectation.h"

namespace stagecraft::runbook {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

// Reads the `{ key=value flag key="quoted value" }` form starting after the '{'.
void ParseKeyValueList(std::string_view info, size_t pos, InfoString& out) {
  while (true) {
    while (pos < info.size() && (IsSpace(info[pos]) || info[pos] == ','))
      ++pos;
    if (pos >= info.size()) {
      out.error = "attribute list is missing its closing '}'";
      out.error_offset = info.size();
      return;
    }
    if (info[pos] == '}') {
      size_t rest = pos + 1;
      while (rest < info.size() && IsSpace(info[rest]))
        ++rest;
      if (rest < info.size()) {
        out.error = "unexpected text after the attribute list";
        out.error_offset = rest;
      }
      return;
    }
    RawAttribute attribute;
    attribute.offset = pos;
    while (pos < info.size() && !IsSpace(info[pos]) && info[pos] != '=' && info[pos] != '}' &&
           info[pos] != ',')
      attribute.key.push_back(info[pos++]);
    if (pos < info.size() && info[pos] == '=') {
      ++pos;
      attribute.has_value = true;
      if (pos < info.size() && (info[pos] == '"' || info[pos] == '\'')) {
        char quote = info[pos++];
        while (pos < info.size() && info[pos] != quote) {
          // Only \" is an escape: regexes keep their backslashes (\d stays \d).
          if (info[pos] == '\\' && pos + 1 < info.size() && info[pos + 1] == quote) ++pos;
          attribute.value.push_back(info[pos++]);
        }
        if (pos >= info.size()) {
          out.error = fmt::format("unterminated quoted value for '{}'", attribute.key);
          out.error_offset = attribute.offset;
          return;
        }
        ++pos;
      } else {
        // Unquoted values run to whitespace, ',' or '}' (`{ name=a, timeout=5m }`); a value
        // holding those, such as a capture regex, must be quoted.
        while (pos < info.size() && !IsSpace(info[pos]) && info[pos] != '}' && info[pos] != ',')
          attribute.value.push_back(info[pos++]);
      }
    }
    out.attributes.push_back(std::move(attribute));
  }
}

void ParseJsonObject(std::string_view info, size_t brace, InfoString& out) {
  size_t end = info.rfind('}');
  nlohmann::json object = nlohmann::json::parse(info.substr(brace, end + 1 - brace), nullptr,
                                                /*allow_exceptions=*/false);
  if (!object.is_object()) {
    out.error = "attribute list looks like JSON but does not parse as a JSON object";
    out.error_offset = brace;
    return;
  }
  for (const auto& [key, value] : object.items()) {
    RawAttribute attribute;
    attribute.key = key;
    attribute.has_value = true;
    attribute.value = value.is_string() ? value.get<std::string>() : value.dump();
    size_t found = info.find('"' + key + '"', brace);
    attribute.offset = found == std::string_view::npos ? brace : found + 1;
    out.attributes.push_back(std::move(attribute));
  }
}

struct Context {
  SourcePos info_pos;
  Diagnostics& diagnostics;
  const std::function<std::string_view(std::string_view)>& keep;

  SourcePos At(const RawAttribute& attribute) const {
    return {info_pos.line, info_pos.column + static_cast<int>(attribute.offset)};
  }
  void Error(const RawAttribute& attribute, std::string message, std::string hint = {}) const {
    diagnostics.push_back({Severity::kError, At(attribute), std::move(message), std::move(hint)});
  }
};

bool ReadFlag(const Context& context, const RawAttribute& attribute) {
  if (!attribute.has_value) return true;
  std::string value = ToLower(attribute.value);
  if (value == "true" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "no" || value == "0") return false;
  context.Error(attribute, fmt::format("invalid value '{}' for {} (expected true or false)",
                                       attribute.value, attribute.key));
  return false;
}

std::optional<Millis> ReadDuration(const Context& context, const RawAttribute& attribute) {
  auto parsed = ParseDuration(attribute.value);
  if (!parsed.ok()) {
    context.Error(attribute, fmt::format("{} for {}", parsed.error(), attribute.key));
    return std::nullopt;
  }
  return parsed.value();
}

std::optional<Capture> ReadCapture(const Context& context, const RawAttribute& attribute) {
  std::string_view value = context.keep(attribute.value);
  Capture capture;
  size_t colon = value.find(':');
  capture.variable = value.substr(0, colon);
  if (!IsShellIdentifier(capture.variable)) {
    context.Error(
        attribute,
        fmt::format("cannot capture into '{}': not a valid variable name", capture.variable),
        "variable names are letters, digits and '_', not starting with a digit");
    return std::nullopt;
  }
  if (colon != std::string_view::npos) {
    std::string_view regex = value.substr(colon + 1);
    if (regex.size() < 2 || regex.front() != '/' || regex.back() != '/') {
      context.Error(
          attribute,
          fmt::format("capture regex must be written /regex/, got '{}'", std::string(regex)),
          "quote the value when the regex has spaces: capture=\"VAR:/version (\\d+)/\"");
      return std::nullopt;
    }
    regex = regex.substr(1, regex.size() - 2);
    if (auto problem = CheckRegex(regex)) {
      context.Error(attribute, fmt::format("invalid capture regex: {} at offset {}",
                                           problem->message, problem->offset));
      return std::nullopt;
    }
    capture.regex = regex;
  }
  return capture;
}

bool IsProgramName(std::string_view name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789._/+-") == std::string_view::npos;
}

bool IsRunmeDisplayAttribute(std::string_view key) {
  for (std::string_view known :
       {"id", "category", "terminalRows", "mimeType", "closeTerminalOnSuccess"})
    if (key == known) return true;
  return false;
}

}  // namespace

InfoString ParseInfoString(std::string_view info) {
  InfoString out;
  size_t pos = 0;
  while (pos < info.size() && IsSpace(info[pos]))
    ++pos;
  size_t start = pos;
  while (pos < info.size() && !IsSpace(info[pos]) && info[pos] != '{')
    ++pos;
  out.language = ToLower(info.substr(start, pos - start));
  while (pos < info.size() && IsSpace(info[pos]))
    ++pos;
  if (pos >= info.size()) return out;
  if (info[pos] != '{') {
    // Plain words after the language (```bash title) are not attributes; ignore them as
    // forges do.
    return out;
  }
  out.attributes.reserve(4);  // name, timeout, retries, capture: most blocks have a few
  size_t after = pos + 1;
  while (after < info.size() && IsSpace(info[after]))
    ++after;
  if (after < info.size() && info[after] == '"')
    ParseJsonObject(info, pos, out);
  else
    ParseKeyValueList(info, pos + 1, out);
  return out;
}

std::optional<std::string> InterpreterAttribute(const std::vector<RawAttribute>& raw) {
  std::optional<std::string> interpreter;
  for (const RawAttribute& attribute : raw)
    if (attribute.key == "interpreter" && attribute.has_value && IsProgramName(attribute.value))
      interpreter = attribute.value;
  return interpreter;
}

const std::vector<std::string>& KnownAttributeNames() {
  static const std::vector<std::string> names = {
      "name",       "timeout",     "retries", "delay",  "until", "capture",
      "confirm",    "idempotent",  "ignore",  "skip",   "cwd",   "interactive",
      "background", "lint-ignore", "role",    "prompt", "stream"};
  return names;
}

Attributes ResolveAttributes(const std::vector<RawAttribute>& raw, SourcePos info_pos,
                             Diagnostics& diagnostics,
                             const std::function<std::string_view(std::string_view)>& keep) {
  Context context{info_pos, diagnostics, keep};
  Attributes attributes;
  const RawAttribute* until = nullptr;
  for (const RawAttribute& attribute : raw) {
    const std::string& key = attribute.key;
    auto require_value = [&]() {
      if (attribute.has_value && !attribute.value.empty()) return true;
      context.Error(attribute, fmt::format("attribute '{}' needs a value", key));
      return false;
    };
    if (key == "name") {
      if (require_value()) attributes.name = keep(attribute.value);
    } else if (key == "timeout") {
      if (require_value()) attributes.timeout = ReadDuration(context, attribute);
    } else if (key == "stream") {
      if (require_value()) attributes.stream = ReadDuration(context, attribute);
    } else if (key == "delay") {
      if (require_value()) attributes.delay = ReadDuration(context, attribute).value_or(Millis(0));
    } else if (key == "retries") {
      if (!require_value()) continue;
      int retries = -1;
      auto [end, error] = std::from_chars(attribute.value.data(),
                                          attribute.value.data() + attribute.value.size(), retries);
      if (error != std::errc() || end != attribute.value.data() + attribute.value.size() ||
          retries < 0 || retries > 1000) {
        context.Error(attribute, fmt::format("invalid value '{}' for retries (expected a "
                                             "whole number from 0 to 1000)",
                                             attribute.value));
      } else {
        attributes.retries = retries;
      }
    } else if (key == "capture") {
      if (require_value()) attributes.capture = ReadCapture(context, attribute);
    } else if (key == "role" || key == "prompt") {
      require_value();  // the section reader keeps them (Runbook::block_gates)
    } else if (key == "cwd") {
      if (require_value()) attributes.cwd = keep(attribute.value);
    } else if (key == "until") {
      attributes.until = ReadFlag(context, attribute);
      until = &attribute;
    } else if (key == "confirm") {
      attributes.confirm = ReadFlag(context, attribute);
    } else if (key == "idempotent") {
      attributes.idempotent = ReadFlag(context, attribute);
    } else if (key == "ignore") {
      attributes.ignore = ReadFlag(context, attribute);
    } else if (key == "skip") {
      attributes.skip = ReadFlag(context, attribute);
    } else if (key == "interactive") {
      attributes.interactive = ReadFlag(context, attribute);
    } else if (key == "background") {
      attributes.background = ReadFlag(context, attribute);
    } else if (key == "excludeFromRunAll") {
      // Runme leaves the block out of "run all", which is what a run here is.
      if (ReadFlag(context, attribute)) attributes.skip = true;
    } else if (key == "interpreter") {
      if (require_value() && !IsProgramName(attribute.value))
        context.Error(attribute,
                      fmt::format("interpreter '{}' is not a program name", attribute.value),
                      "e.g. interpreter=bash or interpreter=/usr/bin/python3");
    } else if (key == "promptEnv") {
      std::string value = ToLower(attribute.value);
      static const std::vector<std::string> kModes = {"auto", "always", "never", "true", "false",
                                                      "yes",  "no",     "1",     "0"};
      if (std::find(kModes.begin(), kModes.end(), value) == kModes.end())
        context.Error(attribute,
                      fmt::format("invalid value '{}' for promptEnv (expected auto, always or "
                                  "never)",
                                  attribute.value));
      else if (value == "auto")
        attributes.prompt_env = PromptEnv::kAuto;
      else if (value == "always" || value == "true" || value == "yes" || value == "1")
        attributes.prompt_env = PromptEnv::kAlways;
      else
        attributes.prompt_env = PromptEnv::kNever;
    } else if (IsRunmeDisplayAttribute(key)) {
      // Runme's identity and display settings: nothing here to run or show.
    } else if (key == "lint-ignore") {
      require_value();  // lint reads the ids from the info string (lint_ignore.h)
    } else {
      auto suggestion = ClosestMatch(key, KnownAttributeNames());
      diagnostics.push_back(
          {Severity::kWarning, context.At(attribute),
           suggestion ? fmt::format("unknown attribute '{}'; did you mean '{}'?", key, *suggestion)
                      : fmt::format("unknown attribute '{}'", key),
           suggestion
               ? std::string()
               : "known attributes: " + fmt::format("{}", fmt::join(KnownAttributeNames(), ", "))});
    }
  }
  if (attributes.until && !attributes.timeout && until) {
    context.Error(*until,
                  "'until' retries until the block succeeds within its timeout, but "
                  "no timeout is set",
                  "add timeout=..., e.g. { until timeout=2m delay=5s }");
  }
  return attributes;
}

}  // namespace stagecraft::runbook
