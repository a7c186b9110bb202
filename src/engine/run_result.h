#pragma once

// What a run produced, as the engine hands it back to its caller: one result per step of
// the flow, one per rollback block, and how the run ended.

#include <map>
#include <string>
#include <vector>

#include "base/duration.h"
#include "runbook/model.h"

namespace stagecraft::engine {

enum class ItemStatus {
  kPassed,
  kFailed,
  kSkipped,
  kApproved,  // a gate or manual confirmation approved by someone
  kWaiting,   // a gate nobody could answer
  kDeclined,  // a gate the operator refused
  kInterrupted,
  kNotReached,
};
const char* ItemStatusName(ItemStatus status);

// Statuses that stop the flow: the run fails (or waits) at the item that has one.
bool IsFailure(ItemStatus status);

struct ItemResult {
  std::string label;
  ItemStatus status = ItemStatus::kNotReached;
  std::string message;  // why it failed, who approved
  std::string detail;   // expectation diff, red-flag report, output excerpt
  Millis elapsed{0};
  int attempts = 0;
  int line = 0;
};

struct StepResult {
  const runbook::Step* step = nullptr;
  ItemStatus status = ItemStatus::kNotReached;
  std::string message;
  Millis elapsed{0};
  int attempts = 0;
  bool over_budget = false;
  bool done_earlier = false;  // passed in an earlier session of a resumed run; not run now
  bool spawned = false;       // a block of it started a process: it may have changed things
  std::vector<ItemResult> items;
};

enum class RunStatus {
  kSucceeded,
  kFailed,
  kRolledBack,
  kRollbackFailed,
  kStopped,
  kWaiting,
  kInterrupted
};
const char* RunStatusName(RunStatus status);

struct RunResult {
  RunStatus status = RunStatus::kSucceeded;
  int exit_code = 0;
  std::string message;
  std::vector<StepResult> steps;     // preflight, steps, success criteria, as reached
  std::vector<ItemResult> rollback;  // compensations and rollback procedure, in run order
  std::map<std::string, std::string> captures;
};

}  // namespace stagecraft::engine
