#pragma once

// The run state machine: preflight, steps in document order, gates, retries, checks,
// success criteria, and on failure the compensations of the completed steps in reverse
// followed by the rollback procedure. The engine decides; a Runner runs blocks, a
// Console shows, a Prompter asks. Single-threaded; one Engine per run.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/console.h"
#include "engine/journal_recorder.h"
#include "engine/prompter.h"
#include "engine/runner.h"
#include "engine/secret_templates.h"
#include "exec/masking.h"
#include "exec/signals.h"
#include "runbook/model.h"

namespace stagecraft::engine {

enum class OnFailure { kRollback, kStop, kAsk };

struct EngineOptions {
  const runbook::Environment* environment = nullptr;  // not owned; null = none chosen
  std::map<std::string, std::string> cli_vars;        // --var K=V
  std::map<std::string, std::string> process_env;     // the engine's own environment
  std::optional<OnFailure> on_failure;                // --on-failure; else front matter
  bool yes = false;                                   // approve every gate
  std::set<std::string> approve;                      // --approve STEP
  std::string confirm_environment;                    // --confirm-env NAME
  std::string user = "operator";                      // recorded with approvals
  Millis kill_grace{5000};
  // Where the run is journaled (not owned; null = not journaled) and under which run id.
  journal::Journal* journal = nullptr;
  std::string run_id;
  // Resume: steps finished in an earlier session (by name); they are not run again, but a
  // failure now still compensates them.
  std::set<std::string> completed_steps;
  std::map<std::string, std::string> restored_captures;  // as journaled (masked)
  // Resume: the shell session as the journal kept it, secret values as placeholders (see
  // secret_templates.h), restored once the secrets have been read again; and its cwd.
  std::optional<std::string> restored_shell_state;
  std::string restored_cwd;
  // Resume: captures that held secrets, as placeholders; they replace the masked ones.
  std::map<std::string, std::string> restored_capture_templates;
  // Resume: values the journal could not keep (they held secrets it cannot re-derive),
  // given again with --var. Exported to the blocks and masked like secrets.
  std::map<std::string, std::string> resupplied;
  // `stagecraft rollback` after an interrupted rollback: the rollback blocks that already
  // passed, as "rollback/N\ntitle" journal keys and titles; they are not run again.
  std::set<std::string> rollback_done;
  // Asked before each step: empty while this run still holds its lock, else why not (the
  // lock was force-released or taken over); the run then stops before the next step.
  std::function<std::string()> lock_problem;
};

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

class Engine {
 public:
  Engine(const runbook::Runbook& runbook, Runner& runner, Console& console, Prompter& prompter,
         exec::InterruptWatcher* interrupts, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs everything and returns how it ended; exit codes: 0 ok, 1 failed (rolled back or
  // not asked to), 2 unusable input (missing tool, unconfirmed protected environment),
  // 3 rollback failed, 130 interrupted.
  RunResult Run();

  // `stagecraft rollback RUN`: the compensations of `completed_steps` (newest first), then
  // the rollback procedure, as a failure would have run them.
  RunResult RollbackOnly();

  // Prints every action in order with the scope it would get; runs nothing.
  void DryRun();

  // The runbook's scope: front matter vars, then the environment's, then --var.
  std::map<std::string, std::string> Scope() const;

 private:
  struct BlockOutcome;
  class Gatekeeper;

  bool CheckProtectedEnvironment(RunResult& result);
  bool ResolveSecrets(RunResult& result);
  bool CheckRequirements(RunResult& result);
  // Gives the shell session its starting state: on resume what the journal kept (secrets
  // filled in again), then the scope, then captures and values given again.
  bool PrepareSession(RunResult& result);
  StepResult RunStep(const runbook::Step& step, int number, int total);
  // `checklist_text` is set when the action belongs to a checklist item (a check).
  bool RunActionItem(const runbook::Step& step, const runbook::Action& action, StepResult& out,
                     const std::string* checklist_text = nullptr);
  bool InteractiveWithoutTerminal(const runbook::Step& step, const runbook::Action& action,
                                  ItemResult& item, const std::string& title,
                                  journal::StepKind kind, StepResult& out);
  bool RunChecklistItem(const runbook::Step& step, const runbook::ChecklistItem& item, int depth,
                        StepResult& out);
  BlockOutcome RunBlock(const runbook::Step& step, const runbook::Action& action,
                        const std::string& code,
                        const std::vector<runbook::ExpectedLine>* transcript_expected);
  ItemResult Gate(const runbook::Step& step, const std::string& what, int line);
  void Rollback(size_t failed_index, RunResult& result);
  ItemResult RunRollbackBlock(const std::string& label, const runbook::Action& action,
                              journal::StepKind kind);
  ItemResult NotRun(const std::string& label, const runbook::Action& action,
                    journal::StepKind kind);
  std::vector<const runbook::Step*> Flow() const;
  void PlanJournal(const std::vector<const runbook::Step*>& flow);
  // The journal record for the next item of `step` (an action, check, confirmation...).
  JournalItem NextItem(const runbook::Step& step, const std::string& title, journal::StepKind kind);
  void JournalSkipped(const JournalItem& item, const std::string& why);
  void SaveScope();
  // True (after filling `result`) when the journal can no longer be written.
  bool StopIfJournalBroken(RunResult& result);
  void LearnSecretsFromExports();
  bool Interrupted() const { return interrupts_ && interrupts_->pending(); }
  void InterruptibleSleep(Millis duration);

  const runbook::Runbook& runbook_;
  Runner& runner_;
  Console& console_;
  Prompter& prompter_;
  exec::InterruptWatcher* interrupts_;
  EngineOptions options_;
  exec::SecretMasker masker_;
  std::set<std::string> known_secret_values_;
  SecretTemplates secret_templates_;  // how the journal keeps values built from secrets
  std::map<std::string, std::string> captures_;
  JournalRecorder recorder_;
  JournalItem current_item_;  // what RunBlock journals its attempts under
  int step_index_ = 0;        // journal index of the running step
  int item_counter_ = 0;      // items of the running step so far
  int rollback_counter_ = 0;
  bool rolling_back_ = false;
  nlohmann::json saved_scope_;  // what the journal holds, to skip unchanged writes
};

}  // namespace stagecraft::engine
