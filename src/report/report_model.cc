#include "report/report_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <time.h>

#include <algorithm>
#include <unordered_map>

#include "base/duration.h"
#include "report/escape.h"

namespace stagecraft::report {
namespace {

// `index` is the record's place in the journal's listing order.
Entry MakeEntry(const journal::StepRecord& record, int index, bool run_finished) {
  Entry entry;
  entry.key = SanitizeText(record.key);
  entry.index = index;
  entry.kind = record.kind;
  entry.title = SanitizeText(record.title);
  entry.phase = SanitizeText(record.phase);
  entry.budget_ms = record.budget_ms;
  entry.status = record.status;
  entry.mark = MarkFor(record.status, run_finished);
  return entry;
}

Attempt MakeAttempt(const journal::AttemptRecord& record) {
  Attempt attempt;
  attempt.number = record.attempt;
  attempt.status = record.status;
  attempt.started_at = record.started_at;
  attempt.ended_at = record.ended_at;
  attempt.exit_code = record.exit_code;
  attempt.signal = record.signal;
  attempt.summary = SanitizeText(record.message);
  attempt.detail = SanitizeText(record.detail);
  // Diff lines each end in a newline; renderers add their own line breaks.
  while (!attempt.detail.empty() && attempt.detail.back() == '\n')
    attempt.detail.pop_back();
  attempt.captures = record.captures;
  return attempt;
}

// Collects the output of the attempt whose chunks are streaming in, keeping its tail.
// Chunks of one attempt arrive together (the engine runs one block at a time), so one
// buffer serves every attempt in turn and its memory is reused instead of faulted in
// again: at 100 MiB of output that is most of what loading costs. An attempt whose
// chunks come back after another's (interleaved output) gets them appended to what it
// already has.
class OutputCollector {
 public:
  explicit OutputCollector(const LoadOptions& options) : options_(options) {}

  // `skipped` bytes of the attempt's output were left out by the journal just before
  // `chunk` (they lie before the tail, see OutputQuery::tail_bytes).
  void Add(Attempt& attempt, const std::string& chunk, int64_t skipped) {
    attempt.output_bytes += skipped + static_cast<int64_t>(chunk.size());
    if (&attempt != current_) {
      Finish();
      current_ = &attempt;
    }
    if (skipped > 0) {
      bytes_.clear();
      cut_ = true;
    }
    const size_t limit = options_.output_tail_bytes;
    if (limit == 0) {
      attempt.output_cut = true;
      return;
    }
    if (chunk.size() >= limit) {
      // Only the chunk's own tail can survive.
      bytes_.assign(chunk, chunk.size() - limit, limit);
      cut_ = true;
      return;
    }
    bytes_ += chunk;
    if (bytes_.size() > 2 * limit) {
      bytes_.erase(0, bytes_.size() - limit);
      cut_ = true;
    }
  }

  // Sanitizes and stores the current attempt's tail.
  void Finish() {
    if (!current_) return;
    Attempt& attempt = *current_;
    current_ = nullptr;
    std::string text = SanitizeText(bytes_);
    bytes_.clear();  // keeps its capacity for the next attempt
    bool cut = cut_;
    cut_ = false;
    if (!attempt.output.empty()) text.insert(0, attempt.output);
    std::string_view kept(text);
    if (kept.size() > options_.output_tail_bytes) {
      kept.remove_prefix(kept.size() - options_.output_tail_bytes);
      cut = true;
    }
    if (cut) {
      // Start at a whole line rather than in the middle of one (or of a character).
      size_t newline = kept.find('\n');
      if (newline != std::string_view::npos && newline + 1 < kept.size())
        kept.remove_prefix(newline + 1);
    }
    if (options_.output_tail_lines) {
      size_t lines = 0;
      size_t begin = kept.size();
      // A trailing newline ends the last line rather than starting another.
      size_t end = !kept.empty() && kept.back() == '\n' ? kept.size() - 1 : kept.size();
      while (end > 0) {
        size_t newline = kept.rfind('\n', end - 1);
        if (++lines > options_.output_tail_lines) break;
        begin = newline == std::string_view::npos ? 0 : newline + 1;
        if (newline == std::string_view::npos) break;
        end = newline;
      }
      if (begin > 0 && lines > options_.output_tail_lines) {
        kept.remove_prefix(begin);
        cut = true;
      }
    }
    attempt.output = kept.size() == text.size() ? std::move(text) : std::string(kept);
    attempt.output_cut = attempt.output_cut || cut;
  }

