#include "cli/leftovers.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <thread>

namespace stagecraft::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string PidList(const std::vector<exec::ProcessInfo>& processes) {
  std::vector<std::string> pids;
  for (const exec::ProcessInfo& process : processes)
    pids.push_back(std::to_string(process.pid));
  return fmt::format("{}", fmt::join(pids, " "));
}

bool AllGoneWithin(const std::vector<exec::ProcessInfo>& processes,
                   std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    if (std::none_of(processes.begin(), processes.end(), exec::IsAlive)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::vector<Leftover> FindLeftovers(const std::vector<journal::AttemptRecord>& attempts,
                                    const std::vector<exec::ProcessInfo>& snapshot) {
  std::vector<Leftover> found;
  for (const journal::AttemptRecord& attempt : attempts) {
    if (attempt.ended_at || !attempt.process_group || *attempt.process_group <= 0) continue;
    auto group = static_cast<pid_t>(*attempt.process_group);
    auto start = static_cast<unsigned long long>(attempt.process_start.value_or(0));
    auto leader = std::find_if(snapshot.begin(), snapshot.end(),
                               [&](const exec::ProcessInfo& p) { return p.pid == group; });
    if (leader != snapshot.end() && leader->start_ticks != start) continue;
    // The step, not the block within it ("deploy", not "deploy/2"): that is what resume
    // decides about.
    Leftover leftover{attempt.parent_key.empty() ? attempt.step_key : attempt.parent_key, {}};
    for (const exec::ProcessInfo& process : snapshot)
      if (process.pgid == group && process.start_ticks >= start && !process.dead())
        leftover.processes.push_back(process);
    if (!leftover.processes.empty()) found.push_back(std::move(leftover));
  }
  return found;
}

bool HandleLeftovers(const journal::RunRecord& run,
                     const std::vector<journal::AttemptRecord>& attempts, bool kill,
                     std::chrono::milliseconds grace) {
  // Another machine's processes are out of sight; its pids mean nothing here.
  if (run.host != journal::CurrentIdentity().host) return true;
  std::vector<Leftover> leftovers = FindLeftovers(attempts, exec::ListProcesses());
  for (const Leftover& leftover : leftovers) {
    std::string pids = PidList(leftover.processes);
    if (!kill) {
      fmt::print(stderr,
                 "stagecraft: error: step {} of run {} is still running from the session that "
                 "was killed (pids {}); running anything now would overlap with it. Wait for it "
                 "to end or stop it, or pass --kill-leftovers\n",
                 leftover.step_key, run.id, pids);
      return false;
    }
    fmt::print(stderr,
               "stagecraft: step {} of run {} was still running from the session that was "
               "killed; stopping pids {} (--kill-leftovers)\n",
               leftover.step_key, run.id, pids);
    for (const exec::ProcessInfo& process : leftover.processes)
      exec::SignalProcess(process, SIGTERM);
    if (AllGoneWithin(leftover.processes, grace)) continue;
    // Looked up again: the group may have started processes since the first look.
    for (const Leftover& again : FindLeftovers(attempts, exec::ListProcesses()))
      for (const exec::ProcessInfo& process : again.processes)
        exec::SignalProcess(process, SIGKILL);
    AllGoneWithin(leftover.processes, std::chrono::milliseconds(2000));
  }
  leftovers = FindLeftovers(attempts, exec::ListProcesses());
  if (kill && !leftovers.empty()) {
    fmt::print(stderr, "stagecraft: error: pids {} of step {} are still there after SIGKILL\n",
               PidList(leftovers.front().processes), leftovers.front().step_key);
    return false;
  }
  return true;
}

}  // namespace stagecraft::cli
