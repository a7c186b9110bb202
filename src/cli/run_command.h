#pragma once

// `stagecraft run`, `resume` and `rollback`: everything that executes blocks. Each takes the
// run lock, journals into the state directory, and ends by finishing the run record.

#include <string>
#include <vector>

namespace stagecraft::cli {

// Flags shared by the commands that execute blocks.
struct ExecutionFlags {
  std::string state_dir;     // --state, then as state_location.h resolves it
  std::string lock_timeout;  // "5m"; empty = fail at once when the lock is held
  // "30m": how long a gate nobody answered waits, attached, for `stagecraft approve`;
  // empty = the run is left waiting at once.
  std::string wait_for_approval;
  std::vector<std::string> approve;
  std::string on_failure;
  std::string confirm_env;
  bool yes = false;
  bool fsync = false;
  bool no_color = false;
  bool quiet = false;
  bool verbose = false;
  bool kill_leftovers = false;  // resume and rollback only
  // Alternatives to run instead of their groups' defaults. Empty on resume and
  // rollback: the run's own choices, as journaled, hold.
  std::vector<std::string> choose;
};

struct RunFlags {
  std::string path;
  std::string environment;
  std::vector<std::string> vars;
  bool dry_run = false;
  ExecutionFlags execution;
};

struct ResumeFlags {
  std::string run;  // id, prefix or "latest"
  bool rerun_interrupted = false;
  bool skip_interrupted = false;
  bool force = false;
  std::vector<std::string> vars;  // values the journal could not keep (secrets)
  ExecutionFlags execution;
};

struct RollbackFlags {
  std::string run;
  std::vector<std::string> vars;  // as for resume
  ExecutionFlags execution;
};

int RunCommand(RunFlags flags);
int ResumeCommand(const ResumeFlags& flags);
int RollbackCommand(const RollbackFlags& flags);

}  // namespace stagecraft::cli
