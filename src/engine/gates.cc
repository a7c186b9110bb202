// Approvals (gates, manual steps, confirmations) and checklists.

#include <fmt/format.h>

#include "base/text.h"
#include "engine/engine.h"

namespace stagecraft::engine {

using runbook::Action;
using runbook::ChecklistItem;

ItemResult Engine::Decide(const std::string& what) {
  ItemResult item;
  item.label = what;
  if (options_.yes) {
    item.status = StepStatus::kApproved;
    item.message = fmt::format("approved by {} (--yes)", options_.user);
  } else if (options_.approve.count(step_->name)) {
    item.status = StepStatus::kApproved;
    item.message = fmt::format("approved by {} (--approve {})", options_.user, step_->name);
  } else if (prompter_.available()) {
    observers_.OnQuestion();
    auto answer = prompter_.Ask(fmt::format("  ? {} [y/N] ", what));
    std::string lower = answer ? ToLower(Trim(*answer)) : "";
    bool yes = lower == "y" || lower == "yes";
    item.status = yes ? StepStatus::kApproved : StepStatus::kFailed;
    item.refusal = yes ? Refusal::kNone : Refusal::kDeclined;
    item.message = yes ? fmt::format("approved by {} at the prompt", options_.user)
                       : fmt::format("declined by {}", options_.user);
  } else {
    item.status = StepStatus::kFailed;
    item.refusal = Refusal::kUnanswered;
    item.message = fmt::format(
        "needs approval and there is no terminal to ask: rerun with --yes or --approve {}",
        step_->name);
  }
  return item;
}

ItemResult Engine::Gate(const std::string& what, int line) {
  ItemResult item = Decide(what);
  item.line = line;
  Note(item.status == StepStatus::kApproved ? NoteLevel::kPass : NoteLevel::kFail,
       fmt::format("{} — {}", what, item.message));
  ItemRef ref = NextItem(Trim(what), StepKind::kManual);
  observers_.OnAttemptStarted(ref, 0);
  if (item.refusal != Refusal::kUnanswered) {
    ApprovalEvent approval;
    approval.who = options_.user;
    approval.how = options_.yes || options_.approve.count(step_->name) ? ApprovalMethod::kYesFlag
                                                                       : ApprovalMethod::kPrompt;
    approval.approved = item.status == StepStatus::kApproved;
    approval.comment = item.message;
    observers_.OnApproval(ref, approval);
  }
  AttemptEnd end;
  end.status = item.status;
  end.message = item.message;
  observers_.OnAttemptFinished(ref, end);
  if (item.refusal == Refusal::kUnanswered)
    observers_.OnApprovalNeeded(ref, step_->name, item.message);
  return item;
}

// An interactive block shares the engine's stdin; when that is not a terminal nobody can
// type, and a pipe held open by a CI runner would keep the block waiting forever.
bool Engine::InteractiveWithoutTerminal(const Action& action, const std::string& what,
                                        ItemResult& item, const std::string& title, StepKind kind,
                                        StepResult& out) {
  if (options_.yes || options_.approve.count(step_->name)) {
    Note(NoteLevel::kWarn,
         fmt::format("line {}: {} needs a terminal and stdin is not one; treated as a manual step",
                     item.line, what));
    Note(NoteLevel::kDetail,
         fmt::format("{}:\n{}", action.block.interpreter, TrimRight(action.block.text)));
    ItemResult gate =
        Gate(fmt::format("manual: {} (line {}) done by hand?", item.label, item.line), item.line);
    out.items.push_back(gate);
    return gate.status == StepStatus::kApproved;
  }
  item.status = StepStatus::kFailed;
  item.message = fmt::format(
      "{} needs a terminal, and stdin is not one: run stagecraft from a terminal, or pass --yes "
      "to treat the block as a manual step",
      what);
  RecordNotRun(NextItem(title, kind), item.status, item.message);
  Note(NoteLevel::kFail, fmt::format("line {}: {}", item.line, item.message));
  out.items.push_back(item);
  return false;
}

bool Engine::RunChecklistItem(const ChecklistItem& item, int depth, StepResult& out) {
  std::string text = item.text.empty() ? "(untitled item)" : item.text;
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  if (item.is_manual()) {
    if (rolling_back_ && RollbackItemSettled(nullptr, text, item.pos.line, out)) return true;
    ItemResult gate = Gate(fmt::format("{}confirm: {}", indent, text), item.pos.line);
    gate.label = text;
    out.items.push_back(gate);
    return gate.status == StepStatus::kApproved;
  }
  if (item.is_group()) {
    Note(NoteLevel::kInfo, indent + text);
    for (const auto& child : item.children)
      if (!RunChecklistItem(child, depth + 1, out)) return false;
    return true;
  }
  Note(NoteLevel::kInfo, fmt::format("{}check: {}", indent, text));
  for (const auto& action : item.actions) {
    size_t before = out.items.size();
    bool passed = RunActionItem(action, out, &text);
    if (out.items.size() > before) out.items.back().label = text;
    if (!passed) return false;
  }
  for (const auto& child : item.children)
    if (!RunChecklistItem(child, depth + 1, out)) return false;
  return true;
}

}  // namespace stagecraft::engine
