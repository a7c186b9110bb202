#pragma once

// Checks made before anything changes: the protected environment's confirmation, the
// secrets read from their sources, and the tools and interpreters the runbook requires.
// Each returns the problem that stops the run (exit 2), with the runbook line it is about.

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/observer.h"
#include "engine/prompter.h"
#include "engine/runner.h"
#include "runbook/model.h"

namespace stagecraft::engine {

// A protected environment runs only once its name is given (--confirm-env NAME, or typed
// at the prompter). `environment` may be null.
Status ConfirmEnvironment(const runbook::Environment* environment, const std::string& confirmed,
                          Prompter& prompter);

struct SecretValue {
  std::string name;
  std::string value;
};

// Reads every secret of the front matter from the process environment, a file, or a
// command run by `runner` (which may use the scope's variables).
Result<std::vector<SecretValue>> ResolveSecrets(const runbook::Runbook& runbook,
                                                const std::map<std::string, std::string>& env,
                                                Runner& runner);

// `requires:` tools (present, and at the version asked) and every interpreter the flow's
// blocks need; all problems, one a line. Versions found are noted (verbose).
Status CheckRequirements(const runbook::Runbook& runbook, Runner& runner, RunObserver& notes);

}  // namespace stagecraft::engine
