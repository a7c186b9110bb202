#include "cli/run_vars.h"

#include <fmt/format.h>

#include <cstdio>
#include <set>

#include "base/text.h"
#include "engine/inputs.h"
#include "engine/prompter.h"
#include "runbook/walk.h"

namespace stagecraft::cli {

// `--var NAME=value` flags into `vars`. False after printing the problem.
bool ParseVars(const std::vector<std::string>& assignments,
               std::map<std::string, std::string>& vars) {
  for (const auto& assignment : assignments) {
    size_t equals = assignment.find('=');
    std::string name = assignment.substr(0, equals);
    if (equals == std::string::npos || !IsShellIdentifier(name)) {
      fmt::print(stderr, "stagecraft: error: --var expects NAME=value, got '{}'\n", assignment);
      return false;
    }
    vars[name] = assignment.substr(equals + 1);
  }
  return true;
}

// Takes the values the journal could not keep from `--var` on the command line: secret
// `--var`s of the run and variables that held secrets it cannot re-derive. False after
// naming what is missing, or a `--var` the journal did not need.
bool TakeResuppliedVars(const journal::RunRecord& record, const std::vector<std::string>& given,
                        engine::EngineOptions& options) {
  std::map<std::string, std::string> vars;
  if (!ParseVars(given, vars)) return false;
  std::set<std::string> secret_vars;
  std::set<std::string> needed;
  for (const auto& name : record.options.value("secret_vars", nlohmann::json::array()))
    if (name.is_string()) secret_vars.insert(name.get<std::string>());
  for (const auto& name : record.scope.value("unrestorable", nlohmann::json::array()))
    if (name.is_string()) needed.insert(name.get<std::string>());
  needed.insert(secret_vars.begin(), secret_vars.end());
  std::vector<std::string> missing;
  for (const auto& name : needed)
    if (!vars.count(name)) missing.push_back(name);
  for (const auto& [name, value] : vars) {
    if (!needed.count(name)) {
      fmt::print(stderr,
                 "stagecraft: error: --var {}: run {} kept the value of {}; only values its "
                 "journal could not keep can be given again ({})\n",
                 name, record.id, name,
                 needed.empty() ? "none" : fmt::format("{}", fmt::join(needed, ", ")));
      return false;
    }
    if (secret_vars.count(name))
      options.cli_vars[name] = value;
    else
      options.resupplied[name] = value;
  }
  if (missing.empty()) return true;
  fmt::print(stderr,
             "stagecraft: error: run {} needs {} again: the journal does not keep secrets and "
             "could not re-derive {}. Pass {} with --var NAME=value (the values the run had)\n",
             record.id, fmt::join(missing, ", "), missing.size() == 1 ? "it" : "them",
             missing.size() == 1 ? "it" : "each");
  return false;
}

bool GiveInputs(const Loaded& loaded, const std::string& path, const std::string& root,
                engine::EngineOptions& options, std::set<std::string>& derived) {
  const runbook::Runbook& book = loaded.parsed.runbook;
  engine::TerminalPrompter prompter;
  engine::InputSources sources;
  sources.prompter = &prompter;
  sources.run_command = [&](const std::string& command,
                            const std::map<std::string, std::string>& vars) {
    std::map<std::string, std::string> env = options.process_env;
    for (const auto& [name, value] : vars)
      env[name] = value;
    return engine::RunInputCommand(command, env, root);
  };
  auto resolved =
      engine::ResolveInputs(book, path, loaded.source->text(),
                            runbook::Scope(book, options.environment, options.cli_vars), sources);
  if (!resolved.ok()) {
    fmt::print(stderr, "{}\n", resolved.error());
    return false;
  }
  for (const auto& [name, value] : resolved.value().values)
    options.cli_vars[name] = value;
  derived = resolved.value().derived;
  return true;
}

}  // namespace stagecraft::cli
