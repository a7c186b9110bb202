#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "base/text.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

bool IsGrep(std::string_view program) {
  return program == "grep" || program == "egrep" || program == "fgrep" || program == "zgrep";
}

// What grep searches for: the value of -e, else its first operand.
std::string_view GrepPattern(const CommandWords& grep) {
  for (size_t i = 1; i < grep.words.size(); ++i) {
    std::string_view word = grep.at(i);
    if (word == "-e" || word == "--regexp") return grep.at(i + 1);
    if (StartsWith(word, "--regexp=")) return word.substr(9);
    if (word == "--") return grep.at(i + 1);
    if (word.size() > 1 && word[0] == '-') {
      if (word == "-f" || word == "-m" || word == "-A" || word == "-B" || word == "-C" ||
          word == "--file" || word == "--max-count")
        ++i;
      continue;
    }
    return word;
  }
  return {};
}

// A search whose empty result is the good news: nobody greps a log for errors hoping to
// find some.
bool SearchesForTrouble(std::string_view pattern) {
  std::string lower = ToLower(pattern);
  for (std::string_view word :
       {"error", "fail", "exception", "fatal", "panic", "denied", "warn", "critical", "traceback",
        "refused", "timeout", "timed out", "killed", "oom"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

const char kGrepHint[] =
    "if no match is fine, add '|| true'; to act on a match, test it: if grep -q ...; then ...; fi";

void CheckGrep(const LintScript& script, const ShellCommand& command, Diagnostics& out) {
  CommandWords grep = Unwrap(command);
  if (!command.checked || !IsGrep(grep.program())) return;
  size_t at = grep.words[0]->begin;
  std::string_view pattern = GrepPattern(grep);
  bool inverted = grep.HasShort('v') || grep.Has("--invert-match");
  bool trouble = inverted || SearchesForTrouble(pattern);
  // grep -q is a test: stopping the block when it fails is what it is there for.
  bool test = (grep.HasShort('q') || grep.Has("--quiet") || grep.Has("--silent")) && !trouble;
  if (test) return;
  if (!command.final) {
    out.push_back(Finding(Severity::kWarning, script, at, "grep-pipefail",
                          "grep exits 1 when nothing matches: under 'set -eo pipefail' no match "
                          "stops the block here, without a message",
                          kGrepHint));
  } else if (command.pipe_out) {
    out.push_back(Finding(Severity::kWarning, script, at, "grep-pipefail",
                          "grep exits 1 when nothing matches, and with pipefail that fails the "
                          "step whatever the rest of the pipeline prints",
                          "add '|| true' after the pipeline if an empty result is fine"));
  } else if (trouble) {
    out.push_back(Finding(
        Severity::kWarning, script, at, "grep-pipefail",
        fmt::format("grep exits 1 when nothing {}, so finding no '{}' fails the step",
                    inverted ? "is left" : "matches", pattern),
        fmt::format("add '|| true' to accept an empty result; to fail when it is found, write: "
                    "! grep -q{} '{}' FILE",
                    inverted ? "v" : "", pattern)));
  } else if (script.rollback) {
    // Rolling back removes things: a grep that ends it checks they are gone, and finding
    // nothing is what it hopes for.
    out.push_back(Finding(
        Severity::kWarning, script, at, "grep-pipefail",
        fmt::format("grep exits 1 when nothing matches: once '{}' is gone, as a rollback "
                    "wants, this block fails",
                    pattern),
        fmt::format("to check that it is gone, fail when it is found: if ... | grep -q '{}'; "
                    "then echo 'still there' >&2; exit 1; fi",
                    pattern)));
  }
}

// --- failures thrown away ------------------------------------------------------------------

// echo or printf to the output or the error stream; `echo line >> file` writes a file.
bool IsMessage(const ShellCommand& command, std::string_view program) {
  if (program != "echo" && program != "printf") return false;
  for (const ShellRedirect& redirect : command.redirects) {
    const std::string& target = redirect.target.text;
    bool stream = redirect.op == ">&" || target == "/dev/stderr" || target == "/dev/stdout" ||
                  target == "/dev/null";
    if (!stream && redirect.op != "<" && redirect.op != "<<<") return false;
  }
  return true;
}
bool IsTrue(std::string_view program) {
  return program == "true" || program == ":";
}

// A command that undoes or clears something may fail harmlessly (nothing to stop, already
// gone); one that builds, deploys or migrates may not.
bool IsCleanup(const CommandWords& command) {
  std::string_view program = command.program();
  for (std::string_view name : {"rm", "rmdir", "kill", "pkill", "killall", "mkdir", "ln", "touch",
                                "dropdb", "createdb", "umount", "unlink"})
    if (program == name) return true;
  std::string_view sub = command.subcommand();
  for (std::string_view name : {"stop", "disable", "rm", "rmi", "kill", "delete", "uninstall",
                                "remove", "unset", "detach", "mask", "prune", "down"})
    if (sub == name) return true;
  if (program == "aws")
    for (std::string_view prefix : {"delete", "remove", "detach", "deregister", "rm"})
      if (StartsWith(command.at(2), prefix)) return true;
  return false;
}

bool IsScript(const CommandWords& command) {
  std::string_view first = command.at(0);
  return StartsWith(first, "./") || EndsWith(first, ".sh");
}

bool FailureMatters(const ShellScript& shell, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    CommandWords command = Unwrap(shell.commands[i]);
    if (command.empty() || shell.commands[i].in_substitution) continue;
    if (IsScript(command) || (CommandMutates(Texts(command)) && !IsCleanup(command))) return true;
  }
  return false;
}

// What the words of [begin, end) run: all messages, all `true`, or something else.
enum class Operand { kMessages, kTrue, kOther };
Operand Classify(const ShellScript& shell, size_t begin, size_t end) {
  bool messages = true, trues = true, any = false;
  for (size_t i = begin; i < end; ++i) {
    CommandWords command = Unwrap(shell.commands[i]);
    if (command.empty() || shell.commands[i].in_substitution) continue;
    any = true;
    messages &= IsMessage(shell.commands[i], command.program());
    trues &= IsTrue(command.program());
  }
  if (!any) return Operand::kOther;
  return messages ? Operand::kMessages : trues ? Operand::kTrue : Operand::kOther;
}

std::string LeftExcerpt(const LintScript& script, const ShellScript& shell,
                        const ShellAndOr& link) {
  size_t begin = SIZE_MAX, end = 0;
  for (size_t i = link.left_begin; i < link.left_end; ++i) {
    begin = std::min(begin, shell.commands[i].begin);
    end = std::max(end, EndOf(shell.commands[i]));
  }
  return begin == SIZE_MAX ? std::string() : Excerpt(script, begin, end);
}

bool HasRealCommand(const ShellScript& shell, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    std::string_view program = Unwrap(shell.commands[i]).program();
    if (!program.empty() && program != "test" && program != "[") return true;
  }
  return false;
}

void CheckAndOr(const LintScript& script, const ShellScript& shell, const ShellAndOr& link,
                Diagnostics& out) {
  if (link.right_begin >= link.right_end || link.left_begin >= link.left_end) return;
  const ShellCommand& right = shell.commands[link.right_end - 1];
  if (!right.checked) return;  // the whole list is a condition, or runs in the background
  Operand operand = Classify(shell, link.right_begin, link.right_end);
  std::string left = LeftExcerpt(script, shell, link);
  if (link.is_or && operand == Operand::kMessages) {
    out.push_back(Finding(
        Severity::kWarning, script, link.offset, "hidden-failure",
        fmt::format("'|| echo' hides a failure of '{}': the message is printed and the block "
                    "goes on as if it had worked",
                    left),
        "let the failure stop the step, or stop after the message: || { echo \"...\" >&2; exit "
        "1; }"));
  } else if (link.is_or && operand == Operand::kTrue &&
             FailureMatters(shell, link.left_begin, link.left_end)) {
    out.push_back(Finding(
        Severity::kWarning, script, link.offset, "hidden-failure",
        fmt::format("'|| true' hides a failure of '{}': the step passes even if it did not work",
                    left),
        "remove '|| true' so a failure stops the run; if its failure really does not matter, "
        "give the block the 'ignore' attribute instead"));
  } else if (!link.is_or && operand == Operand::kMessages && !right.final &&
             HasRealCommand(shell, link.left_begin, link.left_end)) {
    out.push_back(Finding(
        Severity::kWarning, script, link.offset, "hidden-failure",
        fmt::format("if '{}' fails, '&&' only skips the message: the block goes on and the "
                    "step passes",
                    left),
        "drop '&& echo ...' and let a failure stop the step (blocks run with set -e), or write: "
        "cmd || { echo \"failed\" >&2; exit 1; }"));
  }
}

// The variable a NAME=$(cmd) word assigns, when its value is a command substitution.
std::optional<std::string> SubstitutedVariable(const ShellWord& word) {
  size_t equals = word.text.find('=');
  if (equals == std::string::npos || !IsShellIdentifier(word.text.substr(0, equals)))
    return std::nullopt;
  std::string_view value = std::string_view(word.text).substr(equals + 1);
  if (!StartsWith(value, "$(") && !StartsWith(value, "`")) return std::nullopt;
  return word.text.substr(0, equals);
}

// `export X=$(cmd)` succeeds whatever cmd did: export's own status replaces it. So does
// `X=$(cmd) program`, whose status is the program's.
void CheckMaskedAssignment(const LintScript& script, const ShellCommand& command,
                           Diagnostics& out) {
  std::string_view name = command.name();
  if (!command.checked || command.words.empty()) return;
  for (const ShellWord& word : command.assignments) {
    std::optional<std::string> variable = SubstitutedVariable(word);
    if (!variable) continue;
    out.push_back(Finding(
        Severity::kWarning, script, word.begin, "hidden-failure",
        fmt::format("'{}=$(...) {}' hides a failure of the command: {} runs anyway, with {} "
                    "perhaps empty",
                    *variable, name, name, *variable),
        fmt::format("assign it on a line of its own first: {}=$(...)", *variable)));
  }
  if (name != "export" && name != "local" && name != "readonly" && name != "declare" &&
      name != "typeset")
    return;
  for (size_t i = 1; i < command.words.size(); ++i) {
    std::optional<std::string> variable = SubstitutedVariable(command.words[i]);
    if (!variable) continue;
    out.push_back(Finding(
        Severity::kWarning, script, command.words[i].begin, "hidden-failure",
        fmt::format("'{} {}=$(...)' hides a failure of the command: {} succeeds whatever it "
                    "did, and {} may be left empty",
                    name, *variable, name, *variable),
        fmt::format("assign first, then {0}: {1}=$(...); {0} {1}", name, *variable)));
  }
}

}  // namespace

void LintExitStatus(const LintScript& script, const ShellScript& shell, Diagnostics& out) {
  for (const ShellCommand& command : shell.commands) {
    CheckGrep(script, command, out);
    CheckMaskedAssignment(script, command, out);
  }
  for (const ShellAndOr& link : shell.and_ors)
    CheckAndOr(script, shell, link, out);
}

}  // namespace stagecraft::runbook
