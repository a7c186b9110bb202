#include "runbook/command_needs.h"

#include <fmt/format.h>

#include <initializer_list>

namespace stagecraft::runbook {
namespace {

bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view candidate : words)
    if (word == candidate) return true;
  return false;
}

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

std::optional<TerminalNeed> Editor(const CommandWords& command) {
  std::string_view program = command.program();
  const char* hint = "write the file with a here-document (cat > FILE <<'EOF' ... EOF) or sed -i";
  if (OneOf(program, {"nano", "vim", "vi", "nvim", "pico", "joe", "mcedit"}) ||
      (program == "emacs" && !command.Has("--batch") && !command.Has("-batch")))
    return TerminalNeed{"it opens an editor", hint};
  if ((OneOf(program, {"kubectl", "oc", "systemctl"}) && command.subcommand() == "edit") ||
      (program == "crontab" && command.Has("-e")) || program == "visudo")
    return TerminalNeed{"it opens an editor",
                        "make the change with a command that takes it as input"};
  if (program == "git" && command.subcommand() == "commit" && !command.HasShort('m') &&
      !command.HasShort('F') && !command.HasShort('C') && !command.HasPrefix("--message") &&
      !command.HasPrefix("--file") && !command.Has("--no-edit"))
    return TerminalNeed{"it opens an editor for the message", "git commit -m 'message'"};
  return std::nullopt;
}

std::optional<TerminalNeed> Prompt(const ShellCommand& shell_command, const CommandWords& command) {
  std::string_view program = command.program();
  std::string_view sub = command.subcommand();
  if (HasInput(shell_command)) return std::nullopt;
  if (program == "read" && command.HasShort('p'))
    return TerminalNeed{"it waits for an answer",
                        "take the value from a variable (vars:, --var NAME=...) instead"};
  if (program == "terraform" && OneOf(sub, {"apply", "destroy"}) &&
      !command.HasPrefix("-auto-approve") && !command.HasPrefix("--auto-approve") &&
      !(sub == "apply" && Operands(command, "") > 1))
    return TerminalNeed{"it asks for approval",
                        "apply a saved plan (terraform plan -out=tfplan, then terraform apply "
                        "tfplan), or add -auto-approve behind a 'confirm' gate"};
  if (program == "aws" && sub == "configure" && Operands(command, "") == 1)
    return TerminalNeed{"it asks for credentials",
                        "aws configure set KEY VALUE, or AWS_* variables"};
  const char* sql_hint = "give it the SQL: -c '...' (mysql: -e), -f FILE, or a here-document";
  if (program == "psql" && !command.HasShort('c') && !command.HasShort('f') &&
      !command.HasShort('l') && !command.HasShort('V') && !command.HasPrefix("--command") &&
      !command.HasPrefix("--file") && !command.Has("--list") && !command.Has("--version") &&
      !command.Has("--help"))
    return TerminalNeed{"it opens an interactive SQL prompt", sql_hint};
  if (OneOf(program, {"mysql", "mariadb"}) && !command.HasShort('e') &&
      !command.HasPrefix("--execute") && !command.Has("--version") && !command.HasShort('V'))
    return TerminalNeed{"it opens an interactive SQL prompt", sql_hint};
  if (program == "sqlite3" && Operands(command, "") < 2)
    return TerminalNeed{"it opens an interactive SQL prompt", sql_hint};
  if (program == "ssh" && Operands(command, "BbcDEeFIiJLlmOopQRSWw") == 1 &&
      !command.HasShort('N') && !command.HasShort('f'))
    return TerminalNeed{"it opens a remote shell", "give the command to run: ssh HOST 'command'"};
  return std::nullopt;
}

std::optional<TerminalNeed> FullScreen(const ShellCommand& shell_command,
                                       const CommandWords& command) {
  std::string_view program = command.program();
  if (OneOf(program, {"less", "more"}) && !shell_command.pipe_in && !shell_command.pipe_out)
    return TerminalNeed{"it is a pager", "show the file with cat, or its end with tail -n 100"};
  if ((program == "top" && !command.HasShort('b')) || program == "htop")
    return TerminalNeed{"it is a full-screen program", "take one snapshot: top -b -n 1"};
  if (command.Has("--interactive") || command.Has("--tty") ||
      (OneOf(program, {"docker", "podman", "kubectl", "oc"}) && command.HasShort('t') &&
       OneOf(command.subcommand(), {"run", "exec"})))
    return TerminalNeed{"it asks for a terminal (-t, --interactive)",
                        "drop -t/-it; pass input with -i and a pipe"};
  if (program == "git" &&
      ((command.subcommand() == "rebase" && command.HasShort('i')) ||
       (command.subcommand() == "add" && (command.HasShort('p') || command.HasShort('i')))))
    return TerminalNeed{"it is interactive", "name what to change on the command line"};
  return std::nullopt;
}

// The command as the author wrote it, on one line, for a message.
std::string Written(std::string_view code, const ShellCommand& command) {
  std::string_view text = code.substr(command.begin, EndOf(command) - command.begin);
  text = text.substr(0, text.find('\n'));
  if (text.size() <= 60) return std::string(text);
  return std::string(text.substr(0, 57)) + "...";
}

}  // namespace

bool NeverEnds(const ShellScript& shell, size_t index) {
  const ShellCommand& command = shell.commands[index];
  CommandWords words = Unwrap(command);
  return !words.empty() && !words.under_timeout && !command.background && Follows(words) &&
         !EndedByReader(shell, index);
}

std::optional<TerminalNeed> NeedsTerminal(const ShellCommand& command) {
  CommandWords words = Unwrap(command);
  if (words.empty()) return std::nullopt;
  std::optional<TerminalNeed> found = Editor(words);
  if (!found) found = Prompt(command, words);
  if (!found) found = FullScreen(command, words);
  return found;
}

bool IsShellInterpreter(std::string_view interpreter) {
  size_t slash = interpreter.rfind('/');
  std::string_view name =
      slash == std::string_view::npos ? interpreter : interpreter.substr(slash + 1);
  for (std::string_view shell : {"bash", "sh", "zsh", "ksh", "dash", "ash"})
    if (name == shell) return true;
  return false;
}

CommandNeeds ReadCommandNeeds(std::string_view interpreter, std::string_view code) {
  CommandNeeds needs;
  if (!IsShellInterpreter(interpreter)) return needs;
  ShellScript shell = ParseShell(code);
  for (size_t i = 0; i < shell.commands.size(); ++i) {
    const ShellCommand& command = shell.commands[i];
    // A command substitution's output is waited for: bounding it is the outer command's
    // business, and inserting a function call inside `$(...)` is no place for it.
    if (NeverEnds(shell, i) && !command.in_substitution) {
      needs.never_ending.push_back(command.words.front().begin);
      if (needs.first_never_ending.empty()) needs.first_never_ending = Written(code, command);
    }
    if (!needs.terminal) {
      needs.terminal = NeedsTerminal(command);
      if (needs.terminal) needs.terminal_command = Written(code, command);
    }
  }
  return needs;
}

std::string BoundStreams(std::string_view code, const std::vector<size_t>& offsets, Millis window) {
  // Whole milliseconds in the seconds `timeout` reads.
  std::string call =
      fmt::format("__sc_stream {}.{:03}s ", window.count() / 1000, window.count() % 1000);
  std::string bounded;
  size_t done = 0;
  for (size_t offset : offsets) {
    bounded.append(code.substr(done, offset - done));
    bounded += call;
    done = offset;
  }
  bounded.append(code.substr(done));
  return bounded;
}

}  // namespace stagecraft::runbook
