#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "base/text.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

struct Placeholder {
  size_t begin = 0;  // in the text searched
  size_t end = 0;
  std::string input;  // what the reader was to fill in, as words ("account id")
};

bool IsAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool IsTokenChar(char c) {
  return IsAlnum(c) || c == '_' || c == '-';
}
bool IsLetter(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

std::string Words(std::string_view name) {
  std::string words;
  for (char c : name)
    words += (c == '_' || c == '-')
                 ? ' '
                 : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Trim(words);
}

// <revision>, <account-id>: but not markup, which pastes tags on purpose.
void FindAngled(std::string_view text, std::vector<Placeholder>& out) {
  if (text.find("</") != std::string_view::npos) return;
  static const std::vector<std::string_view> kTags = {
      "html",   "head",   "body",  "div",  "span",  "p",   "a",    "b",     "i",      "br",
      "hr",     "ul",     "ol",    "li",   "table", "tr",  "td",   "th",    "pre",    "code",
      "script", "style",  "title", "meta", "link",  "img", "form", "input", "button", "label",
      "em",     "strong", "h1",    "h2",   "h3",    "h4",  "xml",  "svg"};
  for (size_t open = text.find('<'); open != std::string_view::npos;
       open = text.find('<', open + 1)) {
    size_t i = open + 1;
    while (i < text.size() && (IsTokenChar(text[i]) || text[i] == ' ' || text[i] == '.'))
      ++i;
    if (i >= text.size() || text[i] != '>' || i == open + 1 || i - open > 41) continue;
    std::string_view inside = text.substr(open + 1, i - open - 1);
    if (!IsLetter(inside.front()) || inside.back() == ' ') continue;
    if (std::find(kTags.begin(), kTags.end(), ToLower(inside)) != kTags.end()) continue;
    out.push_back({open, i + 1, Words(inside)});
  }
}

// [from-secrets-manager], [staging-datadog-key]: two or more words in brackets. Shell's own
// brackets hold classes ([a-z]), tests ([ -f x ]) and indexes (a[i]), never that.
void FindBracketed(std::string_view text, std::vector<Placeholder>& out) {
  for (size_t open = text.find('['); open != std::string_view::npos;
       open = text.find('[', open + 1)) {
    if (open > 0 && (IsAlnum(text[open - 1]) || text[open - 1] == '[' || text[open - 1] == '$' ||
                     text[open - 1] == '_'))
      continue;
    size_t i = open + 1;
    int parts = 0;
    bool ok = true;
    while (ok && i < text.size() && IsLetter(text[i])) {
      size_t start = i;
      while (i < text.size() && IsAlnum(text[i]))
        ++i;
      ok = i - start >= 2;
      ++parts;
      if (i < text.size() && (text[i] == '-' || text[i] == '_' || text[i] == ' ')) ++i;
    }
    if (!ok || parts < 2 || i >= text.size() || text[i] != ']' || text[i - 1] == '-' ||
        (i + 1 < text.size() && (text[i + 1] == ']' || text[i + 1] == '(')))
      continue;  // [[...]], and a Markdown link [text](url)
    // A line of its own is an INI or TOML section ([client-settings]).
    bool line_start = open == 0 || text[open - 1] == '\n';
    bool line_end = i + 1 >= text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    if (line_start && line_end) continue;
    out.push_back({open, i + 1, Words(text.substr(open + 1, i - open - 1))});
  }
}

// An identifier-like token that says it is to be replaced.
std::optional<std::string> PlaceholderToken(std::string_view token) {
  std::string lower = ToLower(token);
  auto rest_after = [&](std::string_view prefix) -> std::optional<std::string> {
    if (lower.size() < prefix.size() + 2 || lower.compare(0, prefix.size(), prefix) != 0)
      return std::nullopt;
    return Words(token.substr(prefix.size()));
  };
  for (std::string_view prefix : {"your_", "your-", "replace_with_", "replace-with-", "insert_",
                                  "insert-", "paste_", "paste-"})
    if (auto rest = rest_after(prefix)) return rest;
  for (std::string_view suffix : {"_here", "-here"})
    if (lower.size() > suffix.size() + 1 && EndsWith(lower, suffix))
      return Words(token.substr(0, token.size() - suffix.size()));
  for (std::string_view whole :
       {"replace_me", "replace-me", "replaceme", "change_me", "change-me", "changeme"})
    if (lower == whole) return std::string("a value");
  // xxx, XXXX, sk-xxxxxxxx: a part of three or more x's.
  size_t start = 0;
  while (start < token.size()) {
    size_t end = token.find_first_of("-_.", start);
    if (end == std::string_view::npos) end = token.size();
    std::string_view part = token.substr(start, end - start);
    if (part.size() >= 3 && (part.find_first_not_of('x') == std::string_view::npos ||
                             part.find_first_not_of('X') == std::string_view::npos))
      return std::string("a value");
    start = end + 1;
  }
  if (token == "123456789012") return std::string("AWS account id");
  return std::nullopt;
}

void FindTokens(std::string_view text, std::vector<Placeholder>& out) {
  size_t i = 0;
  while (i < text.size()) {
    if (!IsTokenChar(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && IsTokenChar(text[i]))
      ++i;
    bool variable = start > 0 && (text[start - 1] == '$' ||
                                  (start > 1 && text[start - 1] == '{' && text[start - 2] == '$'));
    bool name = i < text.size() && text[i] == '=';
    if (variable || name || (start > 0 && (IsAlnum(text[start - 1]) || text[start - 1] == '.')))
      continue;
    if (auto input = PlaceholderToken(text.substr(start, i - start)))
      out.push_back({start, i, *input});
  }
}

// you@example.com, https://api.example.org: names reserved for documentation.
void FindExampleDomains(std::string_view text, std::vector<Placeholder>& out) {
  std::string lower = ToLower(text);
  for (std::string_view domain : {"example.com", "example.org", "example.net"}) {
    for (size_t at = lower.find(domain); at != std::string::npos; at = lower.find(domain, at + 1)) {
      size_t end = at + domain.size();
      if (end < lower.size() && (IsTokenChar(lower[end]) || lower[end] == '.')) continue;
      if (at > 0 && IsTokenChar(lower[at - 1])) continue;
      size_t begin = at;
      while (begin > 0 &&
             (IsTokenChar(lower[begin - 1]) || lower[begin - 1] == '.' || lower[begin - 1] == '@' ||
              lower[begin - 1] == '+' || lower[begin - 1] == '%'))
        --begin;
      bool email = lower.substr(begin, at - begin).find('@') != std::string::npos;
      out.push_back({begin, end, email ? "email address" : "host name"});
    }
  }
}

// arn:aws:lambda:us-east-1:ACCOUNT_ID:layer:x — the account field is twelve digits.
void FindArnAccounts(std::string_view text, std::vector<Placeholder>& out) {
  for (size_t at = text.find("arn:aws"); at != std::string_view::npos;
       at = text.find("arn:aws", at + 1)) {
    size_t field = 0, start = at, i = at;
    for (; i < text.size() && field < 4; ++i)
      if (text[i] == ':') {
        ++field;
        start = i + 1;
      }
    if (field < 4) continue;
    size_t end = text.find_first_of(":/\"' \n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view account = text.substr(start, end - start);
    bool digits =
        account.size() == 12 && account.find_first_not_of("0123456789") == std::string_view::npos;
    if (account.empty() || (digits && account != "123456789012") || account == "*" ||
        account == "aws" || account.find('$') != std::string_view::npos)
      continue;
    out.push_back({start, end, "AWS account id"});
  }
}

std::vector<Placeholder> FindPlaceholders(std::string_view text) {
  std::vector<Placeholder> found;
  FindAngled(text, found);
  FindBracketed(text, found);
  FindTokens(text, found);
  FindExampleDomains(text, found);
  FindArnAccounts(text, found);
  // Keep the first of overlapping finds (your-email@example.com is one placeholder).
  std::sort(found.begin(), found.end(), [](const Placeholder& a, const Placeholder& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Placeholder> kept;
  for (Placeholder& placeholder : found)
    if (kept.empty() || placeholder.begin >= kept.back().end)
      kept.push_back(std::move(placeholder));
  return kept;
}

// A shell variable to hold the value: "account id" becomes ACCOUNT_ID.
std::string VariableFor(std::string_view input) {
  std::string name;
  for (char c : input) {
    if (IsAlnum(c))
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else if (!name.empty() && name.back() != '_')
      name += '_';
  }
  while (!name.empty() && name.back() == '_')
    name.pop_back();
  if (name.empty() || name == "A_VALUE") return "VALUE";
  if (std::isdigit(static_cast<unsigned char>(name[0]))) name.insert(0, "_");
  return name;
}

// NAME=placeholder names its input better than the placeholder does.
std::optional<std::string> AssignedName(std::string_view text, size_t begin) {
  size_t i = begin;
  if (i > 0 && (text[i - 1] == '"' || text[i - 1] == '\'')) --i;
  if (i == 0 || text[i - 1] != '=') return std::nullopt;
  size_t end = --i;
  while (i > 0 && (IsAlnum(text[i - 1]) || text[i - 1] == '_'))
    --i;
  std::string name(text.substr(i, end - i));
  return IsShellIdentifier(name) ? std::optional<std::string>(name) : std::nullopt;
}

std::string Hint(const std::string& variable) {
  return fmt::format(
      "give {0} a value (front matter vars, --var {0}=..., or a secret) and write \"${0}\" here",
      variable);
}

void Report(const LintScript& script, std::string_view text, size_t base, Diagnostics& out) {
  for (const Placeholder& placeholder : FindPlaceholders(text)) {
    std::string shown(text.substr(placeholder.begin, placeholder.end - placeholder.begin));
    std::optional<std::string> name = AssignedName(text, placeholder.begin);
    std::string input = name ? *name : placeholder.input;
    std::string variable = name ? *name : VariableFor(placeholder.input);
    out.push_back(
        Finding(Severity::kWarning, script, base + placeholder.begin, "placeholder",
                fmt::format("'{}' is a placeholder for {}: the block would run with it as written",
                            shown, input == "a value" || name ? input : "the " + input),
                Hint(variable)));
  }
}

// `<NAME>` outside quotes is not text: bash opens a file named NAME for input and another
// for output.
void CheckAngledRedirect(const LintScript& script, const ShellCommand& command, Diagnostics& out) {
  for (size_t i = 0; i + 1 < command.redirects.size(); ++i) {
    const ShellRedirect& in = command.redirects[i];
    const ShellRedirect& next = command.redirects[i + 1];
    if (in.op != "<" || in.fd != -1 || next.op != ">" || next.fd != -1 ||
        next.begin != in.target.end || in.target.quoted || in.target.text.empty() ||
        !IsLetter(in.target.text[0]) || in.target.begin != in.begin + 1)
      continue;
    const std::string& name = in.target.text;
    out.push_back(Finding(
        Severity::kError, script, in.begin, "placeholder-redirect",
        fmt::format("'<{}>' is a placeholder, but bash reads it as redirections: input from a "
                    "file named '{}'",
                    name, name),
        Hint(VariableFor(Words(name)))));
  }
}

}  // namespace

void LintPlaceholders(const LintScript& script, const ShellScript& shell, Diagnostics& out) {
  for (const ShellCommand& command : shell.commands) {
    CheckAngledRedirect(script, command, out);
    for (const auto* words : {&command.assignments, &command.words})
      for (const ShellWord& word : *words)
        Report(script, script.text.substr(word.begin, word.end - word.begin), word.begin, out);
    for (const ShellRedirect& redirect : command.redirects) {
      if (redirect.heredoc)
        Report(script, redirect.body, redirect.body_begin, out);
      else if (redirect.target.end > redirect.target.begin)
        Report(
            script,
            script.text.substr(redirect.target.begin, redirect.target.end - redirect.target.begin),
            redirect.target.begin, out);
    }
  }
}

}  // namespace stagecraft::runbook
