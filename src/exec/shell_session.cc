#include "exec/shell_session.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/work_tree.h"
#include "exec/masking.h"
#include "exec/shell_declarations.h"

namespace stagecraft::exec {
namespace {

// Runs with the block's environment; every path it touches comes in through __SC_*
// variables, never spliced into the text, so no value can change what the shell parses.
// The block first waits on fd 3 for the engine's go (see SpawnRequest::start_gate). The
// carried state arrives on fd 4 and leaves on fd 5 (moved out of the block's way first),
// both in-memory files: it holds values derived from secrets, which must never reach a disk.
//
// `cd` reads a guide as a person would: a relative directory that is not under $PWD is the
// one the shell is in already when $PWD ends with it (a guide repeats `cd app` in every
// section), else the first found under the runbook root or its parents up to the top of
// its git work tree ($__SC_TOP). `__sc_stream` bounds a command that never ends on its own
// (runbook/command_needs.h); `timeout --foreground` keeps it in the block's process group,
// so an interrupt or the block's own timeout still reaches it.
constexpr const char* kPrelude = R"BASH(
if [[ -n $__SC_GATE ]]; then
  IFS= read -r -n 1 -u 3 __sc_go || exit 125
  exec 3<&-
  unset __SC_GATE __sc_go
fi
source /dev/fd/4; exec 4<&-
__sc_find_dir() {
  local dir=$__SC_ROOT
  while :; do
    if [[ -d $dir/$1 ]]; then builtin printf '%s' "$dir/$1"; return 0; fi
    if [[ $dir == "$__SC_TOP" || $dir == / || -z $dir ]]; then return 1; fi
    dir=${dir%/*}
    dir=${dir:-/}
  done
}
cd() {
  local __sc_dir=${1%/}
  __sc_dir=${__sc_dir#./}
  if [[ $# -eq 1 && -n $__sc_dir && $1 != /* && $1 != - && $1 != '~'* && ! -d $1 ]]; then
    if [[ $PWD == */"$__sc_dir" ]]; then return 0; fi
    if __sc_dir=$(__sc_find_dir "$__sc_dir"); then
      builtin printf 'stagecraft: cd %s: not found in %s; using %s\n' "$1" "$PWD" "$__sc_dir" >&2
      builtin cd -- "$__sc_dir"
      return
    fi
  fi
  local __sc_status=0 __sc_error
  builtin cd "$@" 2>"$__SC_CD_ERR" || __sc_status=$?
  __sc_error=$(<"$__SC_CD_ERR")
  if [[ $__sc_status != 0 ]]; then
    builtin printf '%s: line %s: cd: %s\n' "${BASH_SOURCE[1]:-stagecraft}" "${BASH_LINENO[0]}" \
      "${__sc_error#*cd: }" >&2
    return $__sc_status
  fi
  if [[ -n $__sc_error ]]; then builtin printf '%s\n' "$__sc_error" >&2; fi
}
__sc_stream() {
  local __sc_window=$1 __sc_status=0
  shift
  timeout --foreground "$__sc_window" "$@" || __sc_status=$?
  if [[ $__sc_status == 124 ]]; then
    builtin printf 'stagecraft: stopped %s after its stream window (%s)\n' "$1" "$__sc_window" >&2
    return 0
  fi
  return $__sc_status
}
if [[ $__SC_INTERPRETER != bash ]]; then exec "$__SC_INTERPRETER" "$__SC_BLOCK" 5>&-; fi
exec {__sc_out}>&5 5>&-
trap '__sc_status=$?; { declare -p; builtin printf "\0"; declare -f; builtin printf "\0%s" "$PWD"; } >&"$__sc_out" 2>/dev/null; exit $__sc_status' EXIT
set -eo pipefail
source "$__SC_BLOCK"
)BASH";

// The fds the prelude reads the state from and writes it to.
constexpr int kStateInFd = kStartGateFd + 1;
constexpr int kStateOutFd = kStartGateFd + 2;

