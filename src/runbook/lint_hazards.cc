#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <optional>

#include "base/text.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

// --- absolute-cd ---------------------------------------------------------------------------

bool Within(std::string_view path, std::string_view directory) {
  if (directory == "/") return true;
  return path == directory || (StartsWith(path, directory) && path[directory.size()] == '/');
}

void CheckCd(const LintScript& script, const ShellCommand& command, const LintContext& context,
             Diagnostics& out) {
  CommandWords cd = Unwrap(command);
  if (cd.program() != "cd" && cd.program() != "pushd") return;
  const ShellWord* target = nullptr;
  for (size_t i = 1; i < cd.words.size() && !target; ++i)
    if (cd.at(i).size() < 2 || cd.at(i)[0] != '-') target = cd.words[i];
  if (!target || !target->literal() || !StartsWith(target->text, "/")) return;
  std::string path = std::filesystem::path(target->text).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  // Temporary directories exist on every machine.
  for (std::string_view shared : {"/tmp", "/var/tmp", "/dev/shm"})
    if (Within(path, shared)) return;
  if (Within(path, context.root)) return;
  out.push_back(Finding(
      Severity::kWarning, script, target->begin, "absolute-cd",
      fmt::format("'cd {}' leaves the runbook's directory for an absolute path: the runbook "
                  "only works on a machine laid out the same way",
                  target->text),
      "blocks start in the runbook's directory (or the front matter 'root'): cd to a path "
      "relative to it, or take the location from a variable (vars:, --var NAME=...)"));
}

// --- rm-empty-variable -----------------------------------------------------------------------

bool IsRecursiveRm(const CommandWords& rm) {
  return rm.program() == "rm" && (rm.HasShort('r') || rm.HasShort('R') || rm.Has("--recursive"));
}

// The variable a path starts with when a '/' follows it: "$DIR/x" and "${DIR}/x" give DIR.
// "${DIR:?}/x" gives nothing: it stops the script when DIR is empty.
std::optional<std::string> LeadingVariable(std::string_view path) {
  if (!StartsWith(path, "$")) return std::nullopt;
  bool braced = StartsWith(path, "${");
  size_t i = braced ? 2 : 1;
  size_t start = i;
  while (i < path.size() && (std::isalnum(static_cast<unsigned char>(path[i])) || path[i] == '_'))
    ++i;
  std::string name(path.substr(start, i - start));
  if (!IsShellIdentifier(name)) return std::nullopt;
  if (braced) {
    if (i >= path.size() || path[i] != '}') return std::nullopt;
    ++i;
  }
  if (i >= path.size() || path[i] != '/') return std::nullopt;
  return name;
}

// The words of a command that give a variable a value: NAME=value, export NAME=value.
std::vector<const ShellWord*> Assignments(const ShellCommand& command) {
  std::vector<const ShellWord*> words;
  for (const ShellWord& word : command.assignments)
    words.push_back(&word);
  std::string_view name = command.name();
  if (name == "export" || name == "readonly" || name == "local" || name == "declare" ||
      name == "typeset")
    for (const ShellWord& word : command.words)
      words.push_back(&word);
  return words;
}

// Gives `word` a value that is not empty as written (it may still expand to nothing, but
// NAME="$PWD" and NAME=$(pwd) are how scripts fix a path before deleting under it).
bool Defines(const ShellWord& word, std::string_view name) {
  return word.text.size() > name.size() + 1 && StartsWith(word.text, name) &&
         word.text[name.size()] == '=';
}

bool AssignedBefore(const ShellScript& shell, size_t before, std::string_view name) {
  for (size_t i = 0; i < before && i < shell.commands.size(); ++i)
    for (const ShellWord* word : Assignments(shell.commands[i]))
      if (Defines(*word, name)) return true;
  return false;
}

// Returns true when it reported the command.
bool CheckRm(const LintScript& script, const ShellScript& shell, size_t index,
             const LintContext& context, Diagnostics& out) {
  CommandWords rm = Unwrap(shell.commands[index]);
  if (!IsRecursiveRm(rm)) return false;
  for (size_t i = 1; i < rm.words.size(); ++i) {
    std::optional<std::string> name = LeadingVariable(rm.at(i));
    // HOME and PWD are set in every session.
    if (!name || *name == "HOME" || *name == "PWD" || context.defined.count(*name) ||
        AssignedBefore(shell, index, *name))
      continue;
    out.push_back(
        Finding(Severity::kError, script, rm.words[i]->begin, "rm-empty-variable",
                fmt::format("'{}' deletes from / when {} is empty or unset",
                            Excerpt(script, shell.commands[index]), *name),
                fmt::format("write \"${{{}:?}}\"{} so an empty variable stops the block instead",
                            *name, rm.at(i).substr(rm.at(i).find('/')))));
    return true;
  }
  return false;
}

// --- destructive ---------------------------------------------------------------------------

struct Destruction {
  size_t offset = 0;
  std::string message;
};

Destruction Ungated(size_t offset, std::string_view what) {
  return {offset, fmt::format("'{}' runs in the normal flow without a gate", what)};
}

