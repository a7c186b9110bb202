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
// The run is shaped like the engine records one (src/report/report_model.h), written with
// the fake-run builder the report tests use (src/testing/fake_run.h): phases of
// ten steps, each step a step-level record with an action item beneath it, a check item
// on every fifth step and an approved gate on every hundredth; the output is spread over
// the actions as 80-column lines (some with markup to escape). The last step fails with
// an expectation diff and three compensations roll back. Times are synthetic, one second
// per step from a fixed start, so reports are comparable between runs.

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "journal/sqlite_journal.h"
#include "testing/fake_run.h"

namespace {

using stagecraft::ApprovalMethod;
using stagecraft::RunStatus;
using stagecraft::StepKind;
using stagecraft::StepStatus;
using stagecraft::journal::StepRecord;
using stagecraft::journal::TimeMs;
using stagecraft::testing::FakeOutcome;
using stagecraft::testing::FakeRun;
using stagecraft::testing::PlannedStep;

constexpr TimeMs kStart = 1'795'361'400'000;  // 2026-11-22 15:30:00 UTC

[[noreturn]] void Die(const std::string& message) {
  fmt::print(stderr, "report_bench_journal: {}\n", message);
  std::exit(2);
}

void Check(const stagecraft::Status& status) {
  if (!status.ok()) Die(status.message());
}

// A scratch journal in `dir`, emptied first.
std::unique_ptr<stagecraft::journal::SqliteJournal> OpenJournal(const std::string& dir,
                                                                size_t flush_bytes) {
  std::filesystem::remove_all(dir);
  stagecraft::journal::SqliteJournal::Options options;
  options.dir = dir;
  options.durable = false;  // a generator, not a run: nothing to protect from a crash
  options.flush_bytes = flush_bytes;
  auto opened = stagecraft::journal::SqliteJournal::Open(options);
  if (!opened.ok()) Die(opened.error());
  return std::move(opened).value();
}

// An attempt that exited 0 (kSucceeded) or 1 (kFailed), without a process otherwise.
FakeOutcome Outcome(StepStatus status, std::string message, std::string output,
                    std::string detail = "") {
  std::optional<int> exit_code;
  if (status == StepStatus::kSucceeded || status == StepStatus::kFailed) exit_code = 0;
  return {status, std::move(message), exit_code, std::move(output), "", std::move(detail)};
}

}  // namespace

// N runs of three steps each, one an hour, every tenth failed and rolled back.
int WriteHistory(const std::string& dir, int runs) {
  auto journal = OpenJournal(dir, stagecraft::journal::SqliteJournal::Options().flush_bytes);
  for (int r = 0; r < runs; ++r) {
    stagecraft::journal::RunRecord record;
    TimeMs start = kStart - TimeMs(runs - r) * 3'600'000;
    record.id = fmt::format("bench-{:06d}", r);
    record.runbook_path = fmt::format("/srv/rollouts/service-{}.md", r % 7);
    record.runbook_hash = "0123456789abcdef0123456789abcdef";
    record.environment = r % 3 == 0 ? "production" : "staging";
    record.user = "bench";
    record.host = "bench-host";
    record.started_at = start;
    record.options = {{"title", fmt::format("Service {} rollout", r % 7)}};
    FakeRun run(*journal, record);
    bool fails = r % 10 == 9;
    for (int s = 0; s < 3; ++s) {
      StepStatus status = fails && s == 2 ? StepStatus::kFailed : StepStatus::kSucceeded;
      run.Attempt(PlannedStep(fmt::format("step-{}", s + 1), "", s + 1, StepKind::kStep,
                              fmt::format("Step {}", s + 1), ""),
                  start + s * 1000, start + s * 1000 + 900,
                  Outcome(status, status == StepStatus::kFailed ? "exited with status 1" : "",
                          fmt::format("step {} of run {}: done\n", s + 1, r)));
    }
    run.Finish(fails ? RunStatus::kRolledBack : RunStatus::kSucceeded, fails ? 1 : 0, start + 3000);
    Check(run.status());
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
  auto journal = OpenJournal(dir, 8 << 20);
  stagecraft::journal::RunRecord record;
  record.id = "20261122-153000-be0c40";
  record.runbook_path = "/srv/rollouts/bench-10k.md";
  record.runbook_hash = "0123456789abcdef0123456789abcdef";
  record.environment = "staging";
  record.user = "bench";
  record.host = "bench-host";
  record.started_at = kStart;
  record.options = {{"title", fmt::format("Bench rollout, {} steps", steps)},
                    {"git_commit", "feedfacecafe"}};
  FakeRun run(*journal, record);

  std::vector<StepRecord> plan;
  for (int s = 0; s < steps; ++s) {
    std::string phase =
        fmt::format("Phase {}: services {}-{}", s / 10 + 1, s / 10 * 10 + 1, s / 10 * 10 + 10);
    std::string key = fmt::format("step-{}", s + 1);
    int item = 0;
    auto add = [&](std::string k, StepKind kind, std::string title) {
      bool step = k == key;
      plan.push_back(PlannedStep(std::move(k), step ? "" : key, step ? s + 1 : ++item, kind,
                                 std::move(title), phase, 1500));
    };
    add(key, StepKind::kStep, fmt::format("Deploy service {}", s + 1));
    if (s % 100 == 99) add(key + "/gate", StepKind::kManual, "Confirm: continue with the next 100");
    add(key + "/1", StepKind::kStep, fmt::format("bash block (line {})", 20 * s + 12));
    if (s % 5 == 4) add(key + "/2", StepKind::kCheck, fmt::format("service {} answers", s + 1));
  }
  run.Plan(plan);

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
    run.Attempt(step, t, end,
                Outcome(last ? StepStatus::kFailed : StepStatus::kSucceeded,
                        last ? "bash block failed: expected output did not match" : "", ""));
    if (plan[p].kind == StepKind::kManual) {
      run.Approve(plan[p].key, "bench", t, ApprovalMethod::kPrompt);
      run.Attempt(plan[p++], t, t, Outcome(StepStatus::kApproved, "confirmed by bench", ""));
    }
    run.Attempt(plan[p++], t, end,
                Outcome(last ? StepStatus::kFailed : StepStatus::kSucceeded,
                        last ? "expected output did not match" : "", make_output(s),
                        last ? "- all services ready\n+ 1 service not ready" : ""));
    if (p < plan.size() && !plan[p].parent_key.empty())
      run.Attempt(plan[p++], end, end, Outcome(StepStatus::kSucceeded, "", "ok\n"));
    t = end;
  }
  for (int r = 0; r < 3; ++r) {
    run.Attempt(PlannedStep(fmt::format("rollback/{}", r + 1), "", r + 1, StepKind::kCompensation,
                            fmt::format("Undo: Deploy service {}", steps - 1 - r), "Rollback"),
                t, t + 500, Outcome(StepStatus::kSucceeded, "", "undone\n"));
    t += 500;
  }
  run.Finish(RunStatus::kRolledBack, 1, t);
  Check(run.status());
  Check(journal->FlushOutput());
  fmt::print("{}\n", run.id());
  return 0;
}
