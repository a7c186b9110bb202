#pragma once

// The report model: everything one run's reports show, loaded from the journal in one
// pass and shaped like the runbook (phases, steps, their items, the rollback that ran).
// Every renderer (markdown.h, html.h, json.h, junit.h) reads this model and nothing else,
// so the four formats agree on what happened.
//
// How the engine journals a run, which the loader relies on:
//  - a step-level record per runbook step (no parent, kind kStep), including the
//    preflight checklist and the success criteria, whose attempt spans the whole step;
//  - item-level records beneath it (parent = the step's key): actions (kStep), checks
//    (kCheck), manual confirmations (kManual), verifications (kVerification);
//  - rollback records (no parent, kind kRollback or kCompensation), in the order they ran;
//  - attempts with a one-line message (the summary) and a detail apart (an expectation
//    diff, a red-flag report).
// Records that break these rules (an item whose step was never planned) are still shown,
// as steps of their own: a report must not hide evidence because its shape is odd.
//
// All text in the model is sanitized (escape.h: valid UTF-8, no control characters);
// renderers only escape for their format. Plain values; not thread-safe to share mutably.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "journal/journal.h"

namespace stagecraft::report {

using journal::TimeMs;

// A status as the reports show it: "✅", "passed", "confirmed", "not reached"...
std::string_view MarkEmoji(StepStatus mark);
std::string_view MarkName(StepStatus mark);
// "passed", ..., "not_reached": the JSON spelling.
std::string_view MarkId(StepStatus mark);

struct Attempt {
  int number = 1;
  StepStatus status = StepStatus::kRunning;
  TimeMs started_at = 0;
  std::optional<TimeMs> ended_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string summary;  // the attempt's message
  std::string detail;   // the attempt's detail (expectation diff, red flags...)
  nlohmann::json captures = nlohmann::json::object();

  // Output, sanitized: the last `LoadOptions::output_tail_bytes` (and
  // `output_tail_lines`) of it, starting at a line boundary when cut.
  std::string output;
  int64_t output_bytes = 0;  // as journaled, before cutting or sanitizing
  bool output_cut = false;   // `output` is only the tail

  std::optional<int64_t> duration_ms() const;
};

// A step-level record, an item beneath one, or a rollback block.
struct Entry {
  std::string key;
  int index = 0;  // 0-based place in the journal's order: steps, each followed by its items,
                  // then the rollback
  StepKind kind = StepKind::kStep;
  std::string title;
  std::string phase;
  std::optional<int64_t> budget_ms;
  StepStatus status = StepStatus::kPending;
  StepStatus mark = StepStatus::kPending;  // the status as shown (MarkFor)
  std::vector<Attempt> attempts;
  // The latest approval recorded for this key, if any (who confirmed a ✋ item).
  std::optional<journal::ApprovalRecord> approval;

  // First attempt's start to last attempt's end; unset when nothing ran or ended.
  std::optional<TimeMs> started_at() const;
  std::optional<TimeMs> ended_at() const;
  // Time spent: the sum of the attempts' durations (a resumed step counts both runs).
  std::optional<int64_t> duration_ms() const;
  bool over_budget() const;
  // Output of every attempt, in bytes as journaled.
  int64_t output_bytes() const;
  const Attempt* last_attempt() const { return attempts.empty() ? nullptr : &attempts.back(); }
};

struct Step : Entry {
  std::vector<Entry> items;
  // The largest attempt count of the step and its items: how often anything was retried.
  int max_attempts() const;
};

// Consecutive steps with the same phase title ("" for steps outside any phase).
struct Phase {
  std::string name;
  std::vector<Step> steps;
  // The sum of the steps' budgets, when at least one step has one: the journal keeps
  // step budgets only.
  std::optional<int64_t> budget_ms() const;
  std::optional<TimeMs> started_at() const;
  std::optional<TimeMs> ended_at() const;
  // Wall time from the first step's start to the last step's end.
  std::optional<int64_t> duration_ms() const;
  bool over_budget() const;
};

// How many entries show each mark.
struct Counts {
  int total = 0;
  std::array<int, std::size(kStepStatusNames)> marks{};
  int of(StepStatus mark) const { return marks[static_cast<size_t>(mark)]; }
  void Add(StepStatus mark) {
    ++total;
    ++marks[static_cast<size_t>(mark)];
  }
};

// A role of the runbook's sign-off table, with the decision recorded for the gates that role
// decides; no decision while nobody has signed.
struct SignOffRow {
  std::string role;
  std::optional<journal::ApprovalRecord> decision;
};

struct Report {
  journal::RunRecord run;
  std::string title;       // options.title, else the runbook's file name
  std::string git_commit;  // options.git_commit, "" when not in a git repository
  std::vector<Phase> phases;
  std::vector<Entry> rollback;                     // in the order they ran
  std::vector<journal::ApprovalRecord> approvals;  // in the order recorded
  std::vector<SignOffRow> sign_off;                // the runbook's table, as the run began
  Counts steps;                                    // step-level records
  Counts checks;                                   // check, verification and manual items
  Counts rollbacks;                                // rollback records

  // ended_at - started_at, or unset while running.
  std::optional<int64_t> duration_ms() const;
  // Finds a step or item (not a rollback record) by key; null when unknown.
  const Entry* Find(const std::string& key) const;
};

struct LoadOptions {
  // Output kept per attempt (the tail). The HTML shows it whole; the other formats show
  // the last lines. 0 keeps no output at all.
  size_t output_tail_bytes = 1 << 20;
  // When not 0, also at most this many lines (the tail): formats that show excerpts only
  // need no more, and a 10,000-step run then loads in a fraction of the memory.
  size_t output_tail_lines = 0;
};

Result<Report> LoadReport(journal::Journal& journal, const std::string& run_id,
                          const LoadOptions& options = {});

// The status a report shows for a journaled one: kRunning becomes kInterrupted once the run
// has finished.
StepStatus MarkFor(StepStatus status, bool run_finished);

// The mark in words, naming who confirmed a ✋ entry and when: "passed",
// "confirmed by alice at 2026-11-22 15:31:02 UTC (--yes)".
std::string MarkPhrase(const Entry& entry);

// "rolled back (exit 1)": the run's status in words.
std::string RunStatusPhrase(const journal::RunRecord& run);
// ✅ for success, ❌ for every failure, ⚠ interrupted or stopped, ⏳ running.
std::string_view RunStatusEmoji(RunStatus status);

// "3 ✅ passed, 1 ❌ failed": the non-zero counts, "none" when total is 0.
std::string CountsPhrase(const Counts& counts);

// "2026-11-22 15:30:12 UTC".
std::string FormatTime(TimeMs at);
// "2026-11-22T15:30:12.123Z".
std::string FormatIsoTime(TimeMs at);
// "1m05s", "250ms" (base/duration.h), or "-" when unset.
std::string FormatMs(std::optional<int64_t> ms);

// The last `max_lines` lines of `output`, each cut to `max_line_bytes`; `cut` is set when
// lines were left out.
std::string LastLines(std::string_view output, size_t max_lines, size_t max_line_bytes,
                      bool* cut = nullptr);

}  // namespace stagecraft::report
