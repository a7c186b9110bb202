#include "runbook/lint_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/text.h"
#include "runbook/lint.h"

namespace stagecraft::runbook {
namespace {

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

bool HasPrefixIn(std::string_view word, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view prefix) { return StartsWith(word, prefix); });
}

// Does the line write to a file with `>` or `>>` (other than /dev/null or a descriptor)?
bool RedirectsToFile(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '>') continue;
    if (i > 0 && (line[i - 1] == '-' || line[i - 1] == '=' || line[i - 1] == '<')) continue;
    size_t j = i + 1;
    if (j < line.size() && line[j] == '>') ++j;
    if (j < line.size() && (line[j] == '&' || line[j] == '(')) continue;
    while (j < line.size() && line[j] == ' ')
      ++j;
    std::string_view target = line.substr(j);
    if (StartsWith(target, "/dev/null") || StartsWith(target, "/dev/std")) continue;
    if (target.empty()) continue;
    return true;
  }
  return false;
}

}  // namespace

// Does one simple command (no pipes or separators) change things?
bool CommandMutates(const std::vector<std::string>& words_in) {
  std::vector<std::string> words = words_in;
  // Skip `sudo` and leading VAR=value assignments.
  while (!words.empty() && (words.front() == "sudo" || words.front() == "env" ||
                            (words.front().find('=') != std::string::npos &&
                             IsShellIdentifier(words.front().substr(0, words.front().find('='))))))
    words.erase(words.begin());
  if (words.empty()) return false;
  const std::string& tool = words[0];
  auto sub = [&](size_t i) { return words.size() > i ? ToLower(words[i]) : std::string(); };
  static const std::set<std::string> always = {
      "rm",      "mv",   "cp",    "mkdir",   "rmdir",    "touch",    "chmod",
      "chown",   "ln",   "dd",    "install", "tee",      "truncate", "rsync",
      "scp",     "kill", "pkill", "killall", "createdb", "dropdb",   "pg_restore",
      "service", "make", "patch", "unzip",   "tar"};
  if (always.count(tool))
    return tool != "tar" || sub(1).find('x') != std::string::npos ||
           sub(1).find('c') != std::string::npos;
  if (tool == "sed") return std::find(words.begin(), words.end(), "-i") != words.end();
  if (tool == "git")
    return std::set<std::string>{"commit", "push",   "checkout", "switch", "merge", "reset",
                                 "tag",    "rebase", "pull",     "clone",  "apply", "stash"}
        .count(sub(1));
  if (tool == "terraform")
    return std::set<std::string>{"apply", "destroy", "import", "taint", "untaint", "state"}.count(
        sub(1));
  if (tool == "kubectl")
    return std::set<std::string>{"apply",   "delete", "create", "patch",    "replace", "scale",
                                 "rollout", "set",    "label",  "annotate", "drain",   "cordon"}
        .count(sub(1));
  if (tool == "helm")
    return std::set<std::string>{"install", "upgrade", "uninstall", "rollback", "delete"}.count(
        sub(1));
  if (tool == "systemctl")
    return std::set<std::string>{"start",  "stop",    "restart", "reload",
                                 "enable", "disable", "kill",    "mask"}
        .count(sub(1));
  if (tool == "docker")
    return std::set<std::string>{"run",  "rm",      "stop", "start", "restart", "build",
                                 "push", "compose", "kill", "rmi",   "tag"}
        .count(sub(1));
  if (tool == "npm" || tool == "pip" || tool == "pip3" || tool == "apt-get" || tool == "apt" ||
      tool == "yarn")
    return std::set<std::string>{"install",   "ci",      "publish", "remove",
                                 "uninstall", "upgrade", "add"}
        .count(sub(1));
  if (tool == "aws") {
    // aws SERVICE OPERATION: read operations are get-, list-, describe-, head-...
    std::string operation = sub(2);
    return HasPrefixIn(
        operation,
        {"create", "put",    "delete",    "update", "publish", "attach",    "detach",   "run",
         "start",  "stop",   "terminate", "modify", "invoke",  "deploy",    "register", "tag",
         "untag",  "remove", "add",       "enable", "disable", "subscribe", "import",   "restore",
         "cp",     "mv",     "rm",        "sync",   "mb",      "rb",        "send",     "set"});
  }
  if (tool == "psql") {
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "-f" || StartsWith(words[i], "--file")) return true;
    }
    std::string lower = ToLower(fmt::format("{}", fmt::join(words, " ")));
    for (const char* verb : {"insert ", "update ", "delete ", "create ", "drop ", "alter ",
                             "truncate ", "grant ", "revoke "})
      if (lower.find(verb) != std::string::npos) return true;
    return false;
  }
  if (tool == "curl") {
    for (size_t i = 1; i < words.size(); ++i) {
      std::string word = words[i];
      if ((word == "-X" || word == "--request") && i + 1 < words.size() &&
          ToLower(words[i + 1]) != "get" && ToLower(words[i + 1]) != "head")
        return true;
      if (word == "-d" || StartsWith(word, "--data") || word == "-F" || word == "--form" ||
          word == "-T" || word == "--upload-file")
        return true;
    }
  }
  return false;
}

