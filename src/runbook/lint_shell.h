#pragma once

// Lint's checks of the shell code a run executes, for hazards that only show at run time:
// each appends findings (with their ids, see docs/runbook-format.md section 18) to `out`.

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/lint_scripts.h"
#include "runbook/shell_syntax.h"

namespace stagecraft::runbook {

// grep-pipefail, hidden-failure: exit statuses that `set -eo pipefail` turns into
// surprises, or that a script throws away (lint_status.cc).
void LintExitStatus(const LintScript& script, const ShellScript& shell, Diagnostics& out);

// What the command checks need to know about the runbook.
struct LintContext {
  std::string root;  // the absolute directory blocks start in
  // Variables with a value: from the front matter, and from the blocks before the one
  // being checked.
  std::set<std::string> defined;
};

// absolute-cd, destructive, rm-empty-variable (lint_hazards.cc).
void LintCommandHazards(const LintScript& script, const ShellScript& shell,
                        const LintContext& context, Diagnostics& out);

// Adds the variables `shell` gives a value to `defined`: the session carries them to the
// blocks after it.
void AddDefinitions(const LintScript& script, const ShellScript& shell,
                    std::set<std::string>& defined);

// hidden-alternative: a comment such as `# Or …`, `# Alternatively …` or `# Option 2` in a
// block, after commands and before more of them: every command of a block runs, so the
// second way runs after the first (lint_alternatives.cc).
void LintHiddenAlternative(const LintScript& script, Diagnostics& out);

// never-ends, needs-terminal: commands that wait for ever or for someone to type
// (lint_terminal.cc).
void LintTerminal(const LintScript& script, const ShellScript& shell, Diagnostics& out);

// placeholder, placeholder-redirect: values the reader was meant to fill in, unless the
// front matter declares them as inputs (`declared`), which a run fills in (lint_placeholders.cc).
void LintPlaceholders(const LintScript& script, const ShellScript& shell,
                      const std::set<std::string>& declared, Diagnostics& out);

// read-before-write: a file read before the block that writes it (lint_files.cc). Scripts
// are added in document order, each with its parsed shell, which need not be kept after:
// only the files each command reads and writes are.
class FileOrder {
 public:
  FileOrder();
  ~FileOrder();
  void Add(size_t index, const LintScript& script, const ShellScript& shell);
  void Report(Diagnostics& out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stagecraft::runbook
