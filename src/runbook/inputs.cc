#include "runbook/inputs.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "base/text.h"

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
  // Keep the first of overlapping finds (your-email@example.com is one placeholder); of two
  // with the same span, the first finder's, so a name never depends on the sort.
  std::stable_sort(found.begin(), found.end(), [](const Placeholder& a, const Placeholder& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Placeholder> kept;
  for (Placeholder& placeholder : found)
    if (kept.empty() || placeholder.begin >= kept.back().end)
      kept.push_back(std::move(placeholder));
  return kept;
}

}  // namespace

std::string InputName(std::string_view input) {
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

namespace {

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

// Where `at` stands inside the word that starts at `word_begin`: only the word's own quotes
// count, since a word inside $(...) is found again as a word of its own.
InputQuoting QuotingAt(std::string_view code, size_t word_begin, size_t at) {
  InputQuoting quoting = InputQuoting::kNone;
  for (size_t i = word_begin; i < at && i < code.size(); ++i) {
    char c = code[i];
    if (quoting == InputQuoting::kSingle) {
      if (c == '\'') quoting = InputQuoting::kNone;
    } else if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoting = quoting == InputQuoting::kDouble ? InputQuoting::kNone : InputQuoting::kDouble;
    } else if (c == '\'' && quoting == InputQuoting::kNone) {
      quoting = InputQuoting::kSingle;
    }
  }
  return quoting;
}

struct Found {
  InputUse use;
  size_t word_size = 0;  // of the word it was found in: the innermost word decides quoting
};

// `assigns`: the text gives variables values (NAME=value before a command or after
// `export`, the lines of a here-document), so NAME=placeholder names its input; elsewhere
// (`echo "account=..."`) the text before '=' is only text.
void AddFound(std::string_view code, std::string_view text, size_t base,
              std::optional<size_t> word_begin, InputQuoting document, bool assigns,
              std::vector<Found>& out) {
  for (const Placeholder& placeholder : FindPlaceholders(text)) {
    Found found;
    InputUse& use = found.use;
    std::optional<std::string> assigned =
        assigns ? AssignedName(text, placeholder.begin) : std::nullopt;
    use.name = assigned ? *assigned : InputName(placeholder.input);
    use.what = assigned || placeholder.input == "a value"
                   ? (assigned ? *assigned : placeholder.input)
                   : "the " + placeholder.input;
    use.begin = base + placeholder.begin;
    use.end = base + placeholder.end;
    use.written = std::string(text.substr(placeholder.begin, placeholder.end - placeholder.begin));
    use.angled = text[placeholder.begin] == '<';
    use.quoting = word_begin ? QuotingAt(code, *word_begin, use.begin) : document;
    found.word_size = text.size();
    out.push_back(std::move(found));
  }
}

// `<NAME>` outside quotes: bash reads `<NAME` and `>` as two redirections.
void AddAngledRedirects(std::string_view code, const ShellCommand& command,
                        std::vector<Found>& out) {
  for (size_t i = 0; i + 1 < command.redirects.size(); ++i) {
    const ShellRedirect& in = command.redirects[i];
    const ShellRedirect& next = command.redirects[i + 1];
    if (in.op != "<" || in.fd != -1 || next.op != ">" || next.fd != -1 ||
        next.begin != in.target.end || in.target.quoted || in.target.text.empty() ||
        !IsLetter(in.target.text[0]) || in.target.begin != in.begin + 1)
      continue;
    Found found;
    InputUse& use = found.use;
    std::string words = Words(in.target.text);
    use.name = InputName(words);
    use.what = "the " + words;
    use.begin = in.begin;
    use.end = next.begin + 1;
    use.written = std::string(code.substr(use.begin, use.end - use.begin));
    use.redirect = true;
    use.angled = true;
    found.word_size = use.end - use.begin;
    out.push_back(std::move(found));
  }
}

bool IsPlainWord(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return IsAlnum(c) || std::string_view("_-./:@%+=,").find(c) != std::string_view::npos;
  });
}

