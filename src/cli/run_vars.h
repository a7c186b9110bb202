#pragma once

// `--var NAME=value` on the commands that execute: parsing, and on `resume` and `rollback`
// the values the journal could not keep (secrets) given again.

#include <map>
#include <string>
#include <vector>

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

}  // namespace stagecraft::cli
