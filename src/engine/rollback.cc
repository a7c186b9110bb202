// Undoing: the compensations of the steps that ran, newest first, then the sections of the
// rollback procedure that runbook::DecideRollback picks (the rules `plan` shows). Every
// block runs even when an earlier one failed; an interrupt stops the rest, which are
// recorded as not run so that `stagecraft rollback` can finish the job. What the rules
// leave out is journaled as not run too, with the reason.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/engine.h"
#include "engine/outcome_text.h"
#include "runbook/rollback_rules.h"

namespace stagecraft::engine {

using runbook::Action;
using runbook::Step;

namespace {

constexpr const char* kInterruptedMessage = "not run: the rollback was interrupted";

// Did the step do anything that may need undoing? One that completed did. One that failed
// did only if it started a process: a step stopped at its gate, or before its first block
// could start, changed nothing, and undoing it could only do harm.
bool StepRan(const StepResult& result) {
  // A resume counts a skipped step as done; it still never ran.
  if (result.step->skip) return false;
  if (result.done_earlier) return true;
  switch (result.status) {
    case StepStatus::kSucceeded:
    case StepStatus::kApproved:
      return true;
    case StepStatus::kSkipped:
    case StepStatus::kPending:
      return false;
    default:
      return result.spawned;
  }
}

}  // namespace

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
  if (outcome.status == StepStatus::kFailed && action.attributes.ignore) {
    Note(NoteLevel::kWarn,
         fmt::format("{} (ignored: the block is marked ignore)", outcome.message));
    outcome.status = StepStatus::kSucceeded;
    outcome.message += " (ignored)";
  }
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
                             RunResult& result) {
  rollback_interrupted_ = rollback_interrupted_ || Interrupted();
  if (rollback_interrupted_) {
    // Recorded so that the journal shows what is still to undo.
    ItemResult item;
    item.label = label;
    item.line = action.block.pos.line;
    item.status = StepStatus::kPending;
    item.message = kInterruptedMessage;
    RecordNotRun(NextRollbackItem(label, kind), StepStatus::kSkipped, item.message);
    Note(NoteLevel::kWarn, fmt::format("{} (line {}): {}", label, item.line, item.message));
    result.rollback.push_back(std::move(item));
    return;
  }
  ItemResult item = RunRollbackBlock(label, action, kind);
  // An interrupted block did not fail: the operator stopped it, and it can be run again by
  // `stagecraft rollback`.
  rollback_failed_ = rollback_failed_ || (item.status != StepStatus::kSucceeded &&
                                          item.status != StepStatus::kInterrupted);
  rollback_interrupted_ = rollback_interrupted_ || item.status == StepStatus::kInterrupted;
  result.rollback.push_back(std::move(item));
}

void Engine::UndoStep(const Step& step, RunResult& result) {
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
  for (const auto& block : step.compensation)
    RunUndoBlock(step, runbook_.BlockAction(block), result);
}

void Engine::RunUndoBlock(const Step& step, const Action& undo, RunResult& result) {
  std::string label = fmt::format("undo {}", step.name);
  if (undo.attributes.skip && !rollback_interrupted_ && !Interrupted()) {
    ItemResult item;
    item.label = label;
    item.line = undo.block.pos.line;
    item.status = StepStatus::kSkipped;
    item.message = "skipped (skip attribute)";
    Note(NoteLevel::kInfo, fmt::format("{} (line {}): {}", label, item.line, item.message));
    RecordNotRun(NextRollbackItem(label, StepKind::kCompensation), StepStatus::kSkipped,
                 item.message);
    result.rollback.push_back(std::move(item));
    return;
  }
  if (undo.attributes.confirm && !UndoApproved(step, undo, label, result)) return;
  RunRollbackItem(label, undo, StepKind::kCompensation, result);
}

