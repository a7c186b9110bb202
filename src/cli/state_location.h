#pragma once

// Where the state (journal and locks) of a command lives, resolved the same way by every
// command: --state, then STAGECRAFT_STATE, then the runbook's front matter `state:` (for
// commands given a runbook), then `.stagecraft/` at the top of the git work tree holding the
// runbook (or the current directory, for commands given a run id), else `.stagecraft/`
// beside the runbook (or in the current directory). So a runbook has one history, and one
// lock, from wherever it is started.

#include <optional>
#include <string>

#include "base/status.h"

namespace stagecraft::cli {

struct StateLocation {
  std::string dir;
  std::string source;  // how it was found, for messages: "--state", "STAGECRAFT_STATE"...
};

// For `run`: `flag` is --state ("" when not given), `runbook` the runbook's path and
// `front_matter` its `state:` (relative to the runbook's folder). An error (a URI, which
// this build cannot open) is printed by the caller and exits 2.
Result<StateLocation> StateForRunbook(const std::string& flag, const std::string& runbook,
                                      const std::optional<std::string>& front_matter);

// For the commands given a run id (resume, rollback, runs, show, logs, report, approve,
// reject, pending, unlock): the same without a runbook, from the current directory.
Result<StateLocation> StateForRuns(const std::string& flag);

// The --state option a command run from the current directory needs to reach `dir`, with a
// trailing space ("--state ../.stagecraft "), or "" when it finds `dir` on its own.
std::string StateOptionFor(const std::string& dir);

}  // namespace stagecraft::cli
