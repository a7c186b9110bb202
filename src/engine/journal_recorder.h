#pragma once

// Keeps the run in the journal, in the shapes reports and resume read back:
//   - one step-level record per step of the flow (no parent, ordinal = its place in the
//     flow; key = the step's name), planned up front;
//   - item-level records beneath it (parent = the step's key, ordinal counting the step's
//     action blocks, checks, confirmations and verifications in the order they ran);
//   - records for compensations and rollback-procedure blocks (no parent, kind kRollback or
//     kCompensation, ordinal in run order).
// Item and rollback keys ("deploy/2", "rollback/3") are identifiers only.
// An attempt's message is a summary line; its detail (expectation diff, red flags) is kept
// apart.
//
// A journal write that fails sets Problem(): the engine then stops before the next process
// starts, so nothing runs unjournaled. With no journal every event is ignored.
//
// Not thread-safe; one per run, called from the engine's thread.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/observer.h"
#include "journal/journal.h"

namespace stagecraft::engine {

class JournalRecorder : public RunObserver {
 public:
  JournalRecorder(journal::Journal* journal, std::string run_id)
      : journal_(journal), run_id_(std::move(run_id)) {}
  JournalRecorder(const JournalRecorder&) = delete;
  JournalRecorder& operator=(const JournalRecorder&) = delete;

  void OnRunPlanned(const runbook::Runbook& runbook,
                    const std::vector<const runbook::Step*>& flow) override;
  void OnStepStarted(const ItemRef& step, int total) override;
  void OnStepFinished(const ItemRef& step, const StepResult& result) override;
  void OnAttemptStarted(const ItemRef& item, int attempt) override;
  void OnProcessStarted(int64_t process_group, unsigned long long start_ticks) override;
  void OnOutput(Stream stream, std::string_view bytes) override;
  void OnAttemptFinished(const ItemRef& item, const AttemptEnd& end) override;
  void OnApproval(const ItemRef& item, const ApprovalEvent& approval) override;
  void OnWaiting(const ItemRef& item, bool waiting) override;
  void OnScopeChanged(const nlohmann::json& scope) override;

  std::string Problem() const override { return error_; }
  std::string LostOutput() const override { return lost_output_; }

 private:
  bool ok() const { return journal_ && error_.empty(); }
  // The attempt id, or 0 when there is no journal or the write failed.
  int64_t Begin(const ItemRef& item);
  void End(int64_t attempt_id, const AttemptEnd& end);
  void Fail(const Status& status);

  journal::Journal* journal_;
  std::string run_id_;
  std::string error_;
  std::string lost_output_;
  int64_t step_attempt_ = 0;  // the running step's record
  int64_t attempt_ = 0;       // the running item's attempt; output goes there
};

}  // namespace stagecraft::engine
