#include "cli/approvals.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "base/text.h"
#include "cli/loading.h"
#include "cli/state.h"
#include "cli/state_location.h"

namespace stagecraft::cli {
namespace {

// The account running this command: the approver. Not $USER, which anyone can set.
std::optional<std::string> Approver() {
  if (passwd* entry = getpwuid(geteuid()); entry && entry->pw_name) return entry->pw_name;
  return std::nullopt;
}

// The gate a run waits at: its last confirmation still open (the engine waits attached) or
// left waiting (the engine exited).
struct WaitingGate {
  std::string step;
  std::string question;
};

std::optional<WaitingGate> FindWaitingGate(journal::Journal& journal, const std::string& run_id) {
  auto attempts = journal.ListAttempts(run_id);
  if (!attempts.ok()) return std::nullopt;
  for (auto it = attempts->rbegin(); it != attempts->rend(); ++it) {
    if (it->kind != StepKind::kManual || it->parent_key.empty()) continue;
    bool open = it->status == StepStatus::kRunning && !it->ended_at;
    if (it->status != StepStatus::kWaiting && !open) return std::nullopt;
    return WaitingGate{it->parent_key, it->title};
  }
  return std::nullopt;
}

// The run, waiting at `step`, or nothing after printing why not.
std::optional<journal::RunRecord> WaitingRun(journal::Journal& journal,
                                             const DecisionFlags& flags) {
  auto id = ResolveRun(journal, flags.run);
  if (!id.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(id.error()));
    return std::nullopt;
  }
  auto run = journal.GetRun(id.value());
  if (!run.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(run.error()));
    return std::nullopt;
  }
  std::optional<WaitingGate> gate = FindWaitingGate(journal, run->id);
  if (run->status != RunStatus::kWaiting || !gate) {
    fmt::print(stderr, "stagecraft: error: run {} is not waiting for approval (it is {})\n",
               run->id, DisplayStatus(run.value()));
    return std::nullopt;
  }
  if (gate->step != flags.step) {
    fmt::print(stderr, "stagecraft: error: run {} waits at step {}, not {}\n", run->id,
               TerminalSafe(gate->step), TerminalSafe(flags.step));
    return std::nullopt;
  }
  auto approvals = journal.ListApprovals(run->id);
  if (!approvals.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(approvals.error()));
    return std::nullopt;
  }
  for (const journal::ApprovalRecord& decided : approvals.value()) {
    if (decided.how != ApprovalMethod::kCommand || decided.step_key != flags.step) continue;
    fmt::print(stderr, "stagecraft: error: step {} of run {} was already {} by {}\n",
               TerminalSafe(flags.step), run->id, Name(decided.decision),
               TerminalSafe(decided.who));
    return std::nullopt;
  }
  return run.value();
}

// Whether `who` may decide the gates of `step` in `run`; false after printing why not, naming
// who may. Without declared roles anyone who can write the journal may.
bool MayDecide(const journal::RunRecord& run, const std::string& step_name,
               const std::string& who) {
  auto loaded = LoadForExecution(run.runbook_path, "check who may approve");
  if (!loaded) return false;
  const runbook::Runbook& book = loaded->parsed.runbook;
  if (book.front_matter.approvers.empty()) return true;
  const runbook::Step* step = nullptr;
  for (const runbook::Step& each : book.steps)
    if (each.name == step_name) step = &each;
  std::string role = step ? GateRole(book, *step) : "";
  const runbook::ApproverRole* declared = book.FindRole(role);
  std::string may = declared ? fmt::format("step {} needs {}: {} may approve it", step_name, role,
                                           fmt::join(declared->accounts, ", "))
                             : fmt::format("step {} needs no role: anyone but {} may approve it",
                                           step_name, run.user);
  std::string starter = run.options.value("started_by", run.user);
  if (who == starter && !book.front_matter.allow_self_approval) {
    fmt::print(stderr,
               "stagecraft: error: {} started run {} and may not approve its gates "
               "(allow_self_approval is not set); {}\n",
               TerminalSafe(who), run.id, TerminalSafe(may));
    return false;
  }
  if (declared && std::find(declared->accounts.begin(), declared->accounts.end(), who) ==
                      declared->accounts.end()) {
    fmt::print(stderr, "stagecraft: error: {} is not {}; {}\n", TerminalSafe(who), role,
               TerminalSafe(may));
    return false;
  }
  KeepUntilExit(std::move(*loaded));
  return true;
}

