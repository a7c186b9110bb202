#include <fmt/format.h>

#include <optional>

#include "base/text.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view candidate : words)
    if (word == candidate) return true;
  return false;
}

// --- never-ends ------------------------------------------------------------------------------

// A short option among the words after `from` (`docker compose -f file.yml logs -f`: only
// the second -f follows).
bool HasShortAfter(const CommandWords& command, size_t from, char letter) {
  for (size_t i = from + 1; i < command.words.size(); ++i) {
    std::string_view word = command.at(i);
    if (word == "--") break;
    if (word.size() >= 2 && word[0] == '-' && word[1] != '-' &&
        word.find(letter) != std::string_view::npos)
      return true;
  }
  return false;
}

size_t IndexOf(const CommandWords& command, std::string_view word) {
  for (size_t i = 1; i < command.words.size(); ++i)
    if (command.at(i) == word) return i;
  return 0;
}

bool Follows(const CommandWords& command) {
  std::string_view program = command.program();
  std::string_view sub = command.subcommand();
  // Waiting for a rollout to finish ends with it.
  if (OneOf(program, {"kubectl", "oc"}) && sub == "rollout") return false;
  for (std::string_view flag : {"--follow", "--watch"})
    if (command.Has(flag) ||
        (command.HasPrefix(std::string(flag) + "=") && !command.Has(std::string(flag) + "=false")))
      return true;
  if (program == "tail") return command.HasShort('f') || command.HasShort('F');
  if (program == "journalctl") return command.HasShort('f');
  if (size_t logs = IndexOf(command, "logs");
      logs && OneOf(program, {"docker", "podman", "kubectl", "oc", "docker-compose"}))
    return HasShortAfter(command, logs, 'f');
  // `docker compose up` stays in the foreground with the containers unless detached.
  if (size_t up = IndexOf(command, "up");
      up && (program == "docker-compose" || (program == "docker" && sub == "compose")))
    return !HasShortAfter(command, up, 'd') && !command.Has("--detach") && !command.Has("--wait");
  if (OneOf(program, {"kubectl", "oc"}))
    return (sub == "get" && command.Has("-w")) || OneOf(sub, {"port-forward", "proxy"});
  if (program == "watch") return true;
  if (program == "ping") return !command.HasShort('c') && !command.HasShort('w');
  if (program == "sleep") return command.at(1) == "infinity";
  return false;
}

// `tail -f log | grep -m1 ready` ends when grep has what it waited for.
bool EndedByReader(const ShellScript& shell, size_t index) {
  if (!shell.commands[index].pipe_out) return false;
  for (size_t i = index + 1; i < shell.commands.size(); ++i) {
    if (!shell.commands[i].pipe_in) continue;
    CommandWords reader = Unwrap(shell.commands[i]);
    std::string_view program = reader.program();
    return program == "head" || ((program == "grep" || program == "egrep") &&
                                 (reader.HasShort('m') || reader.HasShort('q') ||
                                  reader.HasPrefix("--max-count") || reader.Has("--quiet")));
  }
  return false;
}

void CheckNeverEnds(const LintScript& script, const ShellScript& shell, size_t index,
                    Diagnostics& out) {
  const ShellCommand& command = shell.commands[index];
  CommandWords words = Unwrap(command);
  if (words.empty() || words.under_timeout || command.background || !Follows(words) ||
      EndedByReader(shell, index))
    return;
  out.push_back(Finding(
      Severity::kWarning, script, words.words[0]->begin, "never-ends",
      fmt::format("'{}' never ends; the block would hang", Excerpt(script, command)),
      "show a bounded part instead (drop the follow flag: tail -n 100, --since 10m), bound it "
      "with 'timeout 60 ...', or start it in the background with '&'"));
}

// --- needs-terminal ------------------------------------------------------------------------

// Standard input that is not the (missing) terminal: a pipe, a file, a here-document.
bool HasInput(const ShellCommand& command) {
  if (command.pipe_in) return true;
  for (const ShellRedirect& redirect : command.redirects)
    if ((redirect.fd == -1 || redirect.fd == 0) &&
        OneOf(redirect.op, {"<", "<<", "<<-", "<<<", "<>"}))
      return true;
  return false;
}

// Operands: the words after the program that are neither options nor their values.
size_t Operands(const CommandWords& command, std::string_view options_with_value) {
  size_t count = 0;
  for (size_t i = 1; i < command.words.size(); ++i) {
    std::string_view word = command.at(i);
    if (word.size() > 1 && word[0] == '-') {
      if (word.size() == 2 && options_with_value.find(word[1]) != std::string_view::npos) ++i;
      continue;
    }
    ++count;
  }
  return count;
}

struct Terminal {
  std::string why;
  std::string hint;
};

