// report_bench_journal: writes a journal holding one large finished run, for the
// `report` section of bench/run.sh.
//
//   report_bench_journal STATE_DIR [STEPS] [OUTPUT_MIB]     (defaults: 10000 steps, 100 MiB)
//   report_bench_journal STATE_DIR --runs N                  (N small finished runs)
//
// The second form is for the `history` section: a journal with a long history of ordinary
// runs (three steps each, a few lines of output), as `stagecraft runs` meets it after years
// of deployments.
//
// The run is shaped like the engine records one (src/report/report_model.h): phases of
// ten steps, each step a step-level record with an action item beneath it, a check item
// on every fifth step and an approved gate on every hundredth; the output is spread over
// the actions as 80-column lines (some with markup to escape). The last step fails with
// an expectation diff and three compensations roll back. Times are synthetic, one second
// per step from a fixed start, so reports are comparable between runs.

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "journal/sqlite_journal.h"

namespace {

using stagecraft::StepKind;
using stagecraft::StepStatus;
using stagecraft::journal::AttemptOutcome;
using stagecraft::journal::AttemptRecord;
using stagecraft::journal::Journal;
using stagecraft::journal::StepRecord;
using stagecraft::journal::TimeMs;

constexpr TimeMs kStart = 1'795'361'400'000;  // 2026-11-22 15:30:00 UTC

[[noreturn]] void Die(const std::string& message) {
  fmt::print(stderr, "report_bench_journal: {}\n", message);
  std::exit(2);
}

void Check(const stagecraft::Status& status) {
  if (!status.ok()) Die(status.message());
}

template <typename T>
void Check(const stagecraft::Result<T>& result) {
  if (!result.ok()) Die(result.error());
}

int64_t Attempt(Journal& journal, const std::string& run_id, const StepRecord& step, TimeMs start,
                TimeMs end, StepStatus status, const std::string& message,
                const std::string& output, const std::string& detail = "") {
  AttemptRecord attempt;
  attempt.run_id = run_id;
  attempt.step_key = step.key;
  attempt.parent_key = step.parent_key;
  attempt.ordinal = step.ordinal;
  attempt.kind = step.kind;
  attempt.title = step.title;
  attempt.phase = step.phase;
  attempt.started_at = start;
  auto begun = journal.BeginAttempt(attempt);
  if (!begun.ok()) Die(begun.error());
  if (!output.empty())
    Check(journal.AppendOutput(begun->id, stagecraft::Stream::kStdout, output, start));
  AttemptOutcome outcome;
  outcome.status = status;
  outcome.ended_at = end;
  outcome.exit_code = status == StepStatus::kSucceeded || status == StepStatus::kFailed
                          ? std::optional<int>(0)
                          : std::nullopt;
  outcome.message = message;
  outcome.detail = detail;
  Check(journal.EndAttempt(begun->id, outcome));
  return begun->id;
}

}  // namespace

