#include "cli/state.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace stagecraft::cli {

Result<std::unique_ptr<journal::SqliteJournal>> OpenJournal(const std::string& state_dir,
                                                            bool create, bool fsync) {
  std::error_code error;
  if (!create && !std::filesystem::exists(std::filesystem::path(state_dir) / "journal.db", error))
    return Status::Error(
        fmt::format("no runs recorded in {} (no journal.db there; the state is --state, else "
                    "STAGECRAFT_STATE, else .stagecraft at the top of the git work tree, else "
                    ".stagecraft beside the runbook)",
                    state_dir));
  journal::SqliteJournal::Options options;
  options.dir = state_dir;
  options.create = create;
  options.fsync_commits = fsync;
  auto opened = journal::SqliteJournal::Open(options);
  if (!opened.ok()) return opened.status();
  return std::move(opened.value());
}

Result<std::string> ResolveRun(journal::Journal& journal, const std::string& typed) {
  if (typed.empty() || typed == "latest") {
    journal::RunQuery query;
    query.limit = 1;
    auto runs = journal.ListRuns(query);
    if (!runs.ok()) return runs.status();
    if (runs.value().empty()) return Status::Error("no runs recorded yet");
    return runs.value().front().id;
  }
  return journal.ResolveRunId(typed);
}

bool IsAbandoned(const journal::RunRecord& run) {
  if (run.status != RunStatus::kRunning || run.pid <= 0) return false;
  if (run.host != journal::CurrentIdentity().host) return false;
  return journal::ProcessIsGone(run.pid);
}

bool IsWaitingAttached(const journal::RunRecord& run) {
  if (run.status != RunStatus::kWaiting || run.ended_at || run.pid <= 0) return false;
  return run.host == journal::CurrentIdentity().host && !journal::ProcessIsGone(run.pid);
}

std::string DisplayStatus(const journal::RunRecord& run) {
  if (IsAbandoned(run)) return "abandoned";
  return std::string(Name(run.status));
}

std::string FormatTime(journal::TimeMs at) {
  std::time_t seconds = static_cast<std::time_t>(at / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

}  // namespace stagecraft::cli
