#pragma once

// Runs a runbook's blocks as if they were typed into one terminal: shell variables
// (exported or not), functions and the working directory carry from one block to the
// next, although every block is its own process (so it can be timed out, killed and
// journaled on its own).
//
// How: each bash block runs as `bash -c PRELUDE` which sources the previous block's
// `declare -p` / `declare -f` dump, defines the root-relative `cd`, runs the block with
// `set -eo pipefail`, and dumps its state again from an EXIT trap. The dumps travel through
// in-memory files (memfd) handed to the block as fds 4 and 5 (fd 3 is the start gate), never
// through the scratch directory: they hold values derived from secrets, and a killed engine must
// leave none of them on disk. The scratch directory only holds the block's code. Blocks in other
// interpreters (python3, node, sh...) are exec'd from that same prelude, so they see the
// carried exported variables and working directory but cannot change them.
//
// Not thread-safe: one session runs one block at a time.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/subprocess.h"

namespace stagecraft::exec {

struct ShellDeclaration;  // shell_declarations.h

struct ShellSessionOptions {
  std::string root_dir;   // where relative `cd`s fall back to; also the first cwd
  std::string state_dir;  // private scratch directory for the blocks' code
  // Environment every block starts from: the engine's own plus the runbook's scope.
  std::map<std::string, std::string> environment;
  const InterruptWatcher* interrupts = nullptr;  // not owned
  Millis kill_grace{5000};
};

struct BlockRequest {
  std::string interpreter;  // "bash", "sh", "python3", ...
  std::string code;
  std::optional<std::string> cwd;  // `cwd=` attribute, relative to the session's cwd
  std::optional<Millis> timeout;
  bool interactive = false;
  OutputSink* sink = nullptr;  // not owned
  StartedCallback on_started;  // see SpawnRequest
};

class ShellSession {
 public:
  explicit ShellSession(ShellSessionOptions options);
  ShellSession(const ShellSession&) = delete;
  ShellSession& operator=(const ShellSession&) = delete;

  ProcessOutcome Run(const BlockRequest& request);

  // Exports NAME=value to every later block (captures use this). Overrides a value the
  // blocks set themselves.
  void SetVariable(const std::string& name, const std::string& value);

  // Exports a secret to every later block through the environment only: it is never kept
  // in state(), which may be written to disk, even when a block re-exports it.
  void SetSecret(const std::string& name, const std::string& value);

  const std::string& cwd() const { return cwd_; }
  // Exported variables as the last bash block left them (values unescaped).
  std::map<std::string, std::string> ExportedVariables() const;
  // The carried declarations, re-sourceable; for dry runs and resume.
  const std::string& state() const { return state_; }
  // What a journal may keep to resume the session later: the carried declarations minus
  // any whose name looks secret, plus the functions. Values of declared secrets are never
  // part of it; the caller still masks it for secrets that hide under innocent names.
  std::string PersistableState() const;
  // The variables PersistableState() leaves out because their name looks secret (minus
  // those inherited unchanged, which the environment gives back): a resume lacks them.
  std::vector<std::string> WithheldVariables() const;
  void RestoreState(std::string state, std::string cwd);

 private:
  std::vector<std::string> Environment(const std::string& block_path) const;
  bool InheritedUnchanged(const ShellDeclaration& declaration) const;
  // Takes over the state a bash block's EXIT trap dumped.
  void TakeState(const std::string& dump, bool move_cwd);

  ShellSessionOptions options_;
  std::string cwd_;
  std::string state_;      // filtered `declare -p` output plus captures
  std::string functions_;  // `declare -f` output
  std::set<std::string> secret_names_;
  int block_counter_ = 0;
};

}  // namespace stagecraft::exec
