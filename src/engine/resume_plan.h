#pragma once

// What `resume` and `rollback` make of a run an earlier session journaled: which steps are
// done, which must run again, which the operator must decide about, what is left to undo.
// Pure decisions on journal records; asking and printing are the caller's.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "journal/records.h"
#include "runbook/model.h"

namespace stagecraft::engine {

// What to do with steps that were running when the earlier session stopped.
enum class InterruptedSteps {
  kDecideEach,  // idempotent ones run again; the others are undecided
  kRerun,       // --rerun-interrupted
  kSkip,        // --skip-interrupted: they finished
};

struct ResumePlan {
  // Steps not run again: finished, skipped, approved, or declared finished.
  std::set<std::string> completed;
  // Interrupted steps that are not idempotent: the operator says whether they finished.
  std::vector<std::string> undecided;
};

ResumePlan PlanResume(const runbook::Runbook& runbook,
                      const std::vector<journal::StepRecord>& journaled, InterruptedSteps how);

struct RollbackPlan {
  // Steps that ran, whose compensations run and which the rollback procedure's rules count:
  // finished ones, and those that stopped (running, interrupted, failed) after one of their
  // blocks started a process. One stopped before that (at its gate) changed nothing.
  std::set<std::string> to_undo;
  // Rollback blocks that passed in an interrupted rollback, by position and title: not
  // undone twice.
  std::set<std::pair<int, std::string>> already_undone;
};

RollbackPlan PlanRollback(const std::vector<journal::StepRecord>& journaled,
                          const std::vector<journal::AttemptRecord>& attempts);

// The steps that differ between the runbook and the run's journal: "name (changed)",
// "name (removed)", "name (new)". Empty when only the order or the rollback changed.
std::vector<std::string> ChangedSteps(const runbook::Runbook& runbook,
                                      const std::vector<journal::StepRecord>& journaled);

}  // namespace stagecraft::engine
