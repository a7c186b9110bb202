#pragma once

// Helpers for the report tests: golden files, and a recorded run, journaled the way the engine
// journals one (report_model.h): a failed-and-rolled-back rollout with a retried action, an
// expectation diff, approvals at a prompt and by --yes, a skipped step, steps never
// reached, and output that would be markup if it were not escaped. Times are fixed so
// goldens are stable. Header-only, so the library carries no test code.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "journal/test_util.h"
#include "report/report_model.h"
#include "testing/fake_run.h"
#include "testing/golden.h"

namespace stagecraft::report::testing {

using journal::TimeMs;
using stagecraft::testing::FakeOutcome;
using stagecraft::testing::FakeRun;
using stagecraft::testing::PlannedStep;

// 2026-11-22 15:30:00 UTC.
inline constexpr TimeMs kT0 = 1'795'361'400'000;
inline constexpr TimeMs kSecond = 1000;

// Records the sample run and returns its id.
inline std::string RecordFailedRun(journal::Journal& journal) {
  journal::RunRecord record;
  record.id = "20261122-153000-c0ffee";
  record.runbook_path = "/srv/rollouts/orders-api.md";
  record.runbook_hash = "5d41402abc4b2a76b9719d911017c592";
  record.structure_hash = "7d793037a0760186";
  record.environment = "staging";
  record.user = "alice";
  record.host = "bastion";
  record.pid = 4242;
  record.started_at = kT0;
  record.cwd = "/srv/rollouts";
  record.scope = {{"API_URL", "https://orders.staging.internal"}, {"IMAGE_TAG", "v2.4.0"}};
  record.options = {{"title", "Orders API rollout <staging> & friends"},
                    {"git_commit", "3f2a9c1e8b7d"},
                    {"yes", false},
                    {"on_failure", "rollback"}};
  FakeRun run(journal, record);

  const std::string build = "Phase 1: Build";
  const std::string release = "Phase 2: Release & verify";
  run.Plan({
      PlannedStep("before-you-start", "", 1, StepKind::kStep, "Pre-deployment checklist", ""),
      PlannedStep("before-you-start/1", "before-you-start", 1, StepKind::kCheck,
                  "Database is reachable", ""),
      PlannedStep("before-you-start/2", "before-you-start", 2, StepKind::kManual,
                  "Change ticket CHG-1042 approved", ""),
      PlannedStep("build-image", "", 2, StepKind::kStep, "Build the image", build, 120 * kSecond),
      PlannedStep("build-image/1", "build-image", 1, StepKind::kStep, "bash block (line 21)", build,
                  120 * kSecond),
      PlannedStep("build-image/2", "build-image", 2, StepKind::kVerification,
                  "bash block (line 29)", build, 120 * kSecond),
      PlannedStep("push-image", "", 3, StepKind::kStep, "Push the image", build, 60 * kSecond),
      PlannedStep("push-image/1", "push-image", 1, StepKind::kManual,
                  "Confirm: push to the registry", build, 60 * kSecond),
      PlannedStep("push-image/2", "push-image", 2, StepKind::kStep, "bash block (line 40)", build,
                  60 * kSecond),
      PlannedStep("warm-caches", "", 4, StepKind::kStep, "Warm the caches", release, 30 * kSecond),
      PlannedStep("warm-caches/1", "warm-caches", 1, StepKind::kStep, "bash block (line 52)",
                  release, 30 * kSecond),
      PlannedStep("migrate-database", "", 5, StepKind::kStep, "Migrate the database", release,
                  300 * kSecond),
      PlannedStep("migrate-database/1", "migrate-database", 1, StepKind::kStep,
                  "bash block (line 60)", release, 300 * kSecond),
      PlannedStep("migrate-database/2", "migrate-database", 2, StepKind::kVerification,
                  "bash block (line 70)", release, 300 * kSecond),
      PlannedStep("switch-traffic", "", 6, StepKind::kStep, "Switch traffic", release,
                  120 * kSecond),
      PlannedStep("switch-traffic/1", "switch-traffic", 1, StepKind::kStep, "bash block (line 80)",
                  release, 120 * kSecond),
      PlannedStep("success-criteria", "", 7, StepKind::kStep, "Success criteria", ""),
      PlannedStep("success-criteria/1", "success-criteria", 1, StepKind::kCheck,
                  "Error rate below 1%", ""),
  });
  auto attempt = [&](const std::string& key, TimeMs start, TimeMs end,
                     const FakeOutcome& outcome = {}) {
    run.Attempt(run.Step(key), start, end, outcome);
  };

  TimeMs t = kT0;
  // Preflight: a check and a manual confirmation at the prompt.
  attempt("before-you-start", t, t + 8 * kSecond);
  attempt("before-you-start/1", t, t + 1 * kSecond,
          {StepStatus::kSucceeded, "", 0, "postgres:5432 - accepting connections\n"});
  run.Approve("before-you-start/2", "alice", t + 7 * kSecond, ApprovalMethod::kPrompt,
              "ticket checked");
  attempt("before-you-start/2", t + 1 * kSecond, t + 8 * kSecond,
          {StepStatus::kApproved, "confirmed by alice"});
  t += 8 * kSecond;

  // Build: the action fails once and passes on retry; its output holds markup.
  attempt("build-image", t, t + 95 * kSecond);
  attempt("build-image/1", t, t + 40 * kSecond,
          {StepStatus::kFailed, "exit 1; retrying in 10s", 1, "Step 1/4 : FROM debian:12\n",
           "error: registry timeout\n"});
  attempt("build-image/1", t + 50 * kSecond, t + 90 * kSecond,
          {StepStatus::kSucceeded, "", 0,
           "Step 1/4 : FROM debian:12\n<script>alert(1)</script>\nTom &amp; Jerry\n"
           "\x1b[32mSuccessfully built 0a1b2c3d\x1b[0m\n"});
  attempt("build-image/2", t + 90 * kSecond, t + 95 * kSecond,
          {StepStatus::kSucceeded, "", 0, "v2.4.0\n"});
  t += 95 * kSecond;

  // Push: a gate approved by --yes, then an action that runs over its budget.
  run.Approve("push-image/1", "alice", t, ApprovalMethod::kYesFlag);
  attempt("push-image", t, t + 90 * kSecond);
  attempt("push-image/1", t, t, {StepStatus::kApproved, "approved by --yes"});
  attempt("push-image/2", t, t + 90 * kSecond,
          {StepStatus::kSucceeded, "", 0, "pushed registry.internal/orders:v2.4.0\n"});
  t += 90 * kSecond;

  // Warm caches: skipped by the runbook.
  attempt("warm-caches", t, t, {StepStatus::kSkipped, "marked skip in the runbook"});
  attempt("warm-caches/1", t, t, {StepStatus::kSkipped, "marked skip in the runbook"});

  // Migrate: the expectation does not match; the verification is never reached.
  attempt("migrate-database", t, t + 12 * kSecond,
          {StepStatus::kFailed, "bash block (line 60) failed: expected output did not match"});
  attempt(
      "migrate-database/1", t, t + 12 * kSecond,
      {StepStatus::kFailed, "expected output did not match", 0,
       "Applying migration 0042_orders_index\n", "ERROR: relation \"orders_idx\" already exists\n",
       "  Applying migration 0042_orders_index\n"
       "- Migration complete\n"
       "+ ERROR: relation \"orders_idx\" already exists"});
  t += 12 * kSecond;

  // Rollback: the push's own undo, then the rollback procedure.
  run.Attempt(
      PlannedStep("rollback/1", "", 1, StepKind::kCompensation, "Undo: Push the image", "Rollback"),
      t, t + 4 * kSecond, {StepStatus::kSucceeded, "", 0, "deleted tag v2.4.0\n"});
  run.Attempt(
      PlannedStep("rollback/2", "", 2, StepKind::kRollback, "bash block (line 95)", "Rollback"),
      t + 4 * kSecond, t + 10 * kSecond,
      {StepStatus::kSucceeded, "", 0, "orders-api restored to v2.3.9\n"});
  t += 10 * kSecond;

  run.Finish(RunStatus::kRolledBack, 1, t);
  EXPECT_TRUE(run.status().ok()) << run.status().message();
  return run.id();
}

// Loads the sample run's report from a scratch journal.
class RecordedRun {
 public:
  RecordedRun()
      : dir_(),
        journal_(journal::testing::OpenOrDie(journal::testing::ScratchOptions(dir_.path()))) {
    if (journal_) run_id_ = RecordFailedRun(*journal_);
  }
  journal::SqliteJournal& journal() { return *journal_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& dir() const { return dir_.path(); }
  Report Load(const LoadOptions& options = {}) {
    Result<Report> report = LoadReport(*journal_, run_id_, options);
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error());
    return report.ok() ? std::move(report).value() : Report();
  }

 private:
  journal::testing::TempDir dir_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::string run_id_;
};

inline std::string TestdataPath(const std::string& name) {
  return std::string(STAGECRAFT_SOURCE_DIR) + "/src/report/testdata/" + name;
}

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// Compares `actual` with src/report/testdata/NAME; STAGECRAFT_UPDATE_GOLDEN=1 rewrites the
// file instead. Returns "" on a match, else a message for the failure.
inline std::string CompareWithGolden(const std::string& name, const std::string& actual) {
  return stagecraft::testing::CompareWithGoldenFile(TestdataPath(name), actual);
}

}  // namespace stagecraft::report::testing
