#include "cli/history.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "base/duration.h"
#include "base/text.h"
#include "cli/loading.h"
#include "cli/state.h"
#include "journal/lock.h"
#include "report/report.h"

namespace stagecraft::cli {
namespace {

std::string Duration(journal::TimeMs start, std::optional<journal::TimeMs> end) {
  if (!end) return "-";
  return FormatDuration(Millis(*end - start));
}

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// Prints rows as columns padded to the widest cell. Cells hold what runbooks and steps
// wrote, shown as TerminalSafe text.
void PrintTable(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows)
    for (auto& cell : row)
      cell = TerminalSafe(cell);
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    fmt::print("{}\n", line);
  }
}

// Journaled output on its way to a terminal, as TerminalSafe shows it. Output arrives in
// chunks: a UTF-8 character or a CRLF cut between two is held back until the rest comes.
class TerminalSafeWriter {
 public:
  void Write(std::string_view bytes) {
    pending_.append(bytes);
    size_t keep = IncompleteTail(pending_);
    std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - keep);
    Emit(ready);
    pending_.erase(0, ready.size());
  }
  void Flush() {
    Emit(pending_);
    pending_.clear();
  }

 private:
  // Bytes at the end of `text` that may be the start of a character or of "\r\n".
  static size_t IncompleteTail(std::string_view text) {
    if (!text.empty() && text.back() == '\r') return 1;
    for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
      unsigned char byte = static_cast<unsigned char>(text[text.size() - back]);
      if ((byte & 0xc0) != 0x80) {  // a lead byte (or ASCII) `back` bytes from the end
        size_t length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
        return length > back ? back : 0;
      }
    }
    return 0;
  }
  void Emit(std::string_view text) {
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      bool has_newline = end != std::string_view::npos;
      std::string_view line = text.substr(start, has_newline ? end - start : text.npos);
      if (has_newline && !line.empty() && line.back() == '\r') line.remove_suffix(1);
      AppendTerminalSafe(line, out);
      if (has_newline) out += '\n';
      start = has_newline ? end + 1 : text.size();
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }

  std::string pending_;
};

// Prints the error of a failed journal call; true when it succeeded.
template <typename Opened>
bool CheckOk(const Opened& opened) {
  if (opened.ok()) return true;
  fmt::print(stderr, "stagecraft: error: {}\n", opened.error());
  return false;
}

}  // namespace

int RunsCommand(const RunsFlags& flags) {
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!CheckOk(journal)) return kExitUsage;
  journal::RunQuery query;
  query.limit = flags.limit;
  auto runs = journal.value()->ListRuns(query);
  if (!CheckOk(runs)) return kExitUsage;
  if (flags.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& run : runs.value()) {
      nlohmann::json entry = {{"id", run.id},
                              {"status", DisplayStatus(run)},
                              {"runbook", run.runbook_path},
                              {"runbook_hash", run.runbook_hash},
                              {"environment", run.environment},
                              {"user", run.user},
                              {"host", run.host},
                              {"started_at", run.started_at},
                              {"title", run.options.value("title", "")}};
      entry["ended_at"] = run.ended_at ? nlohmann::json(*run.ended_at) : nlohmann::json();
      entry["exit_code"] = run.exit_code ? nlohmann::json(*run.exit_code) : nlohmann::json();
      list.push_back(std::move(entry));
    }
    fmt::print("{}\n", list.dump(2));
    return kExitOk;
  }
  if (runs.value().empty()) {
    fmt::print("no runs recorded in {}\n", flags.state_dir);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"RUN", "STATUS", "RUNBOOK", "ENV", "BY", "STARTED", "DURATION"}};
  for (const auto& run : runs.value())
    rows.push_back({run.id, DisplayStatus(run), run.runbook_path,
                    run.environment.empty() ? "-" : run.environment,
                    fmt::format("{}@{}", run.user, run.host), FormatTime(run.started_at),
                    Duration(run.started_at, run.ended_at)});
  PrintTable(rows);
  return kExitOk;
}

