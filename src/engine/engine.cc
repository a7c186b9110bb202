#include "engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/text.h"
#include "engine/outcome_text.h"
#include "engine/preflight.h"
#include "exec/shell_declarations.h"
#include "runbook/walk.h"

namespace stagecraft::engine {

using runbook::Step;
using Clock = std::chrono::steady_clock;

std::string_view ConsoleWord(StepStatus status, Refusal refusal) {
  if (refusal == Refusal::kDeclined) return "declined";
  if (refusal == Refusal::kRejected) return "rejected";
  switch (status) {
    case StepStatus::kSucceeded:
      return "passed";
    case StepStatus::kFailed:
      return "FAILED";
    case StepStatus::kPending:
      return "not reached";
    default:
      return Name(status);
  }
}

bool IsFailure(StepStatus status) {
  return status == StepStatus::kFailed || status == StepStatus::kInterrupted ||
         status == StepStatus::kWaiting;
}

std::string RunVerdict(const RunResult& result) {
  std::string words(Name(result.status));
  std::replace(words.begin(), words.end(), '_', ' ');
  return words;
}

namespace {

Millis Since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

// Unusable input or a broken journal: the run stops with exit code 2.
void Stop(RunResult& result, std::string message) {
  result.status = RunStatus::kStopped;
  result.exit_code = 2;
  result.message = std::move(message);
}

void MarkNotReached(const std::vector<const Step*>& flow, size_t from, RunResult& result) {
  for (size_t rest = from; rest < flow.size(); ++rest) {
    StepResult not_reached;
    not_reached.step = flow[rest];
    result.steps.push_back(not_reached);
  }
}

std::string PhaseOf(const runbook::Runbook& runbook, const Step& step) {
  if (step.phase < 0 || step.phase >= static_cast<int>(runbook.phases.size())) return "";
  return runbook.phases[step.phase].title;
}

}  // namespace

Engine::Engine(const runbook::Runbook& runbook, Runner& runner, Prompter& prompter,
               exec::InterruptWatcher* interrupts, EngineOptions options,
               std::vector<RunObserver*> observers)
    : runbook_(runbook),
      runner_(runner),
      prompter_(prompter),
      interrupts_(interrupts),
      options_(std::move(options)),
      observers_(std::move(observers)),
      captures_(options_.restored_captures) {
  for (const auto& [name, value] : Scope()) {
    if (!exec::LooksSecret(name)) continue;
    masker_.Add(value);
    secret_templates_.Add(name, value);
  }
  SettleChoices();
}

std::map<std::string, std::string> Engine::Scope() const {
  return runbook::Scope(runbook_, options_.environment, options_.cli_vars);
}

bool Engine::Prepare(RunResult& result, bool check_requirements) {
  // A secret's command may use the scope's variables.
  for (const auto& [name, value] : Scope())
    runner_.SetVariable(name, value);
  auto secrets = ResolveSecrets(runbook_, options_.process_env, runner_);
  if (!secrets.ok()) {
    Stop(result, secrets.error());
    return false;
  }
  for (const SecretValue& secret : secrets.value()) {
    masker_.Add(secret.value);
    known_secret_values_.insert(secret.value);
    secret_templates_.Add(secret.name, secret.value);
  }
  if (!PrepareSession(result)) return false;
  if (!check_requirements) return true;
  if (Status ready = CheckRequirements(runbook_, runner_, observers_); !ready.ok()) {
    Stop(result, ready.message());
    return false;
  }
  return true;
}

bool Engine::PrepareSession(RunResult& result) {
  std::string problem;
  auto fill = [&](const std::string& templated) {
    Result<std::string> filled = secret_templates_.Fill(templated);
    if (filled.ok()) return filled.value();
    problem = filled.error();
    return std::string();
  };
  if (options_.restored_shell_state)
    runner_.RestoreState(fill(*options_.restored_shell_state), options_.restored_cwd);
  for (const auto& [name, value] : Scope())
    runner_.SetVariable(name, value);
  for (const auto& [name, templated] : options_.restored_capture_templates)
    captures_[name] = fill(templated);
  for (const auto& [name, value] : captures_)
    runner_.SetVariable(name, value);
  for (const auto& [name, value] : options_.resupplied) {
    masker_.Add(value);
    if (captures_.count(name)) captures_[name] = value;
    runner_.SetVariable(name, value);
  }
  if (problem.empty()) return true;
  Stop(result, "cannot restore the run's variables: " + problem);
  return false;
}

std::vector<const Step*> Engine::Flow() const {
  std::vector<const Step*> flow;
  for (StepKind kind : {StepKind::kPreflight, StepKind::kStep, StepKind::kSuccessCriteria})
    for (const Step& step : runbook_.steps)
      if (step.kind == kind) flow.push_back(&step);
  return flow;
}

ItemRef Engine::NextItem(const std::string& title, StepKind kind) {
  // The rollback procedure's items are the rollback's, whatever they are.
  if (rolling_back_) return NextRollbackItem(title, StepKind::kRollback);
  ItemRef item;
  item.scope = ItemRef::Scope::kItem;
  item.step = step_->name;
  item.step_number = step_number_;
  item.ordinal = ++item_counter_;
  item.title = title;
  item.kind = kind;
  item.phase = PhaseOf(runbook_, *step_);
  item.budget = step_->budget;
  return item;
}

void Engine::RecordNotRun(const ItemRef& item, StepStatus status, const std::string& why) {
  observers_.OnAttemptStarted(item, 0);
  AttemptEnd end;
  end.status = status;
  end.message = why;
  observers_.OnAttemptFinished(item, end);
}

void Engine::SaveScope() {
  // Values a resume cannot get back: masked ones (they held a secret in a form that is not
  // a registered value, e.g. encoded or learned from a block's export) and withheld ones.
  std::set<std::string> lost;
  nlohmann::json vars = nlohmann::json::object();
  const std::map<std::string, std::string> scope_vars = Scope();
  for (const auto& [name, value] : scope_vars)
    if (!exec::LooksSecret(name)) vars[name] = masker_.Mask(value);
  nlohmann::json captures = nlohmann::json::object();
  nlohmann::json capture_templates = nlohmann::json::object();
  for (const auto& [name, value] : captures_) {
    if (exec::LooksSecret(name)) {
      lost.insert(name);
      continue;
    }
    captures[name] = masker_.Mask(value);
    std::optional<std::string> templated = secret_templates_.Template(value);
    if (!templated || masker_.Mask(*templated) != *templated)
      lost.insert(name);
    else if (*templated != value)
      capture_templates[name] = *templated;
  }
  std::string state = runner_.PersistableState();
  std::string stored = secret_templates_.Template(state).value_or(state);
  if (std::string masked = masker_.Mask(stored); masked != stored) {
    for (const exec::ShellDeclaration& declaration : exec::ParseDeclarations(stored))
      if (masker_.Mask(declaration.text) != declaration.text) lost.insert(declaration.name);
    stored = std::move(masked);
  }
  for (const std::string& name : runner_.WithheldVariables())
    if (!scope_vars.count(name)) lost.insert(name);
  nlohmann::json scope = {{"vars", std::move(vars)},
                          {"captures", std::move(captures)},
                          {"cwd", runner_.cwd()},
                          {"shell_state", std::move(stored)}};
  if (!capture_templates.empty()) scope["capture_templates"] = std::move(capture_templates);
  if (!lost.empty()) scope["unrestorable"] = lost;
  if (!answered_.empty()) scope["chosen"] = answered_;
  // Most steps change nothing a resume needs; a write per step would cost a commit each.
  if (scope == saved_scope_) return;
  observers_.OnScopeChanged(scope);
  saved_scope_ = std::move(scope);
}

bool Engine::StopIfJournalBroken(RunResult& result) {
  if (options_.lock_problem) {
    if (std::string problem = options_.lock_problem(); !problem.empty()) {
      Stop(result, fmt::format("this run no longer holds its lock ({}); stopped so that two "
                               "runs never overlap",
                               problem));
      return true;
    }
  }
  std::string problem = observers_.Problem();
  if (problem.empty()) problem = observers_.LostOutput();
  if (problem.empty()) return false;
  Stop(result,
       fmt::format("the journal cannot be written ({}); stopped so that nothing runs unjournaled",
                   problem));
  return true;
}

StepResult Engine::RunStep(const Step& step, int number, int total) {
  StepResult result;
  result.step = &step;
  std::string budget = step.budget ? fmt::format(", budget {}", FormatDuration(*step.budget)) : "";
  Note(NoteLevel::kHeading,
       fmt::format("[{}/{}] {} — {}{}", number, total, step.name, step.title, budget));
  step_ = &step;
  step_number_ = number;
  item_counter_ = 0;
  ItemRef ref;
  ref.step = step.name;
  ref.step_number = number;
  ref.title = step.title;
  ref.phase = PhaseOf(runbook_, step);
  ref.budget = step.budget;
  observers_.OnStepStarted(ref, total);
  if (!observers_.Problem().empty()) {
    result.status = StepStatus::kFailed;
    result.message = "not started: the journal cannot be written";
  } else {
    spawned_ = false;
    RunStepBody(step, result);
    result.spawned = spawned_;
    SaveScope();
  }
  observers_.OnStepFinished(ref, result);
  return result;
}

void Engine::RunStepBody(const Step& step, StepResult& result) {
  auto start = Clock::now();
  if (step.skip) {
    result.status = StepStatus::kSkipped;
    result.message = "skipped (skip directive)";
    Note(NoteLevel::kInfo, result.message);
    return;
  }
  if (std::string instead = choice_.RunsInstead(step); !instead.empty()) {
    result.status = StepStatus::kSkipped;
    result.message = "not run: alternative to " + instead;
    Note(NoteLevel::kInfo, result.message);
    return;
  }
  // Time spent waiting for someone's approval is not the step's work.
  waited_ = Millis(0);
  if (step.manual) {
    RunManualStep(step, result);
    result.elapsed = Since(start) - waited_;
    return;
  }
  RunStepItems(step, result);
  result.elapsed = Since(start) - waited_;
  ConcludeStep(step, result);
}

std::string Engine::BlockTitle(const runbook::Action& action) const {
  const std::optional<std::string_view>& name = action.attributes.name;
  std::string label =
      rolling_back_ ? step_->name : CodeSummary(action.block.interpreter, action.block.text);
  if (name)
    label =
        rolling_back_ ? fmt::format("{} — {}", label, *name) : fmt::format("{} — {}", *name, label);
  return fmt::format("{} (line {})", label, action.block.pos.line);
}

void Engine::RunManualStep(const Step& step, StepResult& result) {
  for (const auto& action : step.actions)
    Note(NoteLevel::kDetail,
         fmt::format("{}:\n{}", action.block.interpreter, TrimRight(action.block.text)));
  ItemResult gate = Gate(fmt::format("manual step {}: done as shown above?", step.name),
                         step.pos.line, runbook_.GateRole(step, nullptr));
  result.items.push_back(gate);
  result.status = gate.status;
  result.message = gate.message;
  // Journaled, so that show and the reports say of each block why it did not run.
  for (const auto& action : step.actions) {
    ItemResult item;
    item.line = action.block.pos.line;
    item.label = BlockTitle(action);
    item.status = StepStatus::kSkipped;
    item.message = "not run: manual";
    RecordNotRun(NextItem(item.label, StepKind::kStep), item.status, item.message);
    result.items.push_back(std::move(item));
  }
}

void Engine::RunStepItems(const Step& step, StepResult& result) {
  // Actions and checklist items run in document order.
  size_t next_action = 0;
  size_t next_item = 0;
  bool ok = true;
  while ((ok || rolling_back_) &&
         (next_action < step.actions.size() || next_item < step.checklist.size())) {
    bool take_action =
        next_item >= step.checklist.size() ||
        (next_action < step.actions.size() &&
         step.actions[next_action].block.pos.line < step.checklist[next_item].pos.line);
    if (take_action)
      ok = RunActionItem(step.actions[next_action++], result);
    else
      ok = RunChecklistItem(step.checklist[next_item++], 0, result);
  }
}

void Engine::ConcludeStep(const Step& step, StepResult& result) {
  result.status = StepStatus::kSucceeded;
  for (const auto& item : result.items) {
    if (IsFailure(item.status)) {
      result.status = item.status;
      result.refusal = item.refusal;
      result.message = item.message;
    }
  }
  if (step.budget && result.elapsed > *step.budget) {
    result.over_budget = true;
    Note(NoteLevel::kWarn,
         fmt::format("{} took {}, over its budget of {}", step.name, FormatDuration(result.elapsed),
                     FormatDuration(*step.budget)));
  }
  if (result.status == StepStatus::kSucceeded)
    Note(NoteLevel::kPass, fmt::format("{} in {}", step.name, FormatDuration(result.elapsed)));
  else if (!step.troubleshooting.empty())
    Note(NoteLevel::kDetail, "Troubleshooting:\n" + step.troubleshooting);
}

bool Engine::ShouldRollBack() {
  OnFailure on_failure = OnFailure::kRollback;
  if (runbook_.front_matter.on_failure == "stop") on_failure = OnFailure::kStop;
  if (runbook_.front_matter.on_failure == "ask") on_failure = OnFailure::kAsk;
  if (options_.on_failure) on_failure = *options_.on_failure;
  if (on_failure != OnFailure::kAsk) return on_failure == OnFailure::kRollback;
  if (!prompter_.available()) return true;
  auto answer = prompter_.Ask("  ? Roll back now? [Y/n] ");
  return !answer || ToLower(Trim(*answer)) != "n";
}

void Engine::HandleFailure(int index, const std::vector<const Step*>& flow, RunResult& result) {
  // A copy: the not-reached entries pushed below may reallocate result.steps.
  const StepResult last = result.steps.back();
  const Step& step = *last.step;
  // Everything that did not run is recorded as not reached, for the summary.
  MarkNotReached(flow, static_cast<size_t>(index) + 1, result);
  result.message = fmt::format("step {} {}: {}", step.name, ConsoleWord(last.status, last.refusal),
                               last.message);
  if (last.status == StepStatus::kWaiting) {
    result.status = RunStatus::kWaiting;
    result.exit_code = 4;
    result.message = fmt::format("step {} is {}", step.name, last.message);
    return;
  }
  bool interrupted = last.status == StepStatus::kInterrupted || Interrupted();
  result.status = interrupted ? RunStatus::kInterrupted : RunStatus::kFailed;
  result.exit_code = interrupted ? 130 : 1;
  if (step.kind == StepKind::kPreflight) {
    result.message += " (preflight: nothing was changed, so nothing is rolled back)";
    return;
  }
  if (!interrupted && StopIfJournalBroken(result)) {
    result.message += "; nothing was rolled back: `stagecraft rollback` once it is fixed";
    Note(NoteLevel::kFail, result.message);
    return;
  }
  if (!ShouldRollBack()) {
    result.status = interrupted ? RunStatus::kInterrupted : RunStatus::kStopped;
    result.message += "; left as is for inspection (no rollback)";
    return;
  }
  // The first signal stopped the step; rollback gets a clean slate, and a second
  // signal during it stops everything.
  if (interrupts_) interrupts_->Clear();
  bool undone = Rollback(result);
  if (result.status == RunStatus::kFailed && undone) result.status = RunStatus::kRolledBack;
  if (interrupted && result.exit_code == 1) result.exit_code = 130;
}

RunResult Engine::Run() {
  RunResult result;
  Status confirmed =
      ConfirmEnvironment(options_.environment, options_.confirm_environment, prompter_);
  if (!confirmed.ok()) Stop(result, confirmed.message());
  std::vector<const Step*> flow = Flow();
  if (confirmed.ok() && Prepare(result, /*check_requirements=*/true)) {
    observers_.OnRunPlanned(runbook_, flow);
    StopIfJournalBroken(result);
  }
  if (result.exit_code != 0) {
    Note(NoteLevel::kFail, result.message);
    return result;
  }
  int total = static_cast<int>(flow.size());
  for (int index = 0; index < total; ++index) {
    const Step& step = *flow[index];
    // An alternative that does not run was journaled as skipped: it is not done, and is
    // recorded as not run again rather than counted as work to undo.
    if (options_.completed_steps.count(step.name) && choice_.RunsInstead(step).empty()) {
      StepResult done;
      done.step = &step;
      done.status = StepStatus::kSucceeded;
      done.done_earlier = true;
      done.message = "completed in an earlier session";
      Note(NoteLevel::kInfo,
           fmt::format("[{}/{}] {} — done in an earlier session", index + 1, total, step.name));
      result.steps.push_back(done);
      continue;
    }
    if (StopIfJournalBroken(result)) {
      MarkNotReached(flow, static_cast<size_t>(index), result);
      Note(NoteLevel::kFail, result.message);
      return result;
    }
    if (!Interrupted()) AskForAlternative(step);
    if (Interrupted()) {
      StepResult skipped;
      skipped.step = &step;
      skipped.status = StepStatus::kInterrupted;
      skipped.message = "interrupted before the step started";
      result.steps.push_back(skipped);
    } else {
      result.steps.push_back(RunStep(step, index + 1, total));
    }
    if (!IsFailure(result.steps.back().status)) continue;
    HandleFailure(index, flow, result);
    return result;
  }
  result.captures = captures_;
  result.status = RunStatus::kSucceeded;
  result.exit_code = 0;
  result.message = "all steps passed";
  return result;
}

}  // namespace stagecraft::engine