// N runs of three steps each, one an hour, every tenth failed and rolled back.
int WriteHistory(const std::string& dir, int runs) {
  std::filesystem::remove_all(dir);
  stagecraft::journal::SqliteJournal::Options options;
  options.dir = dir;
  options.durable = false;
  auto opened = stagecraft::journal::SqliteJournal::Open(options);
  if (!opened.ok()) Die(opened.error());
  Journal& journal = **opened;
  for (int r = 0; r < runs; ++r) {
    stagecraft::journal::RunRecord run;
    TimeMs start = kStart - TimeMs(runs - r) * 3'600'000;
    run.id = fmt::format("bench-{:06d}", r);
    run.runbook_path = fmt::format("/srv/rollouts/service-{}.md", r % 7);
    run.runbook_hash = "0123456789abcdef0123456789abcdef";
    run.environment = r % 3 == 0 ? "production" : "staging";
    run.user = "bench";
    run.host = "bench-host";
    run.started_at = start;
    run.options = {{"title", fmt::format("Service {} rollout", r % 7)}};
    Check(journal.CreateRun(run));
    bool fails = r % 10 == 9;
    for (int s = 0; s < 3; ++s) {
      StepRecord step;
      step.run_id = run.id;
      step.key = fmt::format("step-{}", s + 1);
      step.ordinal = s + 1;
      step.title = fmt::format("Step {}", s + 1);
      StepStatus status = fails && s == 2 ? StepStatus::kFailed : StepStatus::kSucceeded;
      Attempt(journal, run.id, step, start + s * 1000, start + s * 1000 + 900, status,
              status == StepStatus::kFailed ? "exited with status 1" : "",
              fmt::format("step {} of run {}: done\n", s + 1, r));
    }
    Check(journal.FinishRun(
        run.id, fails ? stagecraft::RunStatus::kRolledBack : stagecraft::RunStatus::kSucceeded,
        fails ? 1 : 0, start + 3000));
  }
  fmt::print("{}\n", runs);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[2]) == "--runs")
    return WriteHistory(argv[1], std::atoi(argv[3]));
  if (argc < 2 || argc > 4)
    Die("usage: report_bench_journal STATE_DIR [STEPS] [OUTPUT_MIB] | STATE_DIR --runs N");
  const std::string dir = argv[1];
  const int steps = argc > 2 ? std::atoi(argv[2]) : 10000;
  const int64_t output_bytes = (argc > 3 ? std::atoll(argv[3]) : 100) * 1024 * 1024;
  if (steps < 1) Die("STEPS must be positive");
  std::filesystem::remove_all(dir);

  stagecraft::journal::SqliteJournal::Options options;
  options.dir = dir;
  options.durable = false;  // a generator, not a run: nothing to protect from a crash
  options.flush_bytes = 8 << 20;
  auto opened = stagecraft::journal::SqliteJournal::Open(options);
  if (!opened.ok()) Die(opened.error());
  Journal& journal = **opened;

  stagecraft::journal::RunRecord run;
  run.id = "20261122-153000-be0c40";
  run.runbook_path = "/srv/rollouts/bench-10k.md";
  run.runbook_hash = "0123456789abcdef0123456789abcdef";
  run.environment = "staging";
  run.user = "bench";
  run.host = "bench-host";
  run.started_at = kStart;
  run.options = {{"title", fmt::format("Bench rollout, {} steps", steps)},
                 {"git_commit", "feedfacecafe"}};
  Check(journal.CreateRun(run));

  std::vector<StepRecord> plan;
  for (int s = 0; s < steps; ++s) {
    std::string phase =
        fmt::format("Phase {}: services {}-{}", s / 10 + 1, s / 10 * 10 + 1, s / 10 * 10 + 10);
    std::string key = fmt::format("step-{}", s + 1);
    int item = 0;
    auto add = [&](std::string k, StepKind kind, std::string title) {
      StepRecord record;
      record.run_id = run.id;
      record.key = std::move(k);
      record.parent_key = record.key == key ? "" : key;
      record.ordinal = record.key == key ? s + 1 : ++item;
      record.kind = kind;
      record.title = std::move(title);
      record.phase = phase;
      record.budget_ms = 1500;
      plan.push_back(std::move(record));
    };
    add(key, StepKind::kStep, fmt::format("Deploy service {}", s + 1));
    if (s % 100 == 99) add(key + "/gate", StepKind::kManual, "Confirm: continue with the next 100");
    add(key + "/1", StepKind::kStep, fmt::format("bash block (line {})", 20 * s + 12));
    if (s % 5 == 4) add(key + "/2", StepKind::kCheck, fmt::format("service {} answers", s + 1));
  }
  Check(journal.PlanSteps(run.id, plan));

  // One action's output: 80-column lines, about output_bytes / steps of them in total.
  const int64_t per_step = output_bytes / steps;
  auto make_output = [&](int s) {
    std::string out;
    out.reserve(per_step + 100);
    for (int line = 0; static_cast<int64_t>(out.size()) < per_step; ++line) {
      if (line % 16 == 7)
        out += fmt::format("{:05} <svc-{}> ready & healthy; checks <ok> {:>34}\n", line, s, "");
      else
        out += fmt::format("{:05} service-{:05} applying manifest chunk {:06} ............. done\n",
                           line, s, line * 7 + s);
    }
    out.resize(per_step);
    return out;
  };

  TimeMs t = kStart;
  size_t p = 0;
  for (int s = 0; s < steps; ++s) {
    const bool last = s == steps - 1;
    const StepRecord& step = plan[p++];
    TimeMs end = t + 1000 + (s % 7 == 0 ? 900 : 0);  // every 7th runs over its budget
    Attempt(journal, run.id, step, t, end, last ? StepStatus::kFailed : StepStatus::kSucceeded,
            last ? "bash block failed: expected output did not match" : "", "");
    if (plan[p].kind == StepKind::kManual) {
      stagecraft::journal::ApprovalRecord approval;
      approval.run_id = run.id;
      approval.step_key = plan[p].key;
      approval.who = "bench";
      approval.at = t;
      Check(journal.RecordApproval(approval));
      Attempt(journal, run.id, plan[p++], t, t, StepStatus::kApproved, "confirmed by bench", "");
    }
    Attempt(journal, run.id, plan[p++], t, end, last ? StepStatus::kFailed : StepStatus::kSucceeded,
            last ? "expected output did not match" : "", make_output(s),
            last ? "- all services ready\n+ 1 service not ready" : "");
    if (p < plan.size() && !plan[p].parent_key.empty())
      Attempt(journal, run.id, plan[p++], end, end, StepStatus::kSucceeded, "", "ok\n");
    t = end;
  }
  for (int r = 0; r < 3; ++r) {
    StepRecord undo;
    undo.run_id = run.id;
    undo.key = fmt::format("rollback/{}", r + 1);
    undo.ordinal = r + 1;
    undo.kind = StepKind::kCompensation;
    undo.title = fmt::format("Undo: Deploy service {}", steps - 1 - r);
    undo.phase = "Rollback";
    Attempt(journal, run.id, undo, t, t + 500, StepStatus::kSucceeded, "", "undone\n");
    t += 500;
  }
  Check(journal.FinishRun(run.id, stagecraft::RunStatus::kRolledBack, 1, t));
  Check(journal.FlushOutput());
  fmt::print("{}\n", run.id);
  return 0;
}