// An anonymous in-memory file: nothing on disk, gone with its last descriptor, even when
// the engine is killed.
class MemoryFile {
 public:
  explicit MemoryFile(const char* name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    // Kept above the fds the child gets, so setting those up cannot overwrite it.
    if (fd >= 0 && fd <= kStateOutFd) {
      fd_ = fcntl(fd, F_DUPFD_CLOEXEC, kStateOutFd + 1);
      close(fd);
    } else {
      fd_ = fd;
    }
  }
  ~MemoryFile() {
    if (fd_ >= 0) close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  int fd() const { return fd_; }
  bool Write(std::string_view text) const {
    while (!text.empty()) {
      ssize_t n = write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  std::string ReadAll() const {
    std::string contents;
    char buffer[64 * 1024];
    for (off_t at = 0;;) {
      ssize_t n = pread(fd_, buffer, sizeof buffer, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      contents.append(buffer, static_cast<size_t>(n));
      at += n;
    }
    return contents;
  }

 private:
  int fd_ = -1;
};

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
  env["__SC_ROOT"] = options_.root_dir;
  // How far up a relative `cd` may look for its directory.
  env["__SC_TOP"] = WorkTreeTop(options_.root_dir).value_or(options_.root_dir);
  env["STAGECRAFT_ROOT"] = options_.root_dir;
  env["__SC_BLOCK"] = block_path;
  // Where `cd` puts the builtin's complaint, to report it at the block's own line: bash
  // would name the line inside the wrapper function ("environment: line 10").
  env["__SC_CD_ERR"] = options_.state_dir + "/cd.err";
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
  MemoryFile state_in("stagecraft-state-in");
  MemoryFile state_out("stagecraft-state-out");
  if (state_in.fd() < 0 || state_out.fd() < 0 || !state_in.Write(state_) ||
      !state_in.Write(functions_)) {
    failed.error = fmt::format("cannot hold the shell state in memory: {}", std::strerror(errno));
    return failed;
  }
  if (!WriteWhole(block_path, request.code)) {
    failed.error = fmt::format("cannot write the block to {}: {}", dir, std::strerror(errno));
    return failed;
  }

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
  spawn.extra_fds = {{state_in.fd(), kStateInFd}, {state_out.fd(), kStateOutFd}};
  ProcessOutcome outcome = RunProcess(spawn);
  std::filesystem::remove(block_path);
  if (request.interpreter == "bash") TakeState(state_out.ReadAll(), !request.cwd);
  return outcome;
}

void ShellSession::TakeState(const std::string& dump, bool move_cwd) {
  // declarations NUL functions NUL cwd (bash values cannot hold NUL). A block killed
  // before its EXIT trap finished leaves the previous state in place, as a terminal whose
  // command was interrupted would.
  size_t first = dump.find('\0');
  size_t second = first == std::string::npos ? first : dump.find('\0', first + 1);
  if (second == std::string::npos) return;
  std::string kept;
  for (const ShellDeclaration& declaration :
       ParseDeclarations(std::string_view(dump).substr(0, first))) {
    if (IsSessionLocal(declaration) || secret_names_.count(declaration.name)) continue;
    kept += declaration.text;
    kept += '\n';
  }
  state_ = std::move(kept);
  functions_ = dump.substr(first + 1, second - first - 1);
  // A `cwd=` attribute moves only that block, not the session.
  std::string new_cwd = dump.substr(second + 1);
  if (move_cwd && !new_cwd.empty()) cwd_ = new_cwd;
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

bool ShellSession::InheritedUnchanged(const ShellDeclaration& declaration) const {
  if (!declaration.exported()) return false;
  auto inherited = options_.environment.find(declaration.name);
  return inherited != options_.environment.end() && inherited->second == DeclaredValue(declaration);
}

std::string ShellSession::PersistableState() const {
  std::string kept;
  for (const ShellDeclaration& declaration : ParseDeclarations(state_)) {
    // What the session inherited unchanged comes back from the environment on resume;
    // keeping it would copy the operator's whole environment into the journal.
    if (LooksSecret(declaration.name) || InheritedUnchanged(declaration)) continue;
    kept += declaration.text;
    kept += '\n';
  }
  return kept + functions_;
}

std::vector<std::string> ShellSession::WithheldVariables() const {
  std::vector<std::string> names;
  for (const ShellDeclaration& declaration : ParseDeclarations(state_))
    if (LooksSecret(declaration.name) && !InheritedUnchanged(declaration))
      names.push_back(declaration.name);
  return names;
}

void ShellSession::RestoreState(std::string state, std::string cwd) {
  state_ = std::move(state);
  cwd_ = std::move(cwd);
}

}  // namespace stagecraft::exec