// "DB owner" in a table names the role `db-owner`.
std::string RoleKey(std::string_view role) {
  std::string key = ToLower(Trim(role));
  std::replace(key.begin(), key.end(), ' ', '-');
  return key;
}

}  // namespace

std::string GateRole(const runbook::Runbook& book, const runbook::Step& step) {
  for (const runbook::Action& action : step.actions)
    if (action.attributes.confirm && !book.GateRole(step, &action).empty())
      return std::string(book.GateRole(step, &action));
  return std::string(book.GateRole(step, nullptr));
}

nlohmann::json SignOffOption(const runbook::Runbook& book) {
  nlohmann::json rows = nlohmann::json::array();
  for (const runbook::SignOffRole& role : book.sign_off) {
    nlohmann::json steps = nlohmann::json::array();
    for (const runbook::Step& step : book.steps) {
      std::string gate_role = GateRole(book, step);
      if (!gate_role.empty() && RoleKey(gate_role) == RoleKey(role.role))
        steps.push_back(step.name);
    }
    rows.push_back({{"role", role.role}, {"steps", steps}});
  }
  return rows;
}

int DecideCommand(const DecisionFlags& flags) {
  std::optional<std::string> who = Approver();
  if (!who) {
    fmt::print(stderr, "stagecraft: error: this account (uid {}) has no name to record\n",
               geteuid());
    return kExitUsage;
  }
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!journal.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(journal.error()));
    return kExitUsage;
  }
  std::optional<journal::RunRecord> run = WaitingRun(*journal.value(), flags);
  if (!run) return kExitUsage;
  if (!MayDecide(*run, flags.step, *who)) return kExitUsage;

  journal::ApprovalRecord record;
  record.run_id = run->id;
  record.step_key = flags.step;
  record.who = *who;
  record.how = ApprovalMethod::kCommand;
  record.decision = flags.reject ? ApprovalDecision::kRejected : ApprovalDecision::kApproved;
  record.comment = flags.comment;
  auto stored = journal.value()->RecordApproval(record);
  if (!stored.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot record the decision: {}\n",
               TerminalSafe(stored.error()));
    return kExitUsage;
  }
  fmt::print("{} step {} of run {} as {}\n", flags.reject ? "rejected" : "approved",
             TerminalSafe(flags.step), run->id, TerminalSafe(*who));
  // An engine still attached polls the journal; a detached run needs someone to go on.
  if (IsWaitingAttached(*run))
    fmt::print("the run waiting for it (pid {}) goes on by itself\n", run->pid);
  else
    fmt::print("continue the run with: stagecraft resume {}{}\n", StateOptionFor(flags.state_dir),
               run->id);
  return kExitOk;
}

int PendingCommand(const PendingFlags& flags) {
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!journal.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(journal.error()));
    return kExitUsage;
  }
  journal::RunQuery query;
  query.limit = 0;
  query.status = RunStatus::kWaiting;
  auto runs = journal.value()->ListRuns(query);
  if (!runs.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(runs.error()));
    return kExitUsage;
  }
  int listed = 0;
  for (const journal::RunRecord& run : runs.value()) {
    std::optional<WaitingGate> gate = FindWaitingGate(*journal.value(), run.id);
    if (!gate) continue;
    ++listed;
    fmt::print("run {} ({}, started by {}), step {}: {}\n  stagecraft approve {}{} {}\n", run.id,
               TerminalSafe(run.options.value("title", std::string())), TerminalSafe(run.user),
               TerminalSafe(gate->step), TerminalSafe(gate->question),
               StateOptionFor(flags.state_dir), run.id, TerminalSafe(gate->step));
  }
  if (listed == 0) fmt::print("no gate is waiting for approval in {}\n", flags.state_dir);
  return kExitOk;
}

}  // namespace stagecraft::cli
