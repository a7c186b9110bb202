#pragma once

// Read-only commands over the journal: `runs`, `show`, `logs`, `report`, and
// `unlock --force`.

#include <string>

namespace stagecraft::cli {

struct RunsFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  size_t limit = 20;
  bool json = false;
};

struct ShowFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  std::string run;
  bool json = false;
};

struct LogsFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  std::string run;
  std::string step;  // a step name (its items too) or an item key; empty = all
  bool follow = false;
  bool raw = false;  // the bytes as journaled, escape sequences included
};

struct UnlockFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  std::string lock_id;
  bool force = false;
};

struct ReportFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  std::string run;
  std::string format = "md";
  std::string output;  // "" or "-": standard output
};

int RunsCommand(const RunsFlags& flags);
// `stagecraft report RUN`: renders a journaled run in one format.
int ReportCommand(const ReportFlags& flags);
int ShowCommand(const ShowFlags& flags);
int LogsCommand(const LogsFlags& flags);
int UnlockCommand(const UnlockFlags& flags);

}  // namespace stagecraft::cli
