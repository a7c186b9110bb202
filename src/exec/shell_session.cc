#include "exec/shell_session.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exec/masking.h"
#include "exec/shell_declarations.h"

namespace stagecraft::exec {
namespace {

// Runs with the block's environment; every path it touches comes in through __SC_*
// variables, never spliced into the text, so no value can change what the shell parses.
constexpr const char* kPrelude = R"BASH(
if [[ -n $__SC_GATE ]]; then
  IFS= read -r -n 1 -u 3 __sc_go || exit 125
  exec 3<&-
  unset __SC_GATE __sc_go
fi
if [[ -s $__SC_STATE_IN ]]; then source "$__SC_STATE_IN"; fi
if [[ -s $__SC_FUNCS_IN ]]; then source "$__SC_FUNCS_IN"; fi
cd() {
  if [[ $# -eq 1 && -n $1 && $1 != /* && $1 != - && ! -d $1 && -d $__SC_ROOT/$1 ]]; then
    printf 'stagecraft: cd %s: not found in %s; using %s/%s (relative to the runbook root)\n' \
      "$1" "$PWD" "$__SC_ROOT" "$1" >&2
    builtin cd -- "$__SC_ROOT/$1"
  else
    local __sc_status=0 __sc_error
    builtin cd "$@" 2>"$__SC_CD_ERR" || __sc_status=$?
    __sc_error=$(<"$__SC_CD_ERR")
    if [[ $__sc_status != 0 ]]; then
      builtin printf '%s: line %s: cd: %s\n' "${BASH_SOURCE[1]:-stagecraft}" "${BASH_LINENO[0]}" \
        "${__sc_error#*cd: }" >&2
      return $__sc_status
    fi
    if [[ -n $__sc_error ]]; then builtin printf '%s\n' "$__sc_error" >&2; fi
  fi
}
if [[ $__SC_INTERPRETER != bash ]]; then exec "$__SC_INTERPRETER" "$__SC_BLOCK"; fi
trap '__sc_status=$?; declare -p >"$__SC_STATE_OUT" 2>/dev/null; declare -f >"$__SC_FUNCS_OUT" 2>/dev/null; builtin printf "%s" "$PWD" >"$__SC_CWD_OUT"; exit $__sc_status' EXIT
set -eo pipefail
source "$__SC_BLOCK"
)BASH";

std::string ReadWhole(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

bool WriteWhole(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  return static_cast<bool>(file);
}

}  // namespace

ShellSession::ShellSession(ShellSessionOptions options)
    : options_(std::move(options)), cwd_(options_.root_dir) {}

std::vector<std::string> ShellSession::Environment(const std::string& block_path) const {
  std::map<std::string, std::string> env = options_.environment;
  const std::string& dir = options_.state_dir;
  env["__SC_ROOT"] = options_.root_dir;
  env["__SC_BLOCK"] = block_path;
  env["__SC_STATE_IN"] = dir + "/state.sh";
  env["__SC_FUNCS_IN"] = dir + "/functions.sh";
  env["__SC_STATE_OUT"] = dir + "/state.out";
  env["__SC_FUNCS_OUT"] = dir + "/functions.out";
  env["__SC_CWD_OUT"] = dir + "/cwd.out";
  // Where `cd` puts the builtin's complaint, to report it at the block's own line: bash
  // would name the line inside the wrapper function ("environment: line 10").
  env["__SC_CD_ERR"] = dir + "/cd.err";
  std::vector<std::string> list;
  list.reserve(env.size());
  for (const auto& [name, value] : env)
    list.push_back(name + "=" + value);
  return list;
}

ProcessOutcome ShellSession::Run(const BlockRequest& request) {
  const std::string& dir = options_.state_dir;
  std::string block_path = fmt::format("{}/block-{}", dir, ++block_counter_);
  ProcessOutcome failed;
  failed.kind = ProcessOutcome::Kind::kSpawnFailed;
  if (!WriteWhole(block_path, request.code) || !WriteWhole(dir + "/state.sh", state_) ||
      !WriteWhole(dir + "/functions.sh", functions_)) {
    failed.error = fmt::format("cannot write the block to {}: {}", dir, std::strerror(errno));
    return failed;
  }
  for (const char* stale : {"/state.out", "/functions.out", "/cwd.out"})
    std::filesystem::remove(dir + stale);

  std::string cwd = cwd_;
  if (request.cwd) {
    std::filesystem::path attribute(*request.cwd);
    cwd = attribute.is_absolute() ? attribute.string()
                                  : (std::filesystem::path(cwd_) / attribute).string();
  }
  std::vector<std::string> env = Environment(block_path);
  env.push_back("__SC_INTERPRETER=" + request.interpreter);

  SpawnRequest spawn;
  spawn.argv = {"bash", "--noprofile", "--norc", "-c", kPrelude, "stagecraft"};
  spawn.env = std::move(env);
  spawn.cwd = cwd;
  spawn.interactive = request.interactive;
  spawn.timeout = request.timeout;
  spawn.kill_grace = options_.kill_grace;
  spawn.sink = request.sink;
  spawn.on_started = request.on_started;
  // The block waits until the engine has journaled where it runs: an engine killed in
  // between must not leave behind a step nobody can find.
  spawn.start_gate = request.on_started && !request.interactive;
  if (spawn.start_gate) spawn.env.push_back("__SC_GATE=1");
  spawn.interrupts = options_.interrupts;
  ProcessOutcome outcome = RunProcess(spawn);
  std::filesystem::remove(block_path);

  // A block killed before its EXIT trap ran leaves the previous state in place, as a
  // terminal whose command was interrupted would.
  std::error_code ignored;
  if (request.interpreter == "bash" && std::filesystem::exists(dir + "/state.out", ignored)) {
    std::string kept;
    for (const ShellDeclaration& declaration : ParseDeclarations(ReadWhole(dir + "/state.out"))) {
      if (IsSessionLocal(declaration) || secret_names_.count(declaration.name)) continue;
      kept += declaration.text;
      kept += '\n';
    }
    state_ = std::move(kept);
    functions_ = ReadWhole(dir + "/functions.out");
    // A `cwd=` attribute moves only that block, not the session.
    std::string new_cwd = ReadWhole(dir + "/cwd.out");
    if (!request.cwd && !new_cwd.empty()) cwd_ = new_cwd;
  }
  return outcome;
}

void ShellSession::SetVariable(const std::string& name, const std::string& value) {
  state_ += ExportStatement(name, value);
  state_ += '\n';
}

void ShellSession::SetSecret(const std::string& name, const std::string& value) {
  options_.environment[name] = value;
  secret_names_.insert(name);
}

std::map<std::string, std::string> ShellSession::ExportedVariables() const {
  std::map<std::string, std::string> exported;
  for (const ShellDeclaration& declaration : ParseDeclarations(state_))
    if (declaration.exported()) exported[declaration.name] = DeclaredValue(declaration);
  return exported;
}

std::string ShellSession::PersistableState() const {
  std::string kept;
  for (const ShellDeclaration& declaration : ParseDeclarations(state_)) {
    if (LooksSecret(declaration.name)) continue;
    // What the session inherited unchanged comes back from the environment on resume;
    // keeping it would copy the operator's whole environment into the journal.
    if (declaration.exported()) {
      auto inherited = options_.environment.find(declaration.name);
      if (inherited != options_.environment.end() &&
          inherited->second == DeclaredValue(declaration))
        continue;
    }
    kept += declaration.text;
    kept += '\n';
  }
  return kept + functions_;
}

void ShellSession::RestoreState(std::string state, std::string cwd) {
  state_ = std::move(state);
  cwd_ = std::move(cwd);
}

}  // namespace stagecraft::exec
