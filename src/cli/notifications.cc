#include "cli/notifications.h"

#include <fmt/format.h>

#include "runbook/walk.h"

namespace stagecraft::cli {

using runbook::NotifyEvent;

std::map<std::string, std::string> NotifyVariables(const runbook::Runbook& book,
                                                   const engine::EngineOptions& options) {
  std::map<std::string, std::string> variables = options.process_env;
  for (const auto& [name, value] : runbook::Scope(book, options.environment, options.cli_vars))
    variables[name] = value;
  for (const runbook::SecretSpec& secret : book.front_matter.secrets) {
    auto found = options.process_env.find(secret.value);
    if (secret.source == runbook::SecretSource::kEnv && found != options.process_env.end())
      variables[secret.name] = found->second;
  }
  return variables;
}

RunNotifications::RunNotifications(const runbook::Runbook& book, notify::RunInfo run,
                                   journal::Journal* journal, engine::Console& console,
                                   std::map<std::string, std::string> variables)
    : run_id_(run.run_id),
      journal_(journal),
      console_(console),
      notifier_(book.front_matter.notify, std::move(run), transport_) {
  notifier_.set_variables(std::move(variables));
  notifier_.set_on_attempt([this](const notify::DeliveryAttempt& attempt) {
    if (!journal_) return;
    journal::NotificationRecord record;
    record.run_id = run_id_;
    record.target = attempt.target;
    record.event = attempt.event;
    record.attempt = attempt.attempt;
    record.duration_ms = attempt.duration.count();
    record.http_status = attempt.http_status;
    record.delivered = attempt.delivered;
    record.error = attempt.error;
    auto stored = journal_->RecordNotification(record);
    if (!stored.ok())
      console_.Warn(fmt::format("could not journal a notification attempt: {}", stored.error()));
  });
}

void RunNotifications::Send(NotifyEvent kind, std::string step, std::string message,
                            std::string detail, std::string approve_command) {
  if (!notifier_.Wants(kind)) return;
  notify::Event event;
  event.kind = kind;
  event.step = std::move(step);
  event.message = std::move(message);
  event.detail = std::move(detail);
  event.approve_command = std::move(approve_command);
  for (const std::string& warning : notifier_.Send(event))
    console_.Warn(warning);
}

void RunNotifications::Started(bool resumed) {
  Send(NotifyEvent::kStarted, "", resumed ? "resumed" : "started");
}

void RunNotifications::OnStepFinished(const engine::ItemRef& step,
                                      const engine::StepResult& result) {
  if (failed_sent_ || !engine::IsFailure(result.status) || result.status == StepStatus::kWaiting)
    return;
  failed_sent_ = true;
  std::string detail;
  for (const engine::ItemResult& item : result.items)
    if (engine::IsFailure(item.status)) detail = item.detail;
  Send(NotifyEvent::kFailed, step.step,
       fmt::format("step {} {}: {}", step.step, engine::ConsoleWord(result.status, result.refusal),
                   result.message),
       detail);
}

void RunNotifications::OnWaiting(const engine::ItemRef& item, bool waiting) {
  if (waiting) OnApprovalNeeded(item, item.step, "waiting for approval");
}

// Once per step: an attached run that gives up waiting stops at the same gate.
void RunNotifications::OnApprovalNeeded(const engine::ItemRef& /*item*/, const std::string& step,
                                        std::string_view message) {
  if (waiting_sent_for_ == step) return;
  waiting_sent_for_ = step;
  Send(NotifyEvent::kWaiting, step, std::string(message),
       /*detail=*/"", fmt::format("stagecraft approve {} {}", run_id_, step));
}

void RunNotifications::Finished(const engine::RunResult& result) {
  std::string message = fmt::format("{}: {}", engine::RunVerdict(result), result.message);
  switch (result.status) {
    case RunStatus::kSucceeded:
      Send(NotifyEvent::kSucceeded, "", message);
      return;
    case RunStatus::kRolledBack:
      Send(NotifyEvent::kRolledBack, "", message);
      return;
    case RunStatus::kRollbackFailed:
      // The first failure was told before the rollback; that the rollback failed too is
      // news of its own.
      Send(NotifyEvent::kFailed, "", message);
      return;
    case RunStatus::kFailed:
    case RunStatus::kStopped:
    case RunStatus::kInterrupted:
    case RunStatus::kWaiting:
      return;
    case RunStatus::kRunning:
      if (!failed_sent_) Send(NotifyEvent::kFailed, "", message);
      failed_sent_ = true;
      return;
  }
}

}  // namespace stagecraft::cli
