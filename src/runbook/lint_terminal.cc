#include <fmt/format.h>

#include <optional>

#include "base/text.h"
#include "runbook/command_needs.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

void CheckNeverEnds(const LintScript& script, const ShellScript& shell, size_t index,
                    Diagnostics& out) {
  const ShellCommand& command = shell.commands[index];
  CommandWords words = Unwrap(command);
  if (words.empty() || !NeverEnds(shell, index)) return;
  out.push_back(Finding(
      Severity::kWarning, script, words.words[0]->begin, "never-ends",
      fmt::format("'{}' never ends; a run stops it after its stream window ({})",
                  Excerpt(script, command), FormatDuration(kDefaultStreamWindow)),
      "show a bounded part instead (drop the follow flag: tail -n 100, --since 10m), or say how "
      "long it may run with the block attribute stream=DURATION"));
}

void CheckNeedsTerminal(const LintScript& script, const ShellCommand& command, Diagnostics& out) {
  std::optional<TerminalNeed> found = NeedsTerminal(command);
  if (!found) return;
  CommandWords words = Unwrap(command);
  out.push_back(
      Finding(Severity::kWarning, script, words.words[0]->begin, "needs-terminal",
              fmt::format("'{}' needs a terminal ({}): a run gives it the operator's terminal, "
                          "and without one (CI) the block becomes a manual step",
                          Excerpt(script, command), found->why),
              found->hint));
}

}  // namespace

void LintTerminal(const LintScript& script, const ShellScript& shell, Diagnostics& out) {
  for (size_t i = 0; i < shell.commands.size(); ++i) {
    // A `stream=` window is the author saying how long it runs.
    if (!script.streams) CheckNeverEnds(script, shell, i, out);
    if (!script.interactive) CheckNeedsTerminal(script, shell.commands[i], out);
  }
}

}  // namespace stagecraft::runbook