std::optional<Terminal> Editor(const CommandWords& command) {
  std::string_view program = command.program();
  const char* hint = "write the file with a here-document (cat > FILE <<'EOF' ... EOF) or sed -i";
  if (OneOf(program, {"nano", "vim", "vi", "nvim", "pico", "joe", "mcedit"}) ||
      (program == "emacs" && !command.Has("--batch") && !command.Has("-batch")))
    return Terminal{"it opens an editor", hint};
  if ((OneOf(program, {"kubectl", "oc", "systemctl"}) && command.subcommand() == "edit") ||
      (program == "crontab" && command.Has("-e")) || program == "visudo")
    return Terminal{"it opens an editor", "make the change with a command that takes it as input"};
  if (program == "git" && command.subcommand() == "commit" && !command.HasShort('m') &&
      !command.HasShort('F') && !command.HasShort('C') && !command.HasPrefix("--message") &&
      !command.HasPrefix("--file") && !command.Has("--no-edit"))
    return Terminal{"it opens an editor for the message", "git commit -m 'message'"};
  return std::nullopt;
}

std::optional<Terminal> Prompt(const ShellCommand& shell_command, const CommandWords& command) {
  std::string_view program = command.program();
  std::string_view sub = command.subcommand();
  if (HasInput(shell_command)) return std::nullopt;
  if (program == "read" && command.HasShort('p'))
    return Terminal{"it waits for an answer",
                    "take the value from a variable (vars:, --var NAME=...) instead"};
  if (program == "terraform" && OneOf(sub, {"apply", "destroy"}) &&
      !command.HasPrefix("-auto-approve") && !command.HasPrefix("--auto-approve") &&
      !(sub == "apply" && Operands(command, "") > 1))
    return Terminal{"it asks for approval",
                    "apply a saved plan (terraform plan -out=tfplan, then terraform apply "
                    "tfplan), or add -auto-approve behind a 'confirm' gate"};
  if (program == "aws" && sub == "configure" && Operands(command, "") == 1)
    return Terminal{"it asks for credentials", "aws configure set KEY VALUE, or AWS_* variables"};
  const char* sql_hint = "give it the SQL: -c '...' (mysql: -e), -f FILE, or a here-document";
  if (program == "psql" && !command.HasShort('c') && !command.HasShort('f') &&
      !command.HasShort('l') && !command.HasShort('V') && !command.HasPrefix("--command") &&
      !command.HasPrefix("--file") && !command.Has("--list") && !command.Has("--version") &&
      !command.Has("--help"))
    return Terminal{"it opens an interactive SQL prompt", sql_hint};
  if (OneOf(program, {"mysql", "mariadb"}) && !command.HasShort('e') &&
      !command.HasPrefix("--execute") && !command.Has("--version") && !command.HasShort('V'))
    return Terminal{"it opens an interactive SQL prompt", sql_hint};
  if (program == "sqlite3" && Operands(command, "") < 2)
    return Terminal{"it opens an interactive SQL prompt", sql_hint};
  if (program == "ssh" && Operands(command, "BbcDEeFIiJLlmOopQRSWw") == 1 &&
      !command.HasShort('N') && !command.HasShort('f'))
    return Terminal{"it opens a remote shell", "give the command to run: ssh HOST 'command'"};
  return std::nullopt;
}

std::optional<Terminal> FullScreen(const ShellCommand& shell_command, const CommandWords& command) {
  std::string_view program = command.program();
  if (OneOf(program, {"less", "more"}) && !shell_command.pipe_in && !shell_command.pipe_out)
    return Terminal{"it is a pager", "show the file with cat, or its end with tail -n 100"};
  if ((program == "top" && !command.HasShort('b')) || program == "htop")
    return Terminal{"it is a full-screen program", "take one snapshot: top -b -n 1"};
  if (command.Has("--interactive") || command.Has("--tty") ||
      (OneOf(program, {"docker", "podman", "kubectl", "oc"}) && command.HasShort('t') &&
       OneOf(command.subcommand(), {"run", "exec"})))
    return Terminal{"it asks for a terminal (-t, --interactive)",
                    "drop -t/-it; pass input with -i and a pipe"};
  if (program == "git" &&
      ((command.subcommand() == "rebase" && command.HasShort('i')) ||
       (command.subcommand() == "add" && (command.HasShort('p') || command.HasShort('i')))))
    return Terminal{"it is interactive", "name what to change on the command line"};
  return std::nullopt;
}

void CheckNeedsTerminal(const LintScript& script, const ShellCommand& command, Diagnostics& out) {
  CommandWords words = Unwrap(command);
  if (words.empty()) return;
  std::optional<Terminal> found = Editor(words);
  if (!found) found = Prompt(command, words);
  if (!found) found = FullScreen(command, words);
  if (!found) return;
  out.push_back(
      Finding(Severity::kWarning, script, words.words[0]->begin, "needs-terminal",
              fmt::format("'{}' needs a terminal ({}), and a block runs without one: its input is "
                          "/dev/null",
                          Excerpt(script, command), found->why),
              fmt::format("{}; or give the block the 'interactive' attribute to run it at the "
                          "operator's terminal",
                          found->hint)));
}

}  // namespace

void LintTerminal(const LintScript& script, const ShellScript& shell, Diagnostics& out) {
  for (size_t i = 0; i < shell.commands.size(); ++i) {
    CheckNeverEnds(script, shell, i, out);
    if (!script.interactive) CheckNeedsTerminal(script, shell.commands[i], out);
  }
}

}  // namespace stagecraft::runbook
