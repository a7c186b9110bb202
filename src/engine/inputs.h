#pragma once

// Giving a run's inputs (runbook/inputs.h) their values before its first step: from the
// scope (--var, the environment's and the front matter's vars), else the front matter's
// `default` or `command`, else the operator at a terminal. A run never stops half-way for
// a value it could have asked for at the start. Single-threaded.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/prompter.h"
#include "runbook/model.h"

namespace stagecraft::engine {

struct InputSources {
  // Runs an input's `command:` with the scope and the inputs resolved before it as its
  // variables, and returns its standard output, trailing newlines removed.
  std::function<Result<std::string>(const std::string& command,
                                    const std::map<std::string, std::string>& vars)>
      run_command;
  Prompter* prompter = nullptr;  // null: nobody to ask
};

struct ResolvedInputs {
  // The inputs the scope did not hold, with the values found for them.
  std::map<std::string, std::string> values;
  // Those that came from a default or a command: a resume computes them again.
  std::set<std::string> derived;
};

// Every input of ListInputs() that `scope` lacks, resolved. The error is the first input
// nobody gave, as `path:line:col: error: ...` at its first use (or its declaration), saying
// how to give it. `source` is the runbook's text, for the column.
Result<ResolvedInputs> ResolveInputs(const runbook::Runbook& runbook, std::string_view path,
                                     std::string_view source,
                                     const std::map<std::string, std::string>& scope,
                                     const InputSources& sources);

// `command` run by bash in `cwd` with exactly `env`, for at most a minute.
Result<std::string> RunInputCommand(const std::string& command,
                                    const std::map<std::string, std::string>& env,
                                    const std::string& cwd);

}  // namespace stagecraft::engine
