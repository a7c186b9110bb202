#pragma once

// Writes a run into a journal the way the engine records one (report/report_model.h):
// steps planned up front with their items beneath them, attempts with their output,
// approvals, rollback blocks planned as they start. For the tests and the bench, which need
// runs with fixed times and chosen outcomes. Not thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "journal/journal.h"

namespace stagecraft::testing {

using journal::TimeMs;

// `parent` is "" for a step of the flow and for a rollback block.
journal::StepRecord PlannedStep(std::string key, std::string parent, int ordinal, StepKind kind,
                                std::string title, std::string phase,
                                std::optional<int64_t> budget_ms = std::nullopt);

struct FakeOutcome {
  StepStatus status = StepStatus::kSucceeded;
  std::string message;
  std::optional<int> exit_code;
  std::string output;  // stdout
  std::string stderr_output;
  std::string detail;
};

class FakeRun {
 public:
  // Creates `run` in `journal`, which must outlive this.
  FakeRun(journal::Journal& journal, journal::RunRecord run);

  const std::string& id() const { return id_; }
  // The first write that failed, or OK; once one has failed nothing more is written.
  const Status& status() const { return status_; }

  void Plan(std::vector<journal::StepRecord> steps);
  // The planned step with `key`.
  const journal::StepRecord& Step(const std::string& key) const;
  // One attempt at `step` from `start` to `end`; its output arrives at `start`.
  void Attempt(const journal::StepRecord& step, TimeMs start, TimeMs end,
               const FakeOutcome& outcome = {});
  void Approve(const std::string& key, const std::string& who, TimeMs at, ApprovalMethod how,
               const std::string& comment = "");
  void Finish(RunStatus status, int exit_code, TimeMs at);

 private:
  bool Check(const Status& status);
  template <typename T>
  bool Check(const Result<T>& result) {
    return result.ok() || Check(result.status());
  }

  journal::Journal& journal_;
  std::string id_;
  std::vector<journal::StepRecord> plan_;
  Status status_;
};

}  // namespace stagecraft::testing
