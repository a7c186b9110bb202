#pragma once

// What the engine tells the world while it decides, in the manner of ninja's builder
// reporting to its Status: the engine emits events and knows nothing of who listens. The
// console (console.h) shows them; the journal recorder (journal_recorder.h) keeps them.
//
// Order of events for one step:
//   OnStepStarted, then per item one or more (OnAttemptStarted, [OnProcessStarted],
//   OnOutput*, OnAttemptFinished), OnApproval between the two for a gate, then
//   OnScopeChanged when the step changed what a resume needs, then OnStepFinished.
// Rollback blocks emit attempts of items whose ref has scope kRollback, outside any step.
//
// Called from the engine's thread only; output is already masked.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "engine/run_result.h"
#include "exec/output_sink.h"
#include "exec/subprocess.h"
#include "journal/records.h"
#include "runbook/model.h"

namespace stagecraft::engine {

// How a line of narration is shown: a heading, a plain line, a pass or failure mark...
enum class NoteLevel { kHeading, kInfo, kVerbose, kPass, kFail, kWarn, kDetail };

// What an event is about: a step of the flow, an item of a step (an action block, a check,
// a confirmation, a verification), or a block of the rollback.
struct ItemRef {
  enum class Scope { kStep, kItem, kRollback };
  Scope scope = Scope::kStep;
  std::string step;     // the step's name (kStep, kItem)
  int step_number = 0;  // 1-based position of the step in the flow (kStep, kItem)
  int ordinal = 0;      // 1-based position of the item in its step, or of the block in the
                        // rollback (kItem, kRollback)
  std::string title;
  StepKind kind = StepKind::kStep;
  std::string phase;
  std::optional<Millis> budget;
};

struct AttemptEnd {
  StepStatus status = StepStatus::kSucceeded;
  std::string message;  // one line
  std::string detail;   // expectation diff, red-flag report, output excerpt
  const exec::ProcessOutcome* outcome = nullptr;  // null when nothing was spawned
  std::map<std::string, std::string> captures;    // masked values
};

struct ApprovalEvent {
  std::string who;
  ApprovalMethod how = ApprovalMethod::kPrompt;
  bool approved = false;
  std::string comment;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;

  virtual void OnNote(NoteLevel /*level*/, std::string_view /*text*/) {}
  // The flow about to run, in order (preflight, steps, success criteria).
  virtual void OnRunPlanned(const runbook::Runbook& /*runbook*/,
                            const std::vector<const runbook::Step*>& /*flow*/) {}
  virtual void OnStepStarted(const ItemRef& /*step*/, int /*total*/) {}
  virtual void OnStepFinished(const ItemRef& /*step*/, const StepResult& /*result*/) {}
  // `attempt` counts the runs of a block from 1; 0 for an item recorded without running
  // anything (a gate, a skipped block, a block a rollback interruption kept from running).
  virtual void OnAttemptStarted(const ItemRef& /*item*/, int /*attempt*/) {}
  virtual void OnProcessStarted(int64_t /*process_group*/, unsigned long long /*start_ticks*/) {}
  virtual void OnOutput(Stream /*stream*/, std::string_view /*bytes*/) {}
  virtual void OnAttemptFinished(const ItemRef& /*item*/, const AttemptEnd& /*end*/) {}
  virtual void OnApproval(const ItemRef& /*item*/, const ApprovalEvent& /*approval*/) {}
  // A gate nobody here could decide: the run waits until `stagecraft approve RUN STEP`
  // approves `step`. Emitted after the gate's attempt is finished.
  virtual void OnApprovalNeeded(const ItemRef& /*item*/, const std::string& /*step*/,
                                std::string_view /*message*/) {}
  // A gate starts (true) or stops (false) waiting for a decision taken elsewhere, while
  // the run stays attached (--wait-for-approval).
  virtual void OnWaiting(const ItemRef& /*item*/, bool /*waiting*/) {}
  // A question is about to be asked on the terminal.
  virtual void OnQuestion() {}
  // What a resume needs (variables, captures, shell state; secrets removed) changed.
  virtual void OnScopeChanged(const nlohmann::json& /*scope*/) {}

  // Why no further process may start (a journal that can no longer be written), or "".
  virtual std::string Problem() const { return {}; }
  // Output that could not be kept, or "": the run stops before the next step.
  virtual std::string LostOutput() const { return {}; }
};

// Hands every event to each observer in turn, in the order they were given.
class Observers : public RunObserver {
 public:
  explicit Observers(std::vector<RunObserver*> observers) : observers_(std::move(observers)) {}

  void OnNote(NoteLevel level, std::string_view text) override;
  void OnRunPlanned(const runbook::Runbook& runbook,
                    const std::vector<const runbook::Step*>& flow) override;
  void OnStepStarted(const ItemRef& step, int total) override;
  void OnStepFinished(const ItemRef& step, const StepResult& result) override;
  void OnAttemptStarted(const ItemRef& item, int attempt) override;
  void OnProcessStarted(int64_t process_group, unsigned long long start_ticks) override;
  void OnOutput(Stream stream, std::string_view bytes) override;
  void OnAttemptFinished(const ItemRef& item, const AttemptEnd& end) override;
  void OnApproval(const ItemRef& item, const ApprovalEvent& approval) override;
  void OnApprovalNeeded(const ItemRef& item, const std::string& step,
                        std::string_view message) override;
  void OnWaiting(const ItemRef& item, bool waiting) override;
  void OnQuestion() override;
  void OnScopeChanged(const nlohmann::json& scope) override;
  std::string Problem() const override;
  std::string LostOutput() const override;

  // Output as a sink, for the process runner.
  exec::OutputSink& output() { return output_; }

 private:
  class Sink : public exec::OutputSink {
   public:
    explicit Sink(Observers& owner) : owner_(owner) {}
    void OnOutput(Stream stream, std::string_view bytes) override {
      owner_.OnOutput(stream, bytes);
    }

   private:
    Observers& owner_;
  };

  std::vector<RunObserver*> observers_;
  Sink output_{*this};
};

}  // namespace stagecraft::engine
