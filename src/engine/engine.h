#pragma once

// The run state machine: preflight, steps in document order, gates, retries, checks,
// success criteria, and on failure the compensations of the completed steps in reverse
// followed by the rollback procedure. The engine decides; a Runner runs blocks, a
// Prompter asks, and observers (observer.h: the console, the journal recorder) hear what
// happens. Single-threaded; one Engine per run.
//
// Where to read: engine.cc runs the flow and one step; block.cc runs one action (retries,
// expectations, captures, verifications); gates.cc asks for approvals; rollback.cc undoes;
// preflight.h checks what must hold before anything changes.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/observer.h"
#include "engine/prompter.h"
#include "engine/run_result.h"
#include "engine/runner.h"
#include "engine/secret_templates.h"
#include "exec/masking.h"
#include "exec/signals.h"
#include "runbook/alternatives.h"
#include "runbook/model.h"

namespace stagecraft::engine {

enum class OnFailure { kRollback, kStop, kAsk };

// A decision about a step's gates taken elsewhere (`stagecraft approve` or `reject`) and
// read back from the journal.
struct RecordedDecision {
  bool approved = false;
  std::string who;
  std::string comment;
};

struct EngineOptions {
  const runbook::Environment* environment = nullptr;  // not owned; null = none chosen
  std::map<std::string, std::string> cli_vars;        // --var K=V
  std::map<std::string, std::string> process_env;     // the engine's own environment
  std::optional<OnFailure> on_failure;                // --on-failure; else front matter
  bool yes = false;                                   // approve every gate
  std::set<std::string> approve;                      // --approve STEP
  std::string confirm_environment;                    // --confirm-env NAME
  std::string user = "operator";                      // recorded with approvals
  std::string run_id;                                 // named in the commands a gate suggests
  // The decision recorded for a step's gates by someone else, if any; asked when no option
  // approved a gate, and again and again while a gate waits. Null: nobody else can decide.
  std::function<std::optional<RecordedDecision>(const std::string& step)> recorded_decision;
  // --wait-for-approval: how long a gate nobody answered waits for a recorded decision
  // before the run is left waiting; 0 leaves it at once.
  Millis wait_for_approval{0};
  Millis approval_poll{250};  // how often a waiting gate looks for a decision
  Millis kill_grace{5000};
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
  // passed, by position in the rollback (1-based) and title; they are not run again.
  std::set<std::pair<int, std::string>> rollback_done;
  // `stagecraft rollback`: how the run had ended. A run that undid nothing keeps it: a
  // release that succeeded and had nothing to undo is still a release that succeeded.
  RunStatus status_before = RunStatus::kFailed;
  // --choose: the alternatives (of the normal flow or the rollback procedure) that run
  // instead of their groups' defaults (checked with runbook::CheckChoices).
  std::vector<std::string> choose;
  // Resume: the alternatives the operator picked at the terminal in an earlier session, for
  // the groups `choose` leaves open. Names the runbook no longer has are ignored.
  std::vector<std::string> restored_choices;
  // Asked before each step: empty while this run still holds its lock, else why not (the
  // lock was force-released or taken over); the run then stops before the next step.
  std::function<std::string()> lock_problem;
};

class Engine {
 public:
  // `observers` (not owned) hear every event, in the order given.
  Engine(const runbook::Runbook& runbook, Runner& runner, Prompter& prompter,
         exec::InterruptWatcher* interrupts, EngineOptions options,
         std::vector<RunObserver*> observers);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs everything and returns how it ended; exit codes: 0 ok, 1 failed (rolled back or
  // not asked to), 2 unusable input (missing tool, unconfirmed protected environment),
  // 3 rollback failed, 4 waiting for approval, 130 interrupted.
  RunResult Run();

  // `stagecraft rollback RUN`: the compensations of `completed_steps` (newest first), then
  // the rollback procedure, by the rules a failure would have followed.
  RunResult RollbackOnly();

  // The runbook's scope: front matter vars, then the environment's, then --var.
  std::map<std::string, std::string> Scope() const;

  // The secrets known so far (declared, secret-looking variables, exports); it grows as the
  // run goes on. For what leaves the run by other ways than the observers (notifications).
  const exec::SecretMasker& masker() const { return masker_; }

 private:
  struct BlockOutcome {
    StepStatus status = StepStatus::kSucceeded;
    std::string message;
    std::string detail;
    int attempts = 0;
    std::string captured;  // stdout for capture=, when asked
    bool final = false;    // another attempt cannot help (interrupted, not spawned, not started)
  };

  // --- engine.cc: the flow and one step ---
  bool Prepare(RunResult& result, bool check_requirements);
  // Gives the shell session its starting state: on resume what the journal kept (secrets
  // filled in again), then the scope, then captures and values given again.
  bool PrepareSession(RunResult& result);
  std::vector<const runbook::Step*> Flow() const;
  // After a step failed (the last of result.steps): what the run does about it.
  void HandleFailure(int index, const std::vector<const runbook::Step*>& flow, RunResult& result);
  bool ShouldRollBack();
  StepResult RunStep(const runbook::Step& step, int number, int total);
  void RunStepBody(const runbook::Step& step, StepResult& result);
  // Actions and checklist items in document order; during a rollback, all of them even
  // after one failed.
  void RunStepItems(const runbook::Step& step, StepResult& result);
  // Shown, confirmed, never executed; each block journaled as not run.
  void RunManualStep(const runbook::Step& step, StepResult& result);
  // "name — code (line N)"; during a rollback "step — name (line N)", the block's name
  // only when it has one.
  std::string BlockTitle(const runbook::Action& action) const;
  // The step's status from its items, and what the operator is told about it.
  void ConcludeStep(const runbook::Step& step, StepResult& result);
  // The ref of the next item of the running step (an action, check, confirmation...).
  ItemRef NextItem(const std::string& title, StepKind kind);
  // Records an item that was not run (skipped, or kept from running).
  void RecordNotRun(const ItemRef& item, StepStatus status, const std::string& why);
  void SaveScope();
  // True (after filling `result`) when the journal can no longer be written or the lock
  // was lost.
  bool StopIfJournalBroken(RunResult& result);
  void Note(NoteLevel level, std::string_view text) { observers_.OnNote(level, text); }

  // --- choices.cc: alternatives ---
  // The choices the run starts with: --choose, then those restored for the other groups.
  void SettleChoices();
  // Before a step of the normal flow that is an alternative of a group nobody chose for: at
  // a terminal (and without --yes), asks which alternative runs.
  void AskForAlternative(const runbook::Step& step);

  // --- block.cc: one action ---
  // `checklist_text` is set when the action belongs to a checklist item (a check).
  bool RunActionItem(const runbook::Action& action, StepResult& out,
                     const std::string* checklist_text = nullptr);
  BlockOutcome RunActionBlocks(const ItemRef& item, const runbook::Action& action);
  void RunVerifications(const runbook::Action& action, BlockOutcome& outcome);
  // Runs `code` with the action's attributes (retries, until, timeout...) as `item`.
  BlockOutcome RunBlock(const ItemRef& item, const runbook::Action& action, std::string_view code,
                        const std::vector<runbook::ExpectedLine>* transcript_expected);
  BlockOutcome RunAttempt(const ItemRef& item, const runbook::Action& action, std::string_view code,
                          const std::vector<runbook::ExpectedLine>* transcript_expected,
                          std::optional<Millis> timeout, int attempt);
  void LearnSecretsFromExports();
  bool Interrupted() const { return interrupts_ && interrupts_->pending(); }
  void InterruptibleSleep(Millis duration);

  // --- gates.cc: approvals and checklists ---
  // `role`: who must decide the gate (runbook::ApproverRole); empty when anyone may.
  ItemResult Gate(const std::string& what, int line, std::string_view role = {});
  // `how` is set when the decision is taken here and must be journaled.
  ItemResult Decide(const std::string& what, const ItemRef& ref, std::string_view role,
                    std::optional<ApprovalMethod>& how);
  // Whether this process's operator (--yes, --approve, the prompt) may decide a gate that
  // needs `role`: only an account of the role, and only when the runbook allows approving
  // one's own run.
  bool MayDecideHere(std::string_view role) const;
  // The recorded decision for the running step, if any, as the gate's result.
  std::optional<ItemResult> RecordedDecisionFor();
  // Polls for a recorded decision for up to --wait-for-approval, or, at a terminal whose
  // operator may not decide a gate needing `role`, until interrupted; the time counts in
  // waited_.
  std::optional<ItemResult> WaitForDecision(const ItemRef& ref, std::string_view role);
  // The [y/N] question, withdrawn when a decision recorded elsewhere arrives first (then
  // `how` stays empty).
  ItemResult AskAtThePrompt(const std::string& what, const ItemRef& ref,
                            std::optional<ApprovalMethod>& how);
  // "stagecraft approve RUN STEP", or the options that approve the step without a journal;
  // naming who may when the gate needs `role`.
  std::string HowToApprove(std::string_view role) const;
  // "ROLE (ACCOUNTS) must approve it: " for a declared role; empty otherwise.
  std::string ApproversOf(std::string_view role) const;
  // `what` names what needs the terminal: "{ interactive } block", or a command lint would
  // flag as needs-terminal (see TerminalNeed).
  bool InteractiveWithoutTerminal(const runbook::Action& action, const std::string& what,
                                  ItemResult& item, const std::string& title, StepKind kind,
                                  StepResult& out);
  bool RunChecklistItem(const runbook::ChecklistItem& item, int depth, StepResult& out);

  // --- rollback.cc ---
  // Undoes the steps of result.steps that ran. False when nothing needed undoing.
  bool Rollback(RunResult& result);
  // A step's manual notes and compensations.
  void UndoStep(const runbook::Step& step, RunResult& result);
  // One **Rollback:** block of `step`, its attributes honoured (skip, confirm, ignore...).
  void RunUndoBlock(const runbook::Step& step, const runbook::Action& undo, RunResult& result);
  // The `confirm` gate before an undo block; false when it was not approved.
  bool UndoApproved(const runbook::Step& step, const runbook::Action& undo,
                    const std::string& label, RunResult& result);
  void RunRollbackItem(const std::string& label, const runbook::Action& action, StepKind kind,
                       RunResult& result);
  ItemResult RunRollbackBlock(const std::string& label, const runbook::Action& action,
                              StepKind kind);
  ItemRef NextRollbackItem(const std::string& title, StepKind kind);
  // The sections of the rollback procedure that the rules pick, given the steps that ran.
  void RunProcedure(const std::set<std::string>& ran, bool changed, RunResult& result);
  // One section, with the meaning every directive and attribute has in the normal flow.
  void RunRollbackStep(const runbook::Step& step, RunResult& result);
  // Journals each block and checklist item of `step` as not run, saying why.
  void RecordStepNotRun(const runbook::Step& step, const std::string& why, StepStatus status,
                        RunResult& result);
  // During a rollback: true (after recording the item) when the item must not run because
  // the rollback was interrupted, or because it passed before an interrupted rollback.
  bool RollbackItemSettled(const runbook::Action* action, const std::string& title, int line,
                           StepResult& out);

  const runbook::Runbook& runbook_;
  Runner& runner_;
  Prompter& prompter_;
  exec::InterruptWatcher* interrupts_;
  EngineOptions options_;
  Observers observers_;
  exec::SecretMasker masker_;
  std::set<std::string> known_secret_values_;
  SecretTemplates secret_templates_;  // how the journal keeps values built from secrets
  std::map<std::string, std::string> captures_;
  const runbook::Step* step_ = nullptr;  // the running step
  int step_number_ = 0;                  // its position in the flow
  int item_counter_ = 0;                 // items of the running step so far
  bool spawned_ = false;                 // the running step started a process
  Millis waited_{0};                     // the running step's time waiting for approvals
  int rollback_counter_ = 0;
  bool rolling_back_ = false;
  bool rollback_failed_ = false;       // a rollback block failed, or a gate was not approved
  bool rollback_interrupted_ = false;  // the rest of the rollback is recorded as not run
  nlohmann::json saved_scope_;         // what the journal holds, to skip unchanged writes
  std::vector<std::string> chosen_;    // --choose, restored and answered choices
  std::vector<std::string> answered_;  // those answered at the terminal, kept for a resume
  std::set<int> settled_groups_;       // groups whose alternative is chosen or asked
  runbook::AlternativeChoice choice_;  // from chosen_
};

}  // namespace stagecraft::engine
