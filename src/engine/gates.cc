// Approvals (gates, manual steps, confirmations) and checklists.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/duration.h"
#include "base/text.h"
#include "engine/engine.h"

namespace stagecraft::engine {

using runbook::Action;
using runbook::ChecklistItem;

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string Engine::ApproversOf(std::string_view role) const {
  const runbook::ApproverRole* declared = runbook_.FindRole(role);
  if (!declared) return "";
  return fmt::format("{} ({}) must approve it: ", role, fmt::join(declared->accounts, ", "));
}

std::string Engine::HowToApprove(std::string_view role) const {
  std::string who = ApproversOf(role);
  if (options_.run_id.empty() || !options_.recorded_decision)
    return who.empty() ? fmt::format("rerun with --yes or --approve {}", step_->name)
                       : who + "no journal to record it in";
  return fmt::format("{}stagecraft approve {} {}, then stagecraft resume {}", who, options_.run_id,
                     step_->name, options_.run_id);
}

bool Engine::MayDecideHere(std::string_view role) const {
  if (role.empty()) return true;
  const runbook::ApproverRole* declared = runbook_.FindRole(role);
  if (!declared || !runbook_.front_matter.allow_self_approval) return false;
  return std::find(declared->accounts.begin(), declared->accounts.end(), options_.user) !=
         declared->accounts.end();
}

std::optional<ItemResult> Engine::RecordedDecisionFor() {
  if (!options_.recorded_decision || rolling_back_) return std::nullopt;
  std::optional<RecordedDecision> decision = options_.recorded_decision(step_->name);
  if (!decision) return std::nullopt;
  ItemResult item;
  std::string comment = decision->comment.empty() ? "" : fmt::format(": {}", decision->comment);
  if (decision->approved) {
    item.status = StepStatus::kApproved;
    item.message = fmt::format("approved by {} (stagecraft approve){}", decision->who, comment);
  } else {
    item.status = StepStatus::kFailed;
    item.refusal = Refusal::kRejected;
    item.message = fmt::format("rejected by {}{}", decision->who, comment);
  }
  return item;
}

std::optional<ItemResult> Engine::WaitForDecision(const ItemRef& ref, std::string_view role) {
  if (!options_.recorded_decision || options_.run_id.empty() || rolling_back_) return std::nullopt;
  bool bounded = options_.wait_for_approval > Millis(0);
  // An operator at a terminal who may not decide the gate stays attached rather than being
  // sent away at once, so that a decision taken elsewhere carries the run on without a
  // resume; Ctrl-C still leaves it waiting.
  if (!bounded && (!prompter_.available() || MayDecideHere(role))) return std::nullopt;
  Note(NoteLevel::kWarn,
       bounded
           ? fmt::format("waiting up to {} for approval: stagecraft approve {} {}",
                         FormatDuration(options_.wait_for_approval), options_.run_id, step_->name)
           : fmt::format("waiting for approval: {}stagecraft approve {} {} (Ctrl-C leaves "
                         "the run waiting)",
                         ApproversOf(role), options_.run_id, step_->name));
  observers_.OnWaiting(ref, true);
  auto start = Clock::now();
  auto deadline = start + options_.wait_for_approval;
  std::optional<ItemResult> decided;
  while (!(decided = RecordedDecisionFor()) && !Interrupted() &&
         (!bounded || Clock::now() < deadline))
    InterruptibleSleep(
        bounded ? std::min<Millis>(
                      options_.approval_poll,
                      std::chrono::duration_cast<Millis>(deadline - Clock::now()) + Millis(1))
                : options_.approval_poll);
  waited_ += std::chrono::duration_cast<Millis>(Clock::now() - start);
  if (decided) observers_.OnWaiting(ref, false);
  return decided;
}

ItemResult Engine::AskAtThePrompt(const std::string& what, const ItemRef& ref,
                                  std::optional<ApprovalMethod>& how) {
  // `stagecraft approve` accepts a decision only for a run the journal shows waiting at
  // this gate, so it shows that while the question is up.
  bool journaled = options_.recorded_decision && !options_.run_id.empty() && !rolling_back_;
  if (journaled) observers_.OnWaiting(ref, true);
  observers_.OnQuestion();
  std::optional<ItemResult> recorded;
  auto stop = [&] { return Interrupted() || (journaled && (recorded = RecordedDecisionFor())); };
  PromptReply reply =
      prompter_.AskOrStop(fmt::format("  ? {} [y/N] ", what), stop, options_.approval_poll);
  if (journaled) observers_.OnWaiting(ref, false);
  if (recorded) return *recorded;
  how = ApprovalMethod::kPrompt;
  std::string lower = reply.answer ? ToLower(Trim(*reply.answer)) : "";
  bool yes = lower == "y" || lower == "yes";
  ItemResult item;
  item.status = yes ? StepStatus::kApproved : StepStatus::kFailed;
  item.refusal = yes ? Refusal::kNone : Refusal::kDeclined;
  item.message = yes ? fmt::format("approved by {} at the prompt", options_.user)
                     : fmt::format("declined by {}", options_.user);
  return item;
}

ItemResult Engine::Decide(const std::string& what, const ItemRef& ref, std::string_view role,
                          std::optional<ApprovalMethod>& how) {
  ItemResult item;
  item.label = what;
  // A gate that needs a role is decided by one of its accounts with `stagecraft approve`,
  // or at the prompt by an operator who holds the role where approving one's own run is
  // allowed; --yes and --approve, given before anyone saw the gate, decide only gates that
  // need no role.
  bool here = MayDecideHere(role);
  if (options_.yes && role.empty()) {
    how = ApprovalMethod::kYesFlag;
    item.status = StepStatus::kApproved;
    item.message = fmt::format("approved by {} (--yes)", options_.user);
  } else if (options_.approve.count(step_->name) && role.empty()) {
    how = ApprovalMethod::kYesFlag;
    item.status = StepStatus::kApproved;
    item.message = fmt::format("approved by {} (--approve {})", options_.user, step_->name);
  } else if (std::optional<ItemResult> recorded = RecordedDecisionFor()) {
    item = *recorded;
  } else if (std::optional<ItemResult> waited = WaitForDecision(ref, role)) {
    item = *waited;
  } else if (prompter_.available() && options_.wait_for_approval <= Millis(0) && here) {
    item = AskAtThePrompt(what, ref, how);
  } else {
    // A rollback cannot wait: what it leaves undone is someone's to finish (rollback_failed).
    item.status = rolling_back_ ? StepStatus::kFailed : StepStatus::kWaiting;
    item.message = rolling_back_ ? fmt::format(
                                       "needs approval and nobody could give it: rerun "
                                       "with --yes or --approve {}",
                                       step_->name)
                                 : "waiting for approval: " + HowToApprove(role);
  }
  item.label = what;
  return item;
}

ItemResult Engine::Gate(const std::string& what, int line, std::string_view role) {
  ItemRef ref = NextItem(Trim(what), StepKind::kManual);
  observers_.OnAttemptStarted(ref, 0);
  // Left empty by decisions `stagecraft approve` or `reject` journaled already.
  std::optional<ApprovalMethod> how;
  ItemResult item = Decide(what, ref, role, how);
  item.line = line;
  NoteLevel level = item.status == StepStatus::kApproved  ? NoteLevel::kPass
                    : item.status == StepStatus::kWaiting ? NoteLevel::kWarn
                                                          : NoteLevel::kFail;
  Note(level, fmt::format("{} — {}", what, item.message));
  if (how) {
    ApprovalEvent approval;
    approval.who = options_.user;
    approval.how = *how;
    approval.approved = item.status == StepStatus::kApproved;
    approval.comment = item.message;
    observers_.OnApproval(ref, approval);
  }
  AttemptEnd end;
  end.status = item.status;
  end.message = item.message;
  observers_.OnAttemptFinished(ref, end);
  if (item.status == StepStatus::kWaiting)
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
    ItemResult gate = Gate(fmt::format("{}confirm: {}", indent, text), item.pos.line,
                           runbook_.GateRole(*step_, nullptr));
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
