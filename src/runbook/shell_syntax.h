#pragma once

// A small reader of shell syntax for lint: enough of the POSIX/bash grammar to know which
// words form which simple command, where each stands (pipeline, `&&`/`||` list, `if`
// condition, command substitution) and whether `set -eo pipefail` — which every block
// runs under — would stop the script when it fails. Quotes, backslashes, `#` comments,
// line continuations, here-documents, `$(...)`, backticks, `${...}`, `$((...))`,
// `[[ ... ]]`, `case` patterns and the reserved words are understood, so text inside a
// string, a comment or a here-document body is never mistaken for a command.
//
// It does not expand anything and never fails: text it cannot make sense of (an
// unterminated quote) ends the script where it stands. Plain values; not thread-safe to
// share while being built, safe to read from several threads afterwards.

#include <string>
#include <string_view>
#include <vector>

namespace stagecraft::runbook {

struct ShellWord {
  // The word with quotes and backslashes removed; expansions ($VAR, $(...), `...`) are
  // kept as written, so "$HOME/x" gives $HOME/x.
  std::string text;
  size_t begin = 0;  // byte offsets of the word in the script
  size_t end = 0;
  bool quoted = false;  // some part of it was quoted or escaped
  // Something in it is expanded at run time ($, `) or is an unquoted glob (* ? [):
  // `text` is then not the value the command receives.
  bool expands = false;
  // A parameter expansion outside double quotes: the value is split and may vanish.
  bool unquoted_expansion = false;
  // A literal is a word whose value is `text` exactly.
  bool literal() const { return !expands; }
};

struct ShellRedirect {
  std::string op;  // < > >> >| <> <& >& &> &>> << <<- <<<
  int fd = -1;     // the descriptor written before the operator (2>), -1 when none
  size_t begin = 0;
  ShellWord target;  // the file, descriptor or here-document delimiter
  // A here-document: its body, where the body starts, and whether $ and ` in it expand
  // (an unquoted delimiter).
  bool heredoc = false;
  std::string body;
  size_t body_begin = 0;
  bool body_expands = false;
};

struct ShellCommand {
  std::vector<ShellWord> assignments;  // NAME=value words before the command name
  std::vector<ShellWord> words;        // the command name and its arguments
  std::vector<ShellRedirect> redirects;
  size_t begin = 0;  // offset of its first word, assignment or redirect
  // Under `set -e -o pipefail` a failure of this command stops the script (also inside a
  // subshell, a group or a loop body, and inside `X=$(...)`). False in an `if`/`while`
  // condition, before `&&`/`||`, after `!`, in the background, and in a command
  // substitution whose status is dropped (an argument of another command).
  bool checked = false;
  bool in_substitution = false;  // inside $(...), `...`, <(...) or >(...)
  bool pipe_in = false;          // its standard input is a pipe
  bool pipe_out = false;         // its standard output is a pipe
  bool background = false;       // started with `&`
  // The last command of the script at its top level: its status is the script's.
  bool last = false;
  // In the pipeline that ends the script (with pipefail, any of its commands decides the
  // script's status).
  bool final = false;
  // The words of the command as one line, for messages (joined with spaces).
  std::string Line() const;
  std::string_view name() const {
    return words.empty() ? std::string_view() : std::string_view(words.front().text);
  }
};

// `A && B` or `A || B`: the operator and the commands (indices into ShellScript::commands,
// nested ones included) of the operand before it and the one after it.
struct ShellAndOr {
  bool is_or = false;
  size_t offset = 0;
  size_t left_begin = 0, left_end = 0;  // [begin, end)
  size_t right_begin = 0, right_end = 0;
  // The right operand is a group or subshell (`|| { echo x; exit 1; }`), not one pipeline.
  bool right_is_compound = false;
};

struct ShellScript {
  std::vector<ShellCommand> commands;  // in the order the shell meets them
  std::vector<ShellAndOr> and_ors;
  // False when the text ended inside a quote, a substitution or a compound command: the
  // commands before that point are still listed.
  bool complete = true;
};

ShellScript ParseShell(std::string_view script);

}  // namespace stagecraft::runbook
