#pragma once

// What a run produced, as the engine hands it back to its caller: one result per step of
// the flow, one per rollback block, and how the run ended.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "runbook/model.h"

namespace stagecraft::engine {

// Why a gate failed, which the journal keeps as a plain failure: the operator said no at the
// prompt, or someone rejected it with `stagecraft reject`.
enum class Refusal { kNone, kDeclined, kRejected };

// The result in the console's words: "passed", "FAILED", "declined", "not reached"...
std::string_view ConsoleWord(StepStatus status, Refusal refusal = Refusal::kNone);

// Statuses that stop the flow: the run fails (or waits, kWaiting) at the item that has one.
bool IsFailure(StepStatus status);

struct ItemResult {
  std::string label;
  StepStatus status = StepStatus::kPending;
  Refusal refusal = Refusal::kNone;
  std::string message;  // why it failed, who approved
  std::string detail;   // expectation diff, red-flag report, output excerpt
  Millis elapsed{0};
  int attempts = 0;
  int line = 0;
};

struct StepResult {
  const runbook::Step* step = nullptr;
  StepStatus status = StepStatus::kPending;
  Refusal refusal = Refusal::kNone;
  std::string message;
  Millis elapsed{0};
  int attempts = 0;
  bool over_budget = false;
  bool done_earlier = false;  // passed in an earlier session of a resumed run; not run now
  bool spawned = false;       // a block of it started a process: it may have changed things
  std::vector<ItemResult> items;
};

struct RunResult {
  RunStatus status = RunStatus::kSucceeded;
  int exit_code = 0;
  std::string message;
  std::vector<StepResult> steps;     // preflight, steps, success criteria, as reached
  std::vector<ItemResult> rollback;  // compensations and rollback procedure, in run order
  std::map<std::string, std::string> captures;
};

// How the run ended in the console's words: "rolled back", "waiting"...
std::string RunVerdict(const RunResult& result);

}  // namespace stagecraft::engine