 private:
  const LoadOptions& options_;
  Attempt* current_ = nullptr;
  std::string bytes_;
  bool cut_ = false;
};

void Count(const Report& report, Counts& steps, Counts& checks, Counts& rollbacks) {
  for (const Phase& phase : report.phases) {
    for (const Step& step : phase.steps) {
      steps.Add(step.mark);
      for (const Entry& item : step.items)
        if (item.kind == StepKind::kCheck || item.kind == StepKind::kVerification ||
            item.kind == StepKind::kManual)
          checks.Add(item.mark);
    }
  }
  for (const Entry& entry : report.rollback)
    rollbacks.Add(entry.mark);
}

std::string FileName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The latest decision about `step`'s gates: one taken with `stagecraft approve` (keyed by the
// step) or one the engine recorded for an item of it.
std::optional<journal::ApprovalRecord> DecisionFor(const Report& report, const std::string& step) {
  std::optional<journal::ApprovalRecord> latest;
  auto consider = [&](const journal::ApprovalRecord& approval) {
    if (!latest || approval.id > latest->id) latest = approval;
  };
  for (const journal::ApprovalRecord& approval : report.approvals)
    if (approval.step_key == step) consider(approval);
  for (const Phase& phase : report.phases)
    for (const Step& each : phase.steps)
      if (each.key == step)
        for (const Entry& item : each.items)
          if (item.approval) consider(*item.approval);
  return latest;
}

// options.sign_off: [{"role": "db-owner", "steps": ["migrate"]}, ...], kept when the run began.
void FillSignOff(Report& report) {
  const nlohmann::json& run_options = report.run.options;
  if (!run_options.is_object() || !run_options.contains("sign_off")) return;
  const nlohmann::json& rows = run_options["sign_off"];
  if (!rows.is_array()) return;
  for (const nlohmann::json& row : rows) {
    if (!row.is_object() || !row.value("role", nlohmann::json()).is_string()) continue;
    SignOffRow sign_off;
    sign_off.role = SanitizeText(row["role"].get<std::string>());
    const nlohmann::json steps = row.value("steps", nlohmann::json::array());
    for (const nlohmann::json& step : steps) {
      if (!step.is_string()) continue;
      std::optional<journal::ApprovalRecord> decision =
          DecisionFor(report, step.get<std::string>());
      if (decision && (!sign_off.decision || decision->id > sign_off.decision->id))
        sign_off.decision = decision;
    }
    report.sign_off.push_back(std::move(sign_off));
  }
}

}  // namespace

std::string_view MarkEmoji(StepStatus mark) {
  switch (mark) {
    case StepStatus::kSucceeded:
      return "✅";
    case StepStatus::kFailed:
      return "❌";
    case StepStatus::kSkipped:
      return "⏭";
    case StepStatus::kApproved:
      return "✋";
    case StepStatus::kPending:
      return "⏸";
    case StepStatus::kInterrupted:
      return "⚠";
    case StepStatus::kRunning:
      return "⏳";
    case StepStatus::kWaiting:
      return "✋";
  }
  return "?";
}

std::string_view MarkName(StepStatus mark) {
  switch (mark) {
    case StepStatus::kSucceeded:
      return "passed";
    case StepStatus::kApproved:
      return "confirmed";
    case StepStatus::kPending:
      return "not reached";
    default:
      return Name(mark);
  }
}

std::string_view MarkId(StepStatus mark) {
  return mark == StepStatus::kPending ? "not_reached" : MarkName(mark);
}

StepStatus MarkFor(StepStatus status, bool run_finished) {
  return status == StepStatus::kRunning && run_finished ? StepStatus::kInterrupted : status;
}

std::optional<int64_t> Attempt::duration_ms() const {
  if (!ended_at) return std::nullopt;
  return std::max<int64_t>(0, *ended_at - started_at);
}

std::optional<TimeMs> Entry::started_at() const {
  if (attempts.empty()) return std::nullopt;
  return attempts.front().started_at;
}

std::optional<TimeMs> Entry::ended_at() const {
  if (attempts.empty()) return std::nullopt;
  return attempts.back().ended_at;
}

std::optional<int64_t> Entry::duration_ms() const {
  std::optional<int64_t> total;
  for (const Attempt& attempt : attempts)
    if (auto ms = attempt.duration_ms()) total = total.value_or(0) + *ms;
  return total;
}

bool Entry::over_budget() const {
  auto ms = duration_ms();
  return budget_ms && ms && *ms > *budget_ms;
}

int64_t Entry::output_bytes() const {
  int64_t total = 0;
  for (const Attempt& attempt : attempts)
    total += attempt.output_bytes;
  return total;
}

int Step::max_attempts() const {
  int most = static_cast<int>(attempts.size());
  for (const Entry& item : items)
    most = std::max(most, static_cast<int>(item.attempts.size()));
  return most;
}

std::optional<int64_t> Phase::budget_ms() const {
  std::optional<int64_t> total;
  for (const Step& step : steps)
    if (step.budget_ms) total = total.value_or(0) + *step.budget_ms;
  return total;
}

std::optional<TimeMs> Phase::started_at() const {
  std::optional<TimeMs> first;
  for (const Step& step : steps)
    if (auto at = step.started_at(); at && (!first || *at < *first)) first = at;
  return first;
}

std::optional<TimeMs> Phase::ended_at() const {
  std::optional<TimeMs> last;
  for (const Step& step : steps)
    if (auto at = step.ended_at(); at && (!last || *at > *last)) last = at;
  return last;
}

std::optional<int64_t> Phase::duration_ms() const {
  auto begin = started_at();
  auto end = ended_at();
  if (!begin || !end) return std::nullopt;
  return std::max<int64_t>(0, *end - *begin);
}

bool Phase::over_budget() const {
  auto budget = budget_ms();
  auto ms = duration_ms();
  return budget && ms && *ms > *budget;
}

std::optional<int64_t> Report::duration_ms() const {
  if (!run.ended_at) return std::nullopt;
  return std::max<int64_t>(0, *run.ended_at - run.started_at);
}

const Entry* Report::Find(const std::string& key) const {
  for (const Phase& phase : phases) {
    for (const Step& step : phase.steps) {
      if (step.key == key) return &step;
      for (const Entry& item : step.items)
        if (item.key == key) return &item;
    }
  }
  return nullptr;
}

Result<Report> LoadReport(journal::Journal& journal, const std::string& run_id,
                          const LoadOptions& options) {
  Result<journal::RunRecord> run = journal.GetRun(run_id);
  if (!run.ok()) return run.status();
  Result<std::vector<journal::StepRecord>> records = journal.ListSteps(run_id);
  if (!records.ok()) return records.status();
  Result<std::vector<journal::AttemptRecord>> attempt_records = journal.ListAttempts(run_id);
  if (!attempt_records.ok()) return attempt_records.status();
  Result<std::vector<journal::ApprovalRecord>> approvals = journal.ListApprovals(run_id);
  if (!approvals.ok()) return approvals.status();

  Report report;
  report.run = std::move(run).value();
  const bool finished = IsFinished(report.run.status);
  const nlohmann::json& run_options = report.run.options;
  if (run_options.is_object()) {
    auto title = run_options.find("title");
    if (title != run_options.end() && title->is_string())
      report.title = SanitizeText(title->get<std::string>());
    auto commit = run_options.find("git_commit");
    if (commit != run_options.end() && commit->is_string())
      report.git_commit = SanitizeText(commit->get<std::string>());
  }
  if (report.title.empty()) report.title = SanitizeText(FileName(report.run.runbook_path));
  for (journal::ApprovalRecord approval : *approvals) {
    approval.who = SanitizeText(approval.who);
    approval.comment = SanitizeText(approval.comment);
    report.approvals.push_back(std::move(approval));
  }

  // Entries by key while assembling; pointers stay valid because every vector is sized
  // before pointers into it are taken.
  std::vector<journal::StepRecord>& steps = *records;
  std::unordered_map<std::string, size_t> step_of_key;  // step-level key -> steps index
  std::vector<Step> flat_steps;
  std::vector<Entry> rollback;
  // Items of each step, and the step index of each item record (or npos for orphans).
  std::vector<std::vector<Entry>> items_of;
  for (size_t i = 0; i < steps.size(); ++i) {
    const journal::StepRecord& record = steps[i];
    if (!journal::IsFlowStep(record)) continue;
    step_of_key.emplace(record.key, flat_steps.size());
    Step step;
    static_cast<Entry&>(step) = MakeEntry(record, static_cast<int>(i), finished);
    flat_steps.push_back(std::move(step));
  }
  items_of.resize(flat_steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const journal::StepRecord& record = steps[i];
    const int index = static_cast<int>(i);
    if (IsRollbackKind(record.kind)) {
      rollback.push_back(MakeEntry(record, index, finished));
      continue;
    }
    if (record.parent_key.empty()) continue;
    auto parent = step_of_key.find(record.parent_key);
    if (parent != step_of_key.end()) {
      items_of[parent->second].push_back(MakeEntry(record, index, finished));
    } else {
      Step orphan;
      static_cast<Entry&>(orphan) = MakeEntry(record, index, finished);
      flat_steps.push_back(std::move(orphan));
      items_of.emplace_back();
    }
  }
  for (size_t i = 0; i < flat_steps.size(); ++i)
    flat_steps[i].items = std::move(items_of[i]);
  // Records come ordered by index; orphans were appended, so restore that order.
  std::stable_sort(flat_steps.begin(), flat_steps.end(),
                   [](const Step& a, const Step& b) { return a.index < b.index; });
  // Rollback records are not planned up front: they ran in the order of their indexes.
  std::stable_sort(rollback.begin(), rollback.end(),
                   [](const Entry& a, const Entry& b) { return a.index < b.index; });

  // Key -> entry, now that nothing moves any more.
  std::unordered_map<std::string, Entry*> by_key;
  by_key.reserve(steps.size());
  for (Step& step : flat_steps) {
    by_key[step.key] = &step;
    for (Entry& item : step.items)
      by_key[item.key] = &item;
  }
  for (Entry& entry : rollback)
    by_key[entry.key] = &entry;

  std::unordered_map<int64_t, Attempt*> attempt_by_id;
  // Attempts are grouped before pointers are taken: count them per entry first.
  for (const journal::AttemptRecord& record : *attempt_records) {
    auto entry = by_key.find(SanitizeText(record.step_key));
    if (entry == by_key.end()) continue;  // BeginAttempt plans its key, so this is rare
    entry->second->attempts.push_back(MakeAttempt(record));
  }
  {
    std::unordered_map<std::string, size_t> seen;
    for (const journal::AttemptRecord& record : *attempt_records) {
      auto entry = by_key.find(SanitizeText(record.step_key));
      if (entry == by_key.end()) continue;
      size_t n = seen[entry->first]++;
      attempt_by_id[record.id] = &entry->second->attempts[n];
    }
  }
  for (const journal::ApprovalRecord& approval : report.approvals) {
    auto entry = by_key.find(approval.step_key);
    if (entry != by_key.end()) entry->second->approval = approval;  // the latest wins
  }

  FillSignOff(report);

  OutputCollector collector(options);
  journal::OutputQuery query;
  query.run_id = run_id;
  query.tail_bytes = options.output_tail_bytes;
  Status read = journal.ReadOutput(query, [&](const journal::OutputChunk& chunk) {
    auto attempt = attempt_by_id.find(chunk.attempt_id);
    if (attempt != attempt_by_id.end())
      collector.Add(*attempt->second, chunk.bytes, chunk.skipped_before);
    return true;
  });
  if (!read.ok()) return read;
  collector.Finish();

  for (Step& step : flat_steps) {
    if (report.phases.empty() || report.phases.back().name != step.phase)
      report.phases.push_back(Phase{step.phase, {}});
    report.phases.back().steps.push_back(std::move(step));
  }
  report.rollback = std::move(rollback);
  Count(report, report.steps, report.checks, report.rollbacks);
  return report;
}

std::string MarkPhrase(const Entry& entry) {
  std::string phrase(MarkName(entry.mark));
  if (entry.mark == StepStatus::kApproved && entry.approval) {
    phrase = fmt::format("confirmed by {} at {}",
                         entry.approval->who.empty() ? "?" : entry.approval->who,
                         FormatTime(entry.approval->at));
    if (entry.approval->how == ApprovalMethod::kYesFlag) phrase += " (--yes)";
  }
  return phrase;
}

std::string RunStatusPhrase(const journal::RunRecord& run) {
  std::string phrase(Name(run.status));
  std::replace(phrase.begin(), phrase.end(), '_', ' ');
  if (run.exit_code) phrase += fmt::format(" (exit {})", *run.exit_code);
  return phrase;
}

std::string_view RunStatusEmoji(RunStatus status) {
  switch (status) {
    case RunStatus::kSucceeded:
      return "✅";
    case RunStatus::kRunning:
      return "⏳";
    case RunStatus::kWaiting:
      return "✋";
    case RunStatus::kInterrupted:
    case RunStatus::kStopped:
      return "⚠";
    case RunStatus::kFailed:
    case RunStatus::kRolledBack:
    case RunStatus::kRollbackFailed:
      return "❌";
  }
  return "?";
}

std::string CountsPhrase(const Counts& counts) {
  std::vector<std::string> parts;
  for (StepStatus mark :
       {StepStatus::kSucceeded, StepStatus::kFailed, StepStatus::kSkipped, StepStatus::kApproved,
        StepStatus::kInterrupted, StepStatus::kWaiting, StepStatus::kRunning, StepStatus::kPending})
    if (int n = counts.of(mark))
      parts.push_back(fmt::format("{} {} {}", n, MarkEmoji(mark), MarkName(mark)));
  if (parts.empty()) return "none";
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string FormatTime(TimeMs at) {
  time_t seconds = static_cast<time_t>(at / 1000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

std::string FormatIsoTime(TimeMs at) {
  time_t seconds = static_cast<time_t>(at / 1000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     static_cast<int>(at % 1000));
}

std::string FormatMs(std::optional<int64_t> ms) {
  if (!ms) return "-";
  return FormatDuration(Millis(*ms));
}

std::string LastLines(std::string_view output, size_t max_lines, size_t max_line_bytes, bool* cut) {
  if (cut) *cut = false;
  while (!output.empty() && output.back() == '\n')
    output.remove_suffix(1);
  if (output.empty() || max_lines == 0) return "";
  // Walk back over newlines until max_lines lines are in [begin, end).
  size_t begin = output.size();
  for (size_t lines = 1; begin > 0; ++lines) {
    size_t newline = output.rfind('\n', begin - 1);
    if (newline == std::string_view::npos) {
      begin = 0;
      break;
    }
    if (lines == max_lines) {
      begin = newline + 1;
      if (cut) *cut = true;
      break;
    }
    begin = newline;
  }
  std::string_view tail = output.substr(begin);
  std::string out;
  out.reserve(tail.size() + 1);
  size_t start = 0;
  while (start <= tail.size()) {
    size_t end = tail.find('\n', start);
    if (end == std::string_view::npos) end = tail.size();
    out += Ellipsize(tail.substr(start, end - start), max_line_bytes);
    out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace stagecraft::report