int ShowCommand(const ShowFlags& flags) {
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!CheckOk(journal)) return kExitUsage;
  auto id = ResolveRun(*journal.value(), flags.run);
  if (!CheckOk(id)) return kExitUsage;
  auto run = journal.value()->GetRun(id.value());
  auto steps = journal.value()->ListSteps(id.value());
  auto attempts = journal.value()->ListAttempts(id.value());
  auto approvals = journal.value()->ListApprovals(id.value());
  auto notifications = journal.value()->ListNotifications(id.value());
  if (!CheckOk(run) || !CheckOk(steps) || !CheckOk(attempts) || !CheckOk(approvals) ||
      !CheckOk(notifications))
    return kExitUsage;
  const journal::RunRecord& record = run.value();
  // The latest attempt of each key says how long it took and why it ended as it did.
  std::map<std::string, const journal::AttemptRecord*> latest;
  for (const auto& attempt : attempts.value())
    latest[attempt.step_key] = &attempt;

  if (flags.json) {
    nlohmann::json out = {{"id", record.id},
                          {"status", DisplayStatus(record)},
                          {"runbook", record.runbook_path},
                          {"runbook_hash", record.runbook_hash},
                          {"environment", record.environment},
                          {"user", record.user},
                          {"host", record.host},
                          {"started_at", record.started_at},
                          {"scope", record.scope.value("vars", nlohmann::json::object())}};
    out["ended_at"] = record.ended_at ? nlohmann::json(*record.ended_at) : nlohmann::json();
    out["exit_code"] = record.exit_code ? nlohmann::json(*record.exit_code) : nlohmann::json();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& step : steps.value()) {
      nlohmann::json entry = {
          {"key", step.key},
          {"parent", step.parent_key.empty() ? nlohmann::json() : nlohmann::json(step.parent_key)},
          {"ordinal", step.ordinal},
          {"title", step.title},
          {"phase", step.phase},
          {"kind", Name(step.kind)},
          {"status", Name(step.status)},
          {"attempts", step.attempts}};
      entry["budget_ms"] = step.budget_ms ? nlohmann::json(*step.budget_ms) : nlohmann::json();
      if (auto found = latest.find(step.key); found != latest.end()) {
        const journal::AttemptRecord& attempt = *found->second;
        entry["started_at"] = attempt.started_at;
        entry["ended_at"] = attempt.ended_at ? nlohmann::json(*attempt.ended_at) : nlohmann::json();
        entry["message"] = attempt.message;
        entry["detail"] = attempt.detail;
        entry["captures"] = attempt.captures;
      }
      list.push_back(std::move(entry));
    }
    out["steps"] = std::move(list);
    nlohmann::json approved = nlohmann::json::array();
    for (const auto& approval : approvals.value())
      approved.push_back({{"step", approval.step_key},
                          {"who", approval.who},
                          {"at", approval.at},
                          {"how", Name(approval.how)},
                          {"decision", Name(approval.decision)}});
    out["approvals"] = std::move(approved);
    nlohmann::json notified = nlohmann::json::array();
    for (const auto& notification : notifications.value())
      notified.push_back(
          {{"event", notification.event},
           {"target", notification.target},
           {"attempt", notification.attempt},
           {"at", notification.at},
           {"duration_ms", notification.duration_ms},
           {"http_status", notification.http_status ? nlohmann::json(*notification.http_status)
                                                    : nlohmann::json()},
           {"delivered", notification.delivered},
           {"error", notification.error}});
    out["notifications"] = std::move(notified);
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }

  // Paths, titles and names come from runbooks and environments: TerminalSafe all of them.
  fmt::print("Run        {}\n", record.id);
  fmt::print("Runbook    {}{}\n", TerminalSafe(record.runbook_path),
             record.options.contains("title")
                 ? fmt::format(" ({})", TerminalSafe(record.options.value("title", "")))
                 : "");
  if (!record.environment.empty()) fmt::print("Env        {}\n", TerminalSafe(record.environment));
  fmt::print("Status     {}{}\n", DisplayStatus(record),
             record.exit_code ? fmt::format(" (exit {})", *record.exit_code) : "");
  fmt::print("By         {}@{} (pid {})\n", TerminalSafe(record.user), TerminalSafe(record.host),
             record.pid);
  fmt::print("Started    {}\n", FormatTime(record.started_at));
  if (record.ended_at)
    fmt::print("Ended      {} ({})\n", FormatTime(*record.ended_at),
               Duration(record.started_at, record.ended_at));
  if (record.resumes) fmt::print("Resumed    {} time(s)\n", record.resumes);
  fmt::print("\n");
  std::vector<std::vector<std::string>> rows = {
      {"STEP", "KIND", "STATUS", "ATTEMPTS", "DURATION", "BUDGET", "NOTE"}};
  for (const auto& step : steps.value()) {
    bool item = !step.parent_key.empty();
    std::string duration = "-";
    std::string note;
    if (auto found = latest.find(step.key); found != latest.end()) {
      duration = Duration(found->second->started_at, found->second->ended_at);
      note = FirstLine(found->second->message);
    }
    if (note.empty() && item) note = step.title;
    if (note.size() > 70) note = note.substr(0, 67) + "...";
    rows.push_back({item ? "  " + step.key : step.key, std::string(Name(step.kind)),
                    std::string(Name(step.status)), std::to_string(step.attempts), duration,
                    step.budget_ms && !item ? FormatDuration(Millis(*step.budget_ms)) : "-", note});
  }
  PrintTable(rows);
  if (!approvals.value().empty()) {
    fmt::print("\nApprovals\n");
    for (const auto& approval : approvals.value())
      fmt::print("  {} {} by {} ({}) at {}\n", TerminalSafe(approval.step_key),
                 Name(approval.decision), TerminalSafe(approval.who), Name(approval.how),
                 FormatTime(approval.at));
  }
  if (!notifications.value().empty()) {
    fmt::print("\nNotifications\n");
    std::vector<std::vector<std::string>> sent = {
        {"  EVENT", "TARGET", "ATTEMPT", "DURATION", "RESULT"}};
    for (const auto& notification : notifications.value()) {
      std::string outcome = notification.error;
      if (notification.delivered)
        outcome = notification.http_status
                      ? fmt::format("delivered (HTTP {})", *notification.http_status)
                      : "delivered";
      sent.push_back({"  " + notification.event, notification.target,
                      notification.attempt ? std::to_string(notification.attempt) : "-",
                      FormatDuration(Millis(notification.duration_ms)), outcome});
    }
    PrintTable(sent);
  }
  return kExitOk;
}

