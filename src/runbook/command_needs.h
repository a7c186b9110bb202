#pragma once

// What the commands of a block need that a plain run cannot give them: an end (`tail -f`,
// `kubectl logs -f`, `watch` run until stopped) or a terminal (editors, pagers, `read -p`,
// `psql` without a command). Lint warns about both; the engine bounds a never-ending
// command to a stream window and hands a block that needs a terminal the operator's
// terminal, or makes it a manual step when there is none. One reading for both, so what
// lint says is what a run does. Plain values.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "runbook/lint_commands.h"
#include "runbook/shell_syntax.h"

namespace stagecraft::runbook {

// How long a never-ending command runs when its block sets no `stream=` window.
inline constexpr Millis kDefaultStreamWindow{30'000};

// Does the command at `index` of `shell` run until something stops it? Not when `timeout`
// bounds it, it runs in the background, or a reader that stops early (`head`, `grep -m1`)
// ends the pipeline.
bool NeverEnds(const ShellScript& shell, size_t index);

struct TerminalNeed {
  std::string why;   // "it opens an editor"
  std::string hint;  // how to write it so that it needs none
};
std::optional<TerminalNeed> NeedsTerminal(const ShellCommand& command);

// Is this interpreter a shell, whose code the shell reader understands?
bool IsShellInterpreter(std::string_view interpreter);

// A block's code as a run sees it.
struct CommandNeeds {
  // Where each never-ending command starts (its first word after any NAME=value).
  std::vector<size_t> never_ending;
  std::string first_never_ending;  // that command's words, for messages; "" when none
  // The first command that needs a terminal: its words and why.
  std::string terminal_command;
  std::optional<TerminalNeed> terminal;
};
CommandNeeds ReadCommandNeeds(std::string_view interpreter, std::string_view code);

// `code` with each command at `offsets` run by the shell prelude's `__sc_stream`, which
// stops it after `window` and counts that as success. Offsets as ReadCommandNeeds gives
// them; the text on each line stays where it was, so line numbers keep their meaning.
std::string BoundStreams(std::string_view code, const std::vector<size_t>& offsets, Millis window);

}  // namespace stagecraft::runbook
