#pragma once

// What lint's shell checks share: a command's words with wrappers set aside (`sudo -u app
// kubectl delete ...` is kubectl), and how to build a finding at a spot of a script.

#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/lint_scripts.h"
#include "runbook/shell_syntax.h"

namespace stagecraft::runbook {

struct CommandWords {
  std::vector<const ShellWord*> words;  // words[0] is the program
  bool under_timeout = false;           // run by `timeout DURATION ...`

  bool empty() const { return words.empty(); }
  // The program's name without its directory ("/usr/bin/psql" is "psql").
  std::string_view program() const;
  // Word `i` (0 is the program), or "" past the end.
  std::string_view at(size_t i) const;
  // The first word after the program that is not an option ("apply" in terraform -chdir=x
  // apply), or "".
  std::string_view subcommand() const;
  bool Has(std::string_view word) const;
  bool HasPrefix(std::string_view prefix) const;
  // A short option letter among the words, alone or bundled: HasShort('f') for -f, -fn5, -rf.
  bool HasShort(char letter) const;
};

CommandWords Unwrap(const ShellCommand& command);

// Does this command change anything (files, services, cloud resources)? See
// docs/runbook-format.md, section 19.
bool CommandMutates(const std::vector<std::string>& words);
std::vector<std::string> Texts(const CommandWords& command);

// The command as the reader wrote it, on one line and shortened for a message.
std::string Excerpt(const LintScript& script, const ShellCommand& command);
// The same for the text between two offsets of the script.
std::string Excerpt(const LintScript& script, size_t begin, size_t end);
size_t EndOf(const ShellCommand& command);

Diagnostic Finding(Severity severity, const LintScript& script, size_t offset, std::string id,
                   std::string message, std::string hint);

}  // namespace stagecraft::runbook
