// Undoing: the compensations of the steps that ran, newest first, then the rollback
// procedure. Every block runs even when an earlier one failed; an interrupt stops the
// rest, which are recorded as not run so that `stagecraft rollback` can finish the job.

#include <fmt/format.h>

#include <chrono>

#include "engine/engine.h"
#include "engine/outcome_text.h"

namespace stagecraft::engine {

using runbook::Action;
using runbook::Step;

ItemRef Engine::NextRollbackItem(const std::string& title, StepKind kind) {
  ItemRef item;
  item.scope = ItemRef::Scope::kRollback;
  item.ordinal = ++rollback_counter_;
  item.title = title;
  item.kind = kind;
  item.phase = "Rollback";
  return item;
}

ItemResult Engine::RunRollbackBlock(const std::string& label, const Action& action, StepKind kind) {
  ItemResult item;
  item.label = label;
  item.line = action.block.pos.line;
  ItemRef ref = NextRollbackItem(label, kind);
  if (options_.rollback_done.count({ref.ordinal, label})) {
    // The rollback runs in the same order every time, so the same position and title name
    // the same block: it passed before the earlier rollback was interrupted.
    item.status = StepStatus::kSucceeded;
    item.message = "done before the rollback was interrupted";
    Note(NoteLevel::kInfo, fmt::format("{} (line {}): {}", label, item.line, item.message));
    return item;
  }
  Note(NoteLevel::kInfo,
       fmt::format("$ {}", CodeSummary(action.block.interpreter, action.block.text)));
  auto start = std::chrono::steady_clock::now();
  BlockOutcome outcome = RunBlock(ref, action, action.block.text, nullptr);
  item.status = outcome.status;
  item.message = outcome.message;
  item.detail = outcome.detail;
  item.attempts = outcome.attempts;
  item.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  if (item.status == StepStatus::kSucceeded) {
    Note(NoteLevel::kPass, label);
  } else {
    Note(NoteLevel::kFail, fmt::format("{}: {}", label, item.message));
    if (!item.detail.empty()) Note(NoteLevel::kDetail, item.detail);
  }
  return item;
}

void Engine::RunRollbackItem(const std::string& label, const Action& action, StepKind kind,
                             RunResult& result, bool& any_failed, bool& interrupted) {
  interrupted |= Interrupted();
  if (interrupted) {
    // Recorded so that the journal shows what is still to undo.
    ItemResult item;
    item.label = label;
    item.line = action.block.pos.line;
    item.status = StepStatus::kPending;
    item.message = "not run: the rollback was interrupted";
    RecordNotRun(NextRollbackItem(label, kind), StepStatus::kSkipped, item.message);
    Note(NoteLevel::kWarn, fmt::format("{} (line {}): {}", label, item.line, item.message));
    result.rollback.push_back(std::move(item));
    return;
  }
  ItemResult item = RunRollbackBlock(label, action, kind);
  // An interrupted block did not fail: the operator stopped it, and it can be run again by
  // `stagecraft rollback`.
  any_failed |= item.status != StepStatus::kSucceeded && item.status != StepStatus::kInterrupted;
  interrupted |= item.status == StepStatus::kInterrupted;
  result.rollback.push_back(std::move(item));
}

void Engine::UndoStep(const Step& step, RunResult& result, bool& any_failed, bool& interrupted) {
  for (const auto& note : step.rollback_notes) {
    ItemResult item;
    item.label = fmt::format("{}: manual note", step.name);
    item.status = StepStatus::kSkipped;
    item.message = note;
    item.line = step.pos.line;
    Note(NoteLevel::kInfo, fmt::format("{} (manual): {}", step.name, note));
    RecordNotRun(NextRollbackItem(fmt::format("Undo: {} (manual note)", step.title),
                                  StepKind::kCompensation),
                 StepStatus::kSkipped, note);
    result.rollback.push_back(item);
  }
  for (const auto& block : step.compensation) {
    Action compensation;
    compensation.block = block;
    RunRollbackItem(fmt::format("undo {}", step.name), compensation, StepKind::kCompensation,
                    result, any_failed, interrupted);
  }
}

void Engine::Rollback(size_t failed_index, RunResult& result) {
  Note(NoteLevel::kHeading, "Rolling back");
  // A journal that broke must not keep the damage in place: undoing is journaled as far
  // as the journal allows, and runs regardless.
  rolling_back_ = true;
  if (!observers_.Problem().empty())
    Note(NoteLevel::kWarn, "the journal cannot be written; rolling back without journaling");
  bool any_failed = false;
  bool interrupted = false;
  // Compensations of the steps that ran, newest first, the failed one included: it may
  // have done half its work.
  for (size_t i = failed_index + 1; i-- > 0;) {
    const StepResult& step_result = result.steps[i];
    if (step_result.step->kind != StepKind::kStep || step_result.status == StepStatus::kSkipped ||
        step_result.status == StepStatus::kPending)
      continue;
    UndoStep(*step_result.step, result, any_failed, interrupted);
  }
  for (const Step& step : runbook_.steps) {
    if (step.kind != StepKind::kRollback || step.skip) continue;
    if (!interrupted) Note(NoteLevel::kInfo, fmt::format("rollback procedure: {}", step.title));
    // Whole actions, so that the procedure's `until`, `retries`, `timeout` and
    // expectations apply during a rollback as they do in the normal flow.
    for (const auto& action : step.actions)
      RunRollbackItem(fmt::format("{} (line {})", step.name, action.block.pos.line), action,
                      StepKind::kRollback, result, any_failed, interrupted);
  }
  if (interrupted) {
    result.status = RunStatus::kInterrupted;
    result.exit_code = any_failed ? 3 : 130;
    result.message += "; rollback interrupted";
  } else if (any_failed) {
    result.status = RunStatus::kRollbackFailed;
    result.exit_code = 3;
    result.message += "; rollback failed";
  } else {
    result.message += "; rolled back";
  }
}

RunResult Engine::RollbackOnly() {
  RunResult result;
  if (!Prepare(result, /*check_requirements=*/false)) {
    Note(NoteLevel::kFail, result.message);
    return result;
  }
  std::vector<const Step*> flow = Flow();
  size_t last_completed = 0;
  bool any = false;
  for (size_t i = 0; i < flow.size(); ++i) {
    StepResult step;
    step.step = flow[i];
    if (options_.completed_steps.count(flow[i]->name)) {
      step.status = StepStatus::kSucceeded;
      last_completed = i;
      any = true;
    }
    result.steps.push_back(step);
  }
  result.status = RunStatus::kFailed;
  result.exit_code = 0;
  result.message = "rollback requested";
  if (!any && flow.empty()) return result;
  Rollback(any ? last_completed : 0, result);
  if (result.status == RunStatus::kFailed) result.status = RunStatus::kRolledBack;
  return result;
}

}  // namespace stagecraft::engine