int LogsCommand(const LogsFlags& flags) {
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!CheckOk(journal)) return kExitUsage;
  auto id = ResolveRun(*journal.value(), flags.run);
  if (!CheckOk(id)) return kExitUsage;
  // The step asked for and its items.
  std::set<std::string> wanted;
  if (!flags.step.empty()) {
    auto steps = journal.value()->ListSteps(id.value());
    if (!CheckOk(steps)) return kExitUsage;
    for (const auto& step : steps.value())
      if (step.key == flags.step || step.parent_key == flags.step) wanted.insert(step.key);
    if (!wanted.count(flags.step)) {
      fmt::print(stderr, "stagecraft: error: run {} has no step '{}' (stagecraft show {})\n",
                 id.value(), flags.step, id.value());
      return kExitUsage;
    }
  }
  journal::OutputQuery query;
  query.run_id = id.value();
  TerminalSafeWriter safe;
  auto print_new = [&]() -> Status {
    Status status = journal.value()->ReadOutput(query, [&](const journal::OutputChunk& chunk) {
      query.after_seq = chunk.seq;
      if (flags.step.empty() || wanted.count(chunk.step_key)) {
        if (flags.raw)
          std::fwrite(chunk.bytes.data(), 1, chunk.bytes.size(), stdout);
        else
          safe.Write(chunk.bytes);
      }
      return true;
    });
    return status;
  };
  Status status = print_new();
  if (!status.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", status.message());
    return kExitUsage;
  }
  std::fflush(stdout);
  while (flags.follow) {
    auto run = journal.value()->GetRun(id.value());
    if (!CheckOk(run)) return kExitUsage;
    // A run waiting attached at a gate goes on once someone approves it.
    bool finished = (run.value().status != RunStatus::kRunning || IsAbandoned(run.value())) &&
                    !IsWaitingAttached(run.value());
    // One more read after the run ends picks up what it wrote last.
    status = print_new();
    std::fflush(stdout);
    if (!status.ok()) {
      fmt::print(stderr, "stagecraft: error: {}\n", status.message());
      return kExitUsage;
    }
    if (finished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  safe.Flush();
  std::fflush(stdout);
  return kExitOk;
}

int ReportCommand(const ReportFlags& flags) {
  std::optional<report::Format> format = report::ParseFormat(flags.format);
  if (!format) {
    fmt::print(stderr, "stagecraft: error: unknown report format '{}' (md, html, json, junit)\n",
               flags.format);
    return kExitUsage;
  }
  auto journal = OpenJournal(flags.state_dir, /*create=*/false);
  if (!CheckOk(journal)) return kExitUsage;
  auto id = ResolveRun(*journal.value(), flags.run);
  if (!CheckOk(id)) return kExitUsage;
  std::string rendered;
  if (Status status = report::RenderReport(*journal.value(), id.value(), *format, rendered);
      !status.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", status.message());
    return kExitUsage;
  }
  if (flags.output.empty() || flags.output == "-") {
    std::fwrite(rendered.data(), 1, rendered.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitUsage;
  }
  FILE* file = std::fopen(flags.output.c_str(), "wb");
  bool ok = file && std::fwrite(rendered.data(), 1, rendered.size(), file) == rendered.size();
  int saved = errno;
  if (file) ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    fmt::print(stderr, "stagecraft: error: cannot write {}: {}\n", flags.output,
               std::strerror(saved));
    return kExitUsage;
  }
  return kExitOk;
}

int UnlockCommand(const UnlockFlags& flags) {
  if (!flags.force) {
    fmt::print(stderr,
               "stagecraft: error: unlock needs --force: releasing another run's lock lets a "
               "second run start beside it\n");
    return kExitUsage;
  }
  auto released = journal::RunLock::ForceUnlock(flags.state_dir, flags.lock_id);
  if (!released.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", released.error());
    return kExitUsage;
  }
  const journal::LockInfo& info = released.value();
  fmt::print("released lock {} on {} (run {}, {}@{}, pid {})\n", info.lock_id,
             TerminalSafe(info.key), info.run_id, info.user, info.host, info.pid);
  return kExitOk;
}

}  // namespace stagecraft::cli
