#pragma once

// Where the session's shell stands as a runbook's blocks run, as far as their text tells.
// Blocks share one shell, so a `cd` carries on to the next block; the engine's `cd X` stays
// put when the shell already stands in a directory ending in X (docs/runbook-format.md,
// "Working directory"). One answer for lint (which file a path names) and the plan (where
// each step starts).

#include <map>
#include <string>
#include <string_view>

#include "runbook/lint_scripts.h"
#include "runbook/model.h"
#include "runbook/shell_syntax.h"

namespace stagecraft::runbook {

// `path` taken from `directory`, with "." and ".." parts resolved; "." for the directory
// itself.
std::string NormalPath(std::string_view directory, std::string_view path);

class WorkingDirectory {
 public:
  // Relative to the runbook's root ("." is the root), absolute, or, after a `cd` whose
  // directory only the run knows (cd "$DIR"), a name of its own starting with '?' that
  // matches nothing.
  const std::string& get() const { return current_; }
  bool known() const { return current_.empty() || current_[0] != '?'; }
  int line_unknown_since() const { return unknown_line_; }
  // Where the block of `script` runs: its `cwd` attribute, else where the session stands.
  std::string For(const LintScript& script) const;
  // Follows `command` if it is a `cd`; `line` is where it stands, for line_unknown_since().
  void Apply(const ShellCommand& command, int line = 0);

 private:
  std::string current_ = ".";
  int unknown_ = 0;
  int unknown_line_ = 0;
};

// Where each step of the flow (preflight, steps, success criteria) starts, for the steps
// that start elsewhere than the runbook's root: the directory, or the '?' name of one only
// the run knows, with the line of the `cd` that made it so.
struct StepDirectory {
  std::string path;
  bool known = true;
  int since_line = 0;  // !known: the line of the cd
};
std::map<const Step*, StepDirectory> StepDirectories(const Runbook& runbook);

}  // namespace stagecraft::runbook
