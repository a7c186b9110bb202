#include "engine/resume_plan.h"

#include <map>

#include "runbook/fingerprint.h"

namespace stagecraft::engine {
namespace {

bool IsStepRecord(const journal::StepRecord& record) {
  return journal::IsFlowStep(record);
}

// The position of a rollback block in the rollback, or 0 for other records.
int RollbackOrdinal(const journal::StepRecord& record) {
  return IsRollbackKind(record.kind) ? record.ordinal : 0;
}

const runbook::Step* FindStep(const runbook::Runbook& runbook, const std::string& name) {
  for (const auto& step : runbook.steps)
    if (step.name == name) return &step;
  return nullptr;
}

}  // namespace

ResumePlan PlanResume(const runbook::Runbook& runbook,
                      const std::vector<journal::StepRecord>& journaled, InterruptedSteps how) {
  ResumePlan plan;
  for (const auto& record : journaled) {
    if (!IsStepRecord(record)) continue;
    switch (record.status) {
      case StepStatus::kSucceeded:
      case StepStatus::kSkipped:
      case StepStatus::kApproved:
        plan.completed.insert(record.key);
        break;
      case StepStatus::kRunning:
      case StepStatus::kInterrupted: {
        const runbook::Step* step = FindStep(runbook, record.key);
        if (how == InterruptedSteps::kSkip)
          plan.completed.insert(record.key);
        else if (how == InterruptedSteps::kDecideEach && !(step && step->idempotent))
          plan.undecided.push_back(record.key);
        break;
      }
      case StepStatus::kPending:
      case StepStatus::kFailed:
      case StepStatus::kWaiting:
        break;
    }
  }
  return plan;
}

RollbackPlan PlanRollback(const std::vector<journal::StepRecord>& journaled,
                          const std::vector<journal::AttemptRecord>& attempts) {
  // The process group is journaled before the process may act (the start gate), so a step
  // without one started nothing.
  std::set<std::string> spawned;
  for (const auto& attempt : attempts) {
    if (!attempt.process_group) continue;
    spawned.insert(attempt.step_key);
    if (!attempt.parent_key.empty()) spawned.insert(attempt.parent_key);
  }
  RollbackPlan plan;
  for (const auto& record : journaled) {
    if (IsStepRecord(record)) {
      bool finished =
          record.status == StepStatus::kSucceeded || record.status == StepStatus::kApproved;
      bool stopped = record.status == StepStatus::kRunning ||
                     record.status == StepStatus::kInterrupted ||
                     record.status == StepStatus::kFailed;
      if (finished || (stopped && spawned.count(record.key))) plan.to_undo.insert(record.key);
    } else if (int ordinal = RollbackOrdinal(record);
               ordinal > 0 && record.status == StepStatus::kSucceeded) {
      plan.already_undone.insert({ordinal, record.title});
    }
  }
  return plan;
}

std::vector<std::string> ChangedSteps(const runbook::Runbook& runbook,
                                      const std::vector<journal::StepRecord>& journaled) {
  std::map<std::string, std::string> now;
  for (const auto& step : runbook.steps)
    now[step.name] = runbook::StepContentHash(step);
  std::vector<std::string> changed;
  std::set<std::string> seen;
  for (const auto& record : journaled) {
    if (!IsStepRecord(record)) continue;
    seen.insert(record.key);
    auto found = now.find(record.key);
    if (found == now.end())
      changed.push_back(record.key + " (removed)");
    else if (found->second != record.content_hash)
      changed.push_back(record.key + " (changed)");
  }
  for (const auto& step : runbook.steps)
    if (step.kind != StepKind::kRollback && !seen.count(step.name))
      changed.push_back(step.name + " (new)");
  return changed;
}

}  // namespace stagecraft::engine