bool Engine::UndoApproved(const Step& step, const Action& undo, const std::string& label,
                          RunResult& result) {
  if (rollback_interrupted_ || Interrupted()) return true;  // recorded as not run
  // A block that passed before an interrupted rollback was approved then: its gate keeps
  // its place in the order without being asked again.
  if (options_.rollback_done.count({rollback_counter_ + 2, label})) {
    ++rollback_counter_;
    return true;
  }
  int line = undo.block.pos.line;
  const runbook::GateSpec* spec = runbook_.BlockGate(undo);
  std::string question =
      spec && !spec->prompt.empty()
          ? fmt::format("{} (undo {}, line {})", spec->prompt, step.name, line)
          : fmt::format("undo {} ({}, line {})?", step.name,
                        CodeSummary(undo.block.interpreter, undo.block.text), line);
  // The gate's role and a waiting notice name the step being undone.
  step_ = &step;
  ItemResult gate = Gate(question, line, runbook_.GateRole(step, &undo));
  step_ = nullptr;
  bool approved = gate.status == StepStatus::kApproved;
  // An undo nobody approved is not done: the rollback failed.
  rollback_failed_ = rollback_failed_ || (!approved && gate.status != StepStatus::kInterrupted);
  rollback_interrupted_ = rollback_interrupted_ || gate.status == StepStatus::kInterrupted;
  gate.label = label;
  result.rollback.push_back(std::move(gate));
  return approved;
}

bool Engine::RollbackItemSettled(const Action* action, const std::string& title, int line,
                                 StepResult& out) {
  ItemResult item;
  item.label = title;
  item.line = line;
  rollback_interrupted_ = rollback_interrupted_ || Interrupted();
  if (rollback_interrupted_) {
    item.status = StepStatus::kPending;
    item.message = kInterruptedMessage;
    RecordNotRun(NextItem(title, StepKind::kRollback), StepStatus::kSkipped, item.message);
    Note(NoteLevel::kWarn, fmt::format("{}: {}", title, item.message));
    out.items.push_back(std::move(item));
    return true;
  }
  if (!action) return false;
  // A gate before the block keeps its place, so that the blocks after it keep theirs.
  int ordinal = rollback_counter_ + (action->attributes.confirm ? 2 : 1);
  if (!options_.rollback_done.count({ordinal, title})) return false;
  rollback_counter_ = ordinal;
  item.status = StepStatus::kSucceeded;
  item.message = "done before the rollback was interrupted";
  Note(NoteLevel::kInfo, fmt::format("{}: {}", title, item.message));
  out.items.push_back(std::move(item));
  return true;
}

void Engine::RecordStepNotRun(const Step& step, const std::string& why, StepStatus status,
                              RunResult& result) {
  auto record = [&](const std::string& title, int line) {
    ItemResult item;
    item.label = title;
    item.line = line;
    item.status = status;
    item.message = why;
    RecordNotRun(NextRollbackItem(title, StepKind::kRollback), StepStatus::kSkipped, why);
    result.rollback.push_back(std::move(item));
  };
  // In document order, as they would have run, with the titles they would have had.
  step_ = &step;
  size_t next_item = 0;
  for (const Action& action : step.actions) {
    for (; next_item < step.checklist.size() &&
           step.checklist[next_item].pos.line < action.block.pos.line;
         ++next_item)
      record(step.checklist[next_item].text, step.checklist[next_item].pos.line);
    record(BlockTitle(action), action.block.pos.line);
  }
  for (; next_item < step.checklist.size(); ++next_item)
    record(step.checklist[next_item].text, step.checklist[next_item].pos.line);
}

void Engine::RunRollbackStep(const Step& step, RunResult& result) {
  rollback_interrupted_ = rollback_interrupted_ || Interrupted();
  if (rollback_interrupted_) {
    Note(NoteLevel::kWarn, fmt::format("{}: {}", step.name, kInterruptedMessage));
    RecordStepNotRun(step, kInterruptedMessage, StepStatus::kPending, result);
    return;
  }
  Note(NoteLevel::kInfo, fmt::format("rollback procedure: {}", step.title));
  // The section runs as a step of the normal flow would: its gates, manual directive,
  // timeouts, skip, ignore and interactive blocks mean what they mean there.
  step_ = &step;
  StepResult body;
  body.step = &step;
  if (step.manual)
    RunManualStep(step, body);
  else
    RunStepItems(step, body);
  for (ItemResult& item : body.items) {
    // A gate nobody approved leaves its part of the undo not done: that is a failure too.
    rollback_failed_ =
        rollback_failed_ || (IsFailure(item.status) && item.status != StepStatus::kInterrupted);
    rollback_interrupted_ = rollback_interrupted_ || item.status == StepStatus::kInterrupted;
    result.rollback.push_back(std::move(item));
  }
}

