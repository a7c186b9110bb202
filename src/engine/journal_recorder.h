#pragma once

// What the engine writes to the journal, in the shapes reports and resume read back:
//   - one step-level record per runbook step (key = the step's name), planned up front;
//   - item-level records beneath it (key = "<step>/<n>", n counting the step's action
//     blocks, checks, confirmations and verifications in the order they ran);
//   - "rollback/<n>" records for compensations and rollback-procedure blocks, in run order.
// An attempt's message is a summary line, then any detail (expectation diff, red flags).
//
// A journal write that fails makes the recorder failed(): the engine then stops before
// the next process starts, so nothing runs unjournaled. With no journal every call is a
// no-op and failed() stays false.
//
// Not thread-safe; one per run, used from the engine's thread.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "engine/runner.h"
#include "exec/output_sink.h"
#include "journal/journal.h"
#include "runbook/model.h"

namespace stagecraft::engine {

enum class ItemStatus;

// Digest of everything a step would run; resume names steps whose digest changed.
std::string StepContentHash(const runbook::Step& step);
// Digest of the runbook's step structure: names, kinds and contents in order.
std::string StructureHash(const runbook::Runbook& runbook);

journal::StepStatus ToJournalStatus(ItemStatus status);

struct JournalItem {
  std::string key;
  std::string title;
  journal::StepKind kind = journal::StepKind::kStep;
  std::string phase;
  std::optional<Millis> budget;
  // Sort position: step k is k * kIndexStride, its items k * kIndexStride + n, rollback
  // blocks kRollbackIndex + n, so ListSteps returns them in the order a report shows.
  int index = 0;
};
inline constexpr int kIndexStride = 1000;
inline constexpr int kRollbackIndex = 1'000'000'000;

class JournalRecorder {
 public:
  JournalRecorder(journal::Journal* journal, std::string run_id)
      : journal_(journal), run_id_(std::move(run_id)) {}
  JournalRecorder(const JournalRecorder&) = delete;
  JournalRecorder& operator=(const JournalRecorder&) = delete;

  bool enabled() const { return journal_ != nullptr; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void PlanSteps(const std::vector<journal::StepRecord>& steps);
  // The attempt id, or 0 when there is no journal or the write failed (see failed()).
  int64_t Begin(const JournalItem& item);
  void End(int64_t attempt_id, ItemStatus status, const std::string& message,
           const std::string& detail, const ProcessOutcome* outcome = nullptr,
           const std::map<std::string, std::string>& captures = {});
  // Where the attempt's processes run (see journal::Journal::RecordProcess).
  void Process(int64_t attempt_id, int64_t process_group, unsigned long long start_ticks);
  void Approval(const std::string& key, const std::string& who, journal::ApprovalMethod how,
                bool approved, const std::string& comment);
  void UpdateScope(const nlohmann::json& scope);

  // A sink appending to `attempt_id`'s output (already masked by the caller). Lost output
  // is reported once through lost_output().
  class OutputWriter : public exec::OutputSink {
   public:
    OutputWriter(JournalRecorder& recorder, int64_t attempt_id)
        : recorder_(recorder), attempt_id_(attempt_id) {}
    void OnOutput(exec::Stream stream, std::string_view bytes) override;

   private:
    JournalRecorder& recorder_;
    int64_t attempt_id_;
  };

  // Set once output could not be journaled (disk full); the engine warns and stops.
  const std::string& lost_output() const { return lost_output_; }

 private:
  void Fail(const Status& status);

  journal::Journal* journal_;
  std::string run_id_;
  std::string error_;
  std::string lost_output_;
};

}  // namespace stagecraft::engine
