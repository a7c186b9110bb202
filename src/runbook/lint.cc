#include "runbook/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "base/text.h"
#include "runbook/walk.h"

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
  // Tools whose first argument says whether they change things.
  static const std::set<std::string_view> packages = {"install",   "ci",      "publish", "remove",
                                                      "uninstall", "upgrade", "add"};
  static const std::map<std::string_view, std::set<std::string_view>> subcommands = {
      {"git",
       {"commit", "push", "checkout", "switch", "merge", "reset", "tag", "rebase", "pull", "clone",
        "apply", "stash"}},
      {"terraform", {"apply", "destroy", "import", "taint", "untaint", "state"}},
      {"kubectl",
       {"apply", "delete", "create", "patch", "replace", "scale", "rollout", "set", "label",
        "annotate", "drain", "cordon"}},
      {"helm", {"install", "upgrade", "uninstall", "rollback", "delete"}},
      {"systemctl", {"start", "stop", "restart", "reload", "enable", "disable", "kill", "mask"}},
      {"docker",
       {"run", "rm", "stop", "start", "restart", "build", "push", "compose", "kill", "rmi", "tag"}},
      {"npm", packages},
      {"pip", packages},
      {"pip3", packages},
      {"apt-get", packages},
      {"apt", packages},
      {"yarn", packages}};
  if (auto found = subcommands.find(tool); found != subcommands.end())
    return found->second.count(sub(1)) > 0;
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

namespace {

// What the shell actually runs: for a transcript, its commands (kept in `storage`) without
// the output lines pasted under them (output such as "Created /tmp/x" must not look like a
// command). Other blocks are not copied.
std::string_view ExecutedScript(const Action& action, std::string& storage) {
  if (!action.is_transcript()) return action.block.text;
  for (const auto& command : action.transcript) {
    storage += command.command;
    storage += '\n';
  }
  return storage;
}

}  // namespace

void Lint(const Runbook& runbook, Diagnostics& diagnostics) {
  bool has_rollback_section =
      std::any_of(runbook.steps.begin(), runbook.steps.end(),
                  [](const Step& s) { return s.kind == StepKind::kRollback; });
  auto lint_action = [&](const Action& action) {
    int line_number = action.block.first_line;
    bool any_command = false;
    // Every line of every block is looked at: walk them in place rather than collect them.
    LineReader reader(action.block.text);
    for (std::string_view line; reader.Next(line); ++line_number) {
      std::string_view trimmed = TrimView(line);
      if (!trimmed.empty() && trimmed.front() != '#') any_command = true;
      if (StartsWith(trimmed, "#")) {
        std::string comment = ToLower(TrimView(trimmed.substr(1)));
        if (StartsWith(comment, "expected") || StartsWith(comment, "should show") ||
            StartsWith(comment, "should return") || StartsWith(comment, "should print")) {
          // cmark strips the fence's indentation from the contents; add it back.
          int column = action.block.pos.column + static_cast<int>(line.find('#'));
          diagnostics.push_back(
              {Severity::kWarning,
               {line_number, column},
               "expectation written as a comment is not checked",
               "move the expected lines into a fenced block after an **Expected Output:** "
               "label, with (re) or (glob) for the parts that vary"});
        }
      }
    }
    if (action.attributes.background)
      diagnostics.push_back({Severity::kWarning, action.block.pos,
                             "'background' is not supported yet: the block runs in the "
                             "foreground and the step waits for it",
                             "start a long-running process with '&' (or nohup/setsid) inside "
                             "the block; the step ends when the block's shell exits"});
    if (!any_command && !action.attributes.skip)
      diagnostics.push_back({Severity::kWarning, action.block.pos,
                             "block holds only comments; nothing runs",
                             "use a ```text block for notes, or mark the step manual"});
  };
  for (const Step& step : runbook.steps) {
    ForEachAction(step, lint_action);
    if (step.kind == StepKind::kStep && !step.manual && !step.skip && !has_rollback_section &&
        !step.has_rollback()) {
      bool mutates = std::any_of(step.actions.begin(), step.actions.end(), [](const Action& a) {
        std::string storage;
        return !a.attributes.skip && LooksMutating(ExecutedScript(a, storage));
      });
      if (mutates)
        diagnostics.push_back(
            {Severity::kWarning, step.pos,
             fmt::format("step '{}' changes things but has no rollback, and the runbook has no "
                         "rollback section",
                         step.name),
             "add a **Rollback:** block after its commands, or a '## Rollback' section that "
             "undoes the deployment"});
    }
  }
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
}

}  // namespace stagecraft::runbook
