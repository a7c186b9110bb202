#pragma once

// A run's notifications: hears the engine's events and sends the ones the runbook's
// `notify:` targets asked for (notify/notifier.h), journals every delivery attempt, and
// shows a warning for each notification that could not be delivered. A notification never
// changes how the run goes or ends.
//
//   started      before the engine runs (`run`, `resume`)
//   waiting      a gate nobody here could decide (RunObserver::OnApprovalNeeded), or one
//                an attached run waits at (OnWaiting)
//   failed       the first step that fails; again if the rollback fails; or, when no step
//                failed, a run that ended badly (a check before the start, a broken journal)
//   rolled_back  the run ended rolled back
//   succeeded    the run ended with every step passed

#include <map>
#include <string>

#include "engine/console.h"
#include "engine/engine.h"
#include "engine/observer.h"
#include "engine/run_result.h"
#include "journal/journal.h"
#include "notify/curl_transport.h"
#include "notify/notifier.h"

namespace stagecraft::cli {

// What `${NAME}` means in a target URL: the process's environment, the runbook's scope,
// and the secrets read from the environment.
std::map<std::string, std::string> NotifyVariables(const runbook::Runbook& book,
                                                   const engine::EngineOptions& options);

class RunNotifications final : public engine::RunObserver {
 public:
  // `journal` (may be null) and `console` are not owned. `variables` give target URLs their
  // `${NAME}` values.
  RunNotifications(const runbook::Runbook& book, notify::RunInfo run, journal::Journal* journal,
                   engine::Console& console, std::map<std::string, std::string> variables);

  // The engine's masker, once the engine exists.
  void set_masker(const exec::SecretMasker* masker) { notifier_.set_masker(masker); }

  void Started(bool resumed);
  void Finished(const engine::RunResult& result);

  void OnStepFinished(const engine::ItemRef& step, const engine::StepResult& result) override;
  void OnApprovalNeeded(const engine::ItemRef& item, const std::string& step,
                        std::string_view message) override;
  void OnWaiting(const engine::ItemRef& item, bool waiting) override;

 private:
  void Send(runbook::NotifyEvent kind, std::string step, std::string message,
            std::string detail = {}, std::string approve_command = {});

  std::string run_id_;
  journal::Journal* journal_;
  engine::Console& console_;
  notify::CurlTransport transport_;
  notify::Notifier notifier_;
  bool failed_sent_ = false;
  std::string waiting_sent_for_;  // the step the last `waiting` was about
};

}  // namespace stagecraft::cli
