#pragma once

// `--var NAME=value` on the commands that execute: parsing, and on `resume` and `rollback`
// the values the journal could not keep (secrets) given again.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/loading.h"
#include "engine/engine.h"
#include "journal/records.h"

namespace stagecraft::cli {

// `--var NAME=value` flags into `vars`. False after printing the problem.
bool ParseVars(const std::vector<std::string>& assignments,
               std::map<std::string, std::string>& vars);

// Takes the values the journal could not keep from `--var` on the command line: secret
// `--var`s of the run and variables that held secrets it cannot re-derive. False after
// naming what is missing, or a `--var` the journal did not need.
bool TakeResuppliedVars(const journal::RunRecord& record, const std::vector<std::string>& given,
                        engine::EngineOptions& options);

// Gives the runbook's inputs (runbook/inputs.h) that the scope lacks a value, as more
// `--var`s in `options.cli_vars`: a default, a command run in `root`, or the operator's
// answer. `derived` gets the names whose value came from a default or a command. False
// after printing the first input nobody gave.
bool GiveInputs(const Loaded& loaded, const std::string& path, const std::string& root,
                engine::EngineOptions& options, std::set<std::string>& derived);

}  // namespace stagecraft::cli