void Engine::RunProcedure(const std::set<std::string>& ran, bool changed, RunResult& result) {
  runbook::RunSoFar so_far;
  so_far.changed = changed;
  so_far.ran = [&](const std::string& name) { return ran.count(name) > 0; };
  for (const runbook::RollbackDecision& decision :
       runbook::DecideRollback(runbook_, so_far, chosen_)) {
    if (decision.runs()) {
      RunRollbackStep(*decision.step, result);
      continue;
    }
    std::string why = "not run: " + decision.Reason();
    Note(NoteLevel::kInfo, fmt::format("rollback procedure: {} ({})", decision.step->title, why));
    RecordStepNotRun(*decision.step, why, StepStatus::kSkipped, result);
  }
}

bool Engine::Rollback(RunResult& result) {
  Note(NoteLevel::kHeading, "Rolling back");
  // A journal that broke must not keep the damage in place: undoing is journaled as far
  // as the journal allows, and runs regardless.
  rolling_back_ = true;
  rollback_failed_ = false;
  rollback_interrupted_ = false;
  if (!observers_.Problem().empty())
    Note(NoteLevel::kWarn, "the journal cannot be written; rolling back without journaling");
  size_t first = result.rollback.size();
  // Compensations of the steps that ran, newest first, the failed one included: it may
  // have done half its work.
  std::set<std::string> ran;
  bool changed = false;
  for (size_t i = result.steps.size(); i-- > 0;) {
    const StepResult& step_result = result.steps[i];
    if (step_result.step->kind != StepKind::kStep || !StepRan(step_result)) continue;
    ran.insert(step_result.step->name);
    changed = changed || runbook::ChangesThings(*step_result.step);
    // Undo blocks run without the limits of the step they undo.
    step_ = nullptr;
    UndoStep(*step_result.step, result);
  }
  RunProcedure(ran, changed, result);
  bool undone = std::any_of(result.rollback.begin() + static_cast<std::ptrdiff_t>(first),
                            result.rollback.end(), [](const ItemResult& item) {
                              return item.status != StepStatus::kSkipped &&
                                     item.status != StepStatus::kPending;
                            });
  if (rollback_interrupted_) {
    result.status = RunStatus::kInterrupted;
    result.exit_code = rollback_failed_ ? 3 : 130;
    result.message += "; rollback interrupted";
  } else if (rollback_failed_) {
    result.status = RunStatus::kRollbackFailed;
    result.exit_code = 3;
    result.message += "; rollback failed";
  } else if (!undone) {
    result.message += changed ? "; nothing was rolled back"
                              : "; nothing was rolled back: no step that changes things had run";
  } else {
    result.message += "; rolled back";
  }
  return undone || rollback_failed_ || rollback_interrupted_;
}

RunResult Engine::RollbackOnly() {
  RunResult result;
  if (!Prepare(result, /*check_requirements=*/false)) {
    Note(NoteLevel::kFail, result.message);
    return result;
  }
  for (const Step* step : Flow()) {
    StepResult entry;
    entry.step = step;
    if (options_.completed_steps.count(step->name)) entry.status = StepStatus::kSucceeded;
    result.steps.push_back(entry);
  }
  result.status = RunStatus::kFailed;
  result.exit_code = 0;
  result.message = "rollback requested";
  bool undone = Rollback(result);
  if (result.status == RunStatus::kFailed)
    result.status = undone ? RunStatus::kRolledBack : options_.status_before;
  return result;
}

}  // namespace stagecraft::engine