std::optional<Destruction> DestroysSomething(const CommandWords& command) {
  std::string_view program = command.program();
  size_t at = command.words.empty() ? 0 : command.words[0]->begin;
  std::string_view sub = command.subcommand();
  if (program == "terraform" && sub == "destroy") return Ungated(at, "terraform destroy");
  if (program == "terraform" && sub == "apply" &&
      (command.Has("-destroy") || command.Has("--destroy")))
    return Ungated(at, "terraform apply -destroy");
  if ((program == "kubectl" || program == "oc") && sub == "delete") {
    for (size_t i = 2; i < command.words.size(); ++i) {
      std::string_view kind = command.at(i);
      if (kind == "namespace" || kind == "namespaces" || kind == "ns" ||
          StartsWith(kind, "namespace/") || StartsWith(kind, "ns/"))
        return Ungated(at, fmt::format("{} delete namespace", program));
    }
  }
  if (program == "aws" && command.at(1) == "s3" && command.at(2) == "rb")
    return Ungated(at, "aws s3 rb");
  if (program == "aws" && command.at(1) == "s3" && command.at(2) == "rm" &&
      command.Has("--recursive"))
    return Ungated(at, "aws s3 rm --recursive");
  if (program == "dropdb") return Ungated(at, "dropdb");
  if (IsRecursiveRm(command))
    for (size_t i = 1; i < command.words.size(); ++i)
      if (command.words[i]->expands && command.at(i).find('$') != std::string_view::npos)
        return Destruction{
            command.words[i]->begin,
            fmt::format("'{}' deletes a path held in a variable, in the normal flow and without "
                        "a gate",
                        fmt::join(Texts(command), " "))};
  return std::nullopt;
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string Upper(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// "DROP TABLE", "drop database", "TRUNCATE orders" in `text`, as whole words.
std::optional<Destruction> FindSqlDestruction(std::string_view text, size_t base) {
  std::string lower = ToLower(text);
  auto word_at = [&](size_t i, std::string_view word) {
    return lower.compare(i, word.size(), word) == 0 && (i == 0 || !IsWordChar(lower[i - 1])) &&
           (i + word.size() >= lower.size() || !IsWordChar(lower[i + word.size()]));
  };
  auto skip_space = [&](size_t i) {
    while (i < lower.size() && std::isspace(static_cast<unsigned char>(lower[i])))
      ++i;
    return i;
  };
  for (size_t i = 0; i < lower.size(); ++i) {
    if (word_at(i, "drop")) {
      size_t next = skip_space(i + 4);
      if (next == i + 4) continue;
      for (std::string_view object : {"table", "database", "schema"})
        if (word_at(next, object)) return Ungated(base + i, Upper(fmt::format("drop {}", object)));
    } else if (word_at(i, "truncate")) {
      size_t next = skip_space(i + 8);
      if (next > i + 8 && next < lower.size() && IsWordChar(lower[next]))
        return Ungated(base + i, "TRUNCATE");
    }
  }
  return std::nullopt;
}

std::optional<Destruction> FindSqlDestruction(const LintScript& script,
                                              const ShellCommand& command) {
  for (const ShellWord& word : command.words)
    if (auto found =
            FindSqlDestruction(script.text.substr(word.begin, word.end - word.begin), word.begin))
      return found;
  for (const ShellRedirect& redirect : command.redirects)
    if (redirect.heredoc)
      if (auto found = FindSqlDestruction(redirect.body, redirect.body_begin)) return found;
  return std::nullopt;
}

void CheckDestructive(const LintScript& script, const ShellCommand& command, Diagnostics& out) {
  std::optional<Destruction> found = DestroysSomething(Unwrap(command));
  if (!found) found = FindSqlDestruction(script, command);
  if (!found) return;
  out.push_back(Finding(
      Severity::kWarning, script, found->offset, "destructive", found->message,
      "add 'confirm' to the block so the run asks first, mark the step manual, or move it to "
      "the rollback procedure"));
}

}  // namespace

void AddDefinitions(const LintScript& script, const ShellScript& shell,
                    std::set<std::string>& defined) {
  for (const ShellCommand& command : shell.commands)
    for (const ShellWord* word : Assignments(command)) {
      size_t equals = word->text.find('=');
      if (equals != std::string::npos && Defines(*word, word->text.substr(0, equals)))
        defined.insert(word->text.substr(0, equals));
    }
  if (script.capture) defined.insert(*script.capture);
}

void LintCommandHazards(const LintScript& script, const ShellScript& shell,
                        const LintContext& context, Diagnostics& out) {
  for (size_t i = 0; i < shell.commands.size(); ++i) {
    const ShellCommand& command = shell.commands[i];
    CheckCd(script, command, context, out);
    bool reported = CheckRm(script, shell, i, context, out);
    // The rollback procedure and a block the operator approves first are where
    // destruction belongs.
    if (!reported && !script.rollback && !script.gated) CheckDestructive(script, command, out);
  }
}

}  // namespace stagecraft::runbook