bool LooksMutating(std::string_view script) {
  std::string joined;
  for (std::string_view line : SplitLines(script)) {
    std::string_view trimmed = TrimView(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    // Continuation lines belong to the command above.
    if (EndsWith(trimmed, "\\")) {
      joined.append(trimmed.substr(0, trimmed.size() - 1));
      joined.push_back(' ');
      continue;
    }
    joined.append(trimmed);
    std::string_view command_line = joined;
    // Quoted text (SQL, JSON) is not a redirect; only look outside quotes.
    std::string unquoted;
    char quote = 0;
    for (char c : command_line) {
      if (quote) {
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        continue;
      }
      unquoted.push_back(c);
    }
    if (RedirectsToFile(unquoted)) return true;
    std::string piece;
    auto flush = [&]() {
      bool mutates = CommandMutates(Words(piece));
      piece.clear();
      return mutates;
    };
    for (size_t i = 0; i < command_line.size(); ++i) {
      char c = command_line[i];
      if (c == ';' || c == '|' || c == '&' || c == '(' || c == ')' || c == '`') {
        if (flush()) return true;
      } else if (c == '$' && i + 1 < command_line.size() && command_line[i + 1] == '(') {
        if (flush()) return true;
        ++i;
      } else {
        piece.push_back(c);
      }
    }
    if (flush()) return true;
    joined.clear();
  }
  return false;
}

// --- the words of one command ---------------------------------------------------------------

namespace {

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsOption(const ShellWord* word) {
  return !word->text.empty() && word->text[0] == '-';
}

// Skips a wrapper's options; `with_value` lists those that take the next word.
size_t SkipOptions(const std::vector<const ShellWord*>& words, size_t i,
                   std::string_view with_value) {
  while (i < words.size() && IsOption(words[i]) && words[i]->text != "--") {
    const std::string& option = words[i]->text;
    bool takes_value = option.size() == 2 && with_value.find(option[1]) != std::string_view::npos;
    i += takes_value ? 2 : 1;
  }
  if (i < words.size() && words[i]->text == "--") ++i;
  return i;
}

}  // namespace

std::string_view CommandWords::program() const {
  return words.empty() ? std::string_view() : Basename(words[0]->text);
}

std::string_view CommandWords::at(size_t i) const {
  return i < words.size() ? std::string_view(words[i]->text) : std::string_view();
}

std::string_view CommandWords::subcommand() const {
  for (size_t i = 1; i < words.size(); ++i)
    if (!IsOption(words[i]) && words[i]->text.find('=') == std::string::npos) return words[i]->text;
  return {};
}

bool CommandWords::Has(std::string_view word) const {
  return std::any_of(words.begin(), words.end(),
                     [&](const ShellWord* w) { return w->text == word; });
}

bool CommandWords::HasPrefix(std::string_view prefix) const {
  return std::any_of(words.begin(), words.end(),
                     [&](const ShellWord* w) { return StartsWith(w->text, prefix); });
}

bool CommandWords::HasShort(char letter) const {
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& text = words[i]->text;
    if (text == "--") break;  // what follows belongs to another program
    if (text.size() >= 2 && text[0] == '-' && text[1] != '-' &&
        text.find(letter) != std::string::npos)
      return true;
  }
  return false;
}

CommandWords Unwrap(const ShellCommand& command) {
  std::vector<const ShellWord*> words;
  for (const ShellWord& word : command.words)
    words.push_back(&word);
  CommandWords out;
  size_t i = 0;
  while (i < words.size()) {
    std::string_view name = Basename(words[i]->text);
    if (name == "sudo" || name == "doas") {
      i = SkipOptions(words, i + 1, "ugCDhprtU");
    } else if (name == "env") {
      i = SkipOptions(words, i + 1, "uCS");
      while (i < words.size() && words[i]->text.find('=') != std::string::npos)
        ++i;
    } else if (name == "nohup" || name == "time" || name == "command" || name == "exec" ||
               name == "builtin") {
      i = SkipOptions(words, i + 1, "");
    } else if (name == "nice" || name == "ionice" || name == "stdbuf") {
      i = SkipOptions(words, i + 1, "ncp");
    } else if (name == "timeout") {
      i = SkipOptions(words, i + 1, "sk") + 1;  // and the duration
      out.under_timeout = true;
    } else {
      break;
    }
  }
  out.words.assign(words.begin() + std::min(i, words.size()), words.end());
  return out;
}

std::vector<std::string> Texts(const CommandWords& command) {
  std::vector<std::string> texts;
  for (const ShellWord* word : command.words)
    texts.push_back(word->text);
  if (!texts.empty()) texts[0] = std::string(command.program());
  return texts;
}

size_t EndOf(const ShellCommand& command) {
  size_t end = command.begin;
  for (const ShellWord& word : command.words)
    end = std::max(end, word.end);
  for (const ShellRedirect& redirect : command.redirects)
    end = std::max(end, redirect.target.end);
  return end;
}

std::string Excerpt(const LintScript& script, const ShellCommand& command) {
  return Excerpt(script, command.begin, EndOf(command));
}

std::string Excerpt(const LintScript& script, size_t begin, size_t end) {
  std::string text;
  bool space = false;
  for (size_t i = begin; i < end && i < script.text.size(); ++i) {
    char c = script.text[i];
    if (c == '\\' && i + 1 < end && script.text[i + 1] == '\n') {
      ++i;
      space = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      space = true;
    } else {
      if (space && !text.empty()) text += ' ';
      space = false;
      text += c;
    }
  }
  // Long enough to show a whole command line as guides write them; cut at a word.
  constexpr size_t kLimit = 100;
  if (text.size() <= kLimit) return text;
  size_t cut = text.rfind(' ', kLimit);
  if (cut == std::string::npos || cut < kLimit / 2) {
    cut = kLimit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
  }
  return text.substr(0, cut) + " …";
}

Diagnostic Finding(Severity severity, const LintScript& script, size_t offset, std::string id,
                   std::string message, std::string hint) {
  return {severity, script.PositionOf(offset), std::move(message), std::move(hint), std::move(id)};
}

}  // namespace stagecraft::runbook
