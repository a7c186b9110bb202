#pragma once

// Runs the real stagecraft binary for end-to-end tests and captures what it printed.

#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace stagecraft::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  long max_rss_kib = 0;  // peak resident memory of the stagecraft process
};

// A stagecraft process started in the background, for tests that signal it mid-run.
class RunningStagecraft {
 public:
  // `prefix` runs stagecraft through another program (AsUser).
  RunningStagecraft(const std::vector<std::string>& args, const std::string& cwd,
                    const std::vector<std::string>& prefix = {});
  ~RunningStagecraft();
  RunningStagecraft(const RunningStagecraft&) = delete;
  RunningStagecraft& operator=(const RunningStagecraft&) = delete;
  int pid() const { return pid_; }
  CommandResult Wait();

 private:
  int pid_ = -1;
  std::string out_path_;
  std::string err_path_;
  std::string capture_dir_;
};

// Waits up to `seconds` until no process has `text` in its environment: the steps a killed
// engine left running carry their scratch directory there (__SC_BLOCK), so a test that
// names the scratch directory's parent waits for the orphans to end.
bool WaitUntilNoProcessMentions(const std::string& text, double seconds);

// Waits up to `seconds` for `path` to exist.
bool WaitForFile(const std::string& path, double seconds);

// Runs `stagecraft ARGS...` in `cwd` (default: the tests/ directory) with stdin from
// /dev/null, as CI does.
CommandResult RunStagecraft(const std::vector<std::string>& args, const std::string& cwd = "");

// The same, keeping only the last `tail_bytes` of stdout, for commands that print more than
// a test should hold. It also keeps the test process small where peak memory is measured:
// a spawned child's peak resident memory starts at its parent's.
CommandResult RunStagecraftTail(const std::vector<std::string>& args, const std::string& cwd,
                                size_t tail_bytes);

// The same as the account `uid` (through setpriv; the caller must be root), for tests where
// permissions matter: root writes through them.
CommandResult RunStagecraftAs(unsigned uid, const std::vector<std::string>& args,
                              const std::string& cwd);

// The same as the account `name` with its groups (through setpriv; the caller must be root),
// for tests where who runs the command matters, not only what it may write.
// The prefix that runs a command as the account `name` with its groups.
std::vector<std::string> AsUser(const std::string& name);

CommandResult RunStagecraftAsUser(const std::string& name, const std::vector<std::string>& args,
                                  const std::string& cwd);

// How RunStagecraftPiped connects stagecraft, for tests of slow consoles and CI runners.
struct PipeOptions {
  // stdout is a pipe the test reads at most this fast; 0 reads as fast as it can.
  size_t stdout_bytes_per_second = 0;
  // stdin is a pipe that stays open and that nobody writes to, as some CI runners give.
  bool stdin_open_pipe = false;
  // stagecraft is killed with SIGKILL past this; exit_code is then -1.
  double timeout_seconds = 120;
};

// Runs `stagecraft ARGS...` in `cwd` with its stdout (and, if asked, stdin) on pipes.
CommandResult RunStagecraftPiped(const std::vector<std::string>& args, const std::string& cwd,
                                 const PipeOptions& options);

// Runs `stagecraft ARGS...` in `cwd` on a pseudo-terminal, as an operator at a terminal
// would: whenever the output shows answers[i].first (in order), answers[i].second is typed.
// `out` holds what the terminal showed (stdout and stderr together, with CRLF line ends);
// stagecraft is killed with SIGKILL after `timeout_seconds` (exit_code -1). `prefix` runs
// stagecraft through another program (AsUser).
CommandResult RunStagecraftOnTerminal(
    const std::vector<std::string>& args, const std::string& cwd,
    const std::vector<std::pair<std::string, std::string>>& answers, double timeout_seconds = 60,
    const std::vector<std::string>& prefix = {});

// The report a `run` wrote, from its `report: PATH (...)` line: PATH (report.html) with its
// extension replaced by `extension` ("json", "md", "junit.xml"), resolved against `cwd`.
// Empty when the output has no report line.
std::string ReportFile(const CommandResult& run, const std::string& cwd,
                       const std::string& extension);

std::string TestsDir();
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);

using stagecraft::testing::TempDir;

// Compares `actual` with tests/golden/NAME; with STAGECRAFT_UPDATE_GOLDEN=1 rewrites it.
// Returns an empty string on a match, else a message for the test failure.
std::string CompareWithGolden(const std::string& name, const std::string& actual);

}  // namespace stagecraft::testing