std::string Escaped(std::string_view value, std::string_view special) {
  std::string out;
  for (char c : value) {
    if (special.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Runme's promptEnv: the value of `export NAME=VALUE` is the input NAME, defaulting to it.
void AddExports(std::string_view code, const ShellCommand& command, PromptEnv prompt_env,
                std::vector<Found>& out) {
  if (command.name() != "export") return;
  for (size_t i = 1; i < command.words.size(); ++i) {
    const ShellWord& word = command.words[i];
    size_t equals = word.text.find('=');
    std::string_view written = code.substr(word.begin, word.end - word.begin);
    size_t written_equals = written.find('=');
    if (equals == std::string::npos || written_equals == std::string_view::npos) continue;
    std::string name = word.text.substr(0, equals);
    std::string_view value = written.substr(written_equals + 1);
    bool quoted_text = !value.empty() && (value.front() == '"' || value.front() == '\'');
    bool asks = prompt_env == PromptEnv::kAlways || value.empty() || quoted_text;
    // A placeholder is no default (`export EMAIL="you@example.com"`): it is found as one.
    if (!IsShellIdentifier(name) || word.expands || !asks ||
        !FindPlaceholders(word.text.substr(equals + 1)).empty())
      continue;
    Found found;
    InputUse& use = found.use;
    use.name = name;
    use.what = name;
    use.begin = word.begin + written_equals + 1;
    use.end = word.end;
    use.written = std::string(value);
    use.exported = word.text.substr(equals + 1);
    found.word_size = written.size() + 1;  // wider than the word a placeholder is found in
    out.push_back(std::move(found));
  }
}

}  // namespace

std::vector<InputUse> FindInputUses(std::string_view code, const ShellScript& shell,
                                    PromptEnv prompt_env) {
  std::vector<Found> found;
  for (const ShellCommand& command : shell.commands) {
    AddAngledRedirects(code, command, found);
    if (prompt_env == PromptEnv::kAuto || prompt_env == PromptEnv::kAlways)
      AddExports(code, command, prompt_env, found);
    bool declares = command.name() == "export" || command.name() == "declare" ||
                    command.name() == "local" || command.name() == "readonly" ||
                    command.name() == "typeset";
    for (const auto* words : {&command.assignments, &command.words})
      for (const ShellWord& word : *words)
        AddFound(code, code.substr(word.begin, word.end - word.begin), word.begin, word.begin,
                 InputQuoting::kNone, words == &command.assignments || declares, found);
    for (const ShellRedirect& redirect : command.redirects) {
      if (redirect.heredoc)
        AddFound(
            code, redirect.body, redirect.body_begin, std::nullopt,
            redirect.body_expands ? InputQuoting::kHereDocument : InputQuoting::kLiteralDocument,
            /*assigns=*/true, found);
      else if (redirect.target.end > redirect.target.begin)
        AddFound(code,
                 code.substr(redirect.target.begin, redirect.target.end - redirect.target.begin),
                 redirect.target.begin, redirect.target.begin, InputQuoting::kNone,
                 /*assigns=*/false, found);
    }
  }
  // One use per place: the earliest and widest placeholder (your-email@example.com is one),
  // as read by the innermost word.
  std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    if (a.use.begin != b.use.begin) return a.use.begin < b.use.begin;
    if (a.use.end != b.use.end) return a.use.end > b.use.end;
    return a.word_size < b.word_size;
  });
  std::vector<InputUse> uses;
  for (Found& one : found)
    if (uses.empty() || one.use.begin >= uses.back().end) uses.push_back(std::move(one.use));
  return uses;
}

std::vector<InputUse> FindInputUses(std::string_view code, PromptEnv prompt_env) {
  return FindInputUses(code, ParseShell(code), prompt_env);
}

std::string QuoteInput(std::string_view value, InputQuoting quoting) {
  switch (quoting) {
    case InputQuoting::kNone: {
      if (IsPlainWord(value)) return std::string(value);
      std::string out = "'";
      for (char c : value)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out + "'";
    }
    case InputQuoting::kSingle: {
      std::string out;
      for (char c : value)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out;
    }
    case InputQuoting::kDouble:
      return Escaped(value, "\\$`\"");
    case InputQuoting::kHereDocument:
      return Escaped(value, "\\$`");
    case InputQuoting::kLiteralDocument:
      break;
  }
  return std::string(value);
}

std::string SubstituteInputs(std::string_view code, const std::vector<InputUse>& uses,
                             const std::map<std::string, std::string>& values) {
  std::string out;
  size_t done = 0;
  for (const InputUse& use : uses) {
    auto value = values.find(use.name);
    if (value == values.end() || use.begin < done || use.end > code.size() ||
        code.substr(use.begin, use.end - use.begin) != use.written)
      continue;
    out.append(code.substr(done, use.begin - done));
    out += QuoteInput(value->second, use.quoting);
    done = use.end;
  }
  out.append(code.substr(done));
  return out;
}

void ForEachInputUse(const Runbook& runbook, const SourceLines& source,
                     const std::function<void(const LintScript&, const InputUse&)>& visit) {
  ForEachLintScript(runbook, source, [&](const LintScript& script) {
    for (const InputUse& use : FindInputUses(script.text, script.prompt_env))
      visit(script, use);
  });
}

InputList ListInputs(const Runbook& runbook) {
  InputList list;
  std::set<std::string> seen;
  for (const InputSpec& spec : runbook.front_matter.inputs)
    if (seen.insert(spec.name).second) list.all.push_back(spec.name);
  SourceLines no_source("");
  ForEachInputUse(runbook, no_source, [&](const LintScript& script, const InputUse& use) {
    std::vector<std::string>& step = list.by_step[script.step];
    if (std::find(step.begin(), step.end(), use.name) == step.end()) step.push_back(use.name);
    if (use.exported) list.exported.emplace(use.name, *use.exported);
    if (seen.insert(use.name).second) list.all.push_back(use.name);
  });
  return list;
}

std::optional<std::string> InputDefault(const Runbook& runbook, const InputList& inputs,
                                        const std::string& name) {
  if (const InputSpec* spec = FindInputSpec(runbook, name)) return spec->default_value;
  auto exported = inputs.exported.find(name);
  if (exported == inputs.exported.end() || exported->second.empty()) return std::nullopt;
  return exported->second;
}

const InputSpec* FindInputSpec(const Runbook& runbook, std::string_view name) {
  for (const InputSpec& spec : runbook.front_matter.inputs)
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace stagecraft::runbook
