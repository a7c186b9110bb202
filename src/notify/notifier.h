#pragma once

// Notifications: tells the targets of a runbook's `notify:` front matter (webhooks, Slack
// incoming webhooks, commands) that a run started, waits for an approval, failed, was
// rolled back or succeeded.
//
// A notification must never stall or fail the run: each target gets a few attempts with a
// timeout each and a short backoff between them, and all targets of one event share one
// time budget; what could not be delivered becomes a warning for the caller to show. Every
// attempt is reported to `on_attempt` so the caller can journal it.
//
// Target URLs may hold tokens, so they appear nowhere but in the request itself: targets
// are named by kind, position and host ("webhook #1 (hooks.example.com)"), and errors a
// transport reports are scrubbed of the URL. Secrets the run knows (the masker) are
// masked in every field of the payload.
//
// The network and processes are reached through `Transport` (curl_transport.h is the real
// one) and time through `Clock`, so the retry and budget logic is tested with fakes.
//
// Not thread-safe: one thread sends.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "exec/masking.h"
#include "runbook/model.h"

namespace stagecraft::notify {

// What one delivery attempt came to.
struct AttemptResult {
  bool delivered = false;
  std::optional<int> http_status;  // when a server answered
  std::string error;               // "" when delivered
};

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs `json` to `url`, giving up after `timeout`. A 2xx answer is a delivery.
  virtual AttemptResult Post(const std::string& url, const std::string& json, Millis timeout) = 0;
  // Runs `command` with the shell, `json` on its stdin and `env` ("KEY=VALUE") added to
  // its environment; stopped after `timeout`. Exit status 0 is a delivery.
  virtual AttemptResult RunCommand(const std::string& command, const std::string& json,
                                   const std::vector<std::string>& env, Millis timeout) = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis Now() = 0;  // monotonic
  virtual void Sleep(Millis duration) = 0;
};

// The steady clock and a real sleep.
Clock& SystemClock();

struct Policy {
  int attempts = 3;
  Millis attempt_timeout{5000};
  // Before attempts 2, 3...; the last entry repeats.
  std::vector<Millis> backoff{Millis(500), Millis(1000)};
  // For all targets of one event together.
  Millis budget{15000};
};

// The run a notification is about.
struct RunInfo {
  std::string run_id;
  std::string title;
  std::string environment;
  std::string report_path;
};

struct Event {
  runbook::NotifyEvent kind = runbook::NotifyEvent::kStarted;
  std::string step;             // "" when the event is about no step
  std::string message;          // one line
  std::string detail;           // what explains it (the failing block's last output lines)
  std::string approve_command;  // kWaiting only
};

// One attempt as it is journaled. `attempt` is 0 for a target the budget left no time for.
struct DeliveryAttempt {
  std::string target;  // the label, never the URL
  std::string event;
  int attempt = 0;
  std::optional<int> http_status;
  std::string error;  // "" when delivered
  bool delivered = false;
  Millis duration{0};
};

class Notifier {
 public:
  Notifier(std::vector<runbook::NotifyTarget> targets, RunInfo run, Transport& transport,
           Clock& clock = SystemClock(), Policy policy = {});

  // Not owned; may change between sends. Null: nothing is masked.
  void set_masker(const exec::SecretMasker* masker) { masker_ = masker; }
  // Values for `${NAME}` and `$NAME` in target URLs.
  void set_variables(std::map<std::string, std::string> variables) {
    variables_ = std::move(variables);
  }
  void set_on_attempt(std::function<void(const DeliveryAttempt&)> on_attempt) {
    on_attempt_ = std::move(on_attempt);
  }

  bool empty() const { return targets_.empty(); }
  // Whether any target wants `event`.
  bool Wants(runbook::NotifyEvent event) const;

  // Sends `event` to every target that wants it. Returns one warning per target it could
  // not be delivered to.
  std::vector<std::string> Send(const Event& event);

  // The JSON body of a webhook notification (masked).
  std::string Payload(const Event& event) const;
  // The one-line summary a Slack message and the command's STAGECRAFT_TEXT carry (masked).
  std::string Text(const Event& event) const;

 private:
  struct Resolved {
    std::string label;
    std::string url;    // expanded; webhooks and slack
    std::string error;  // why the target cannot be used ("" when it can)
  };
  Resolved Resolve(const runbook::NotifyTarget& target, int index) const;
  AttemptResult Attempt(const runbook::NotifyTarget& target, const Resolved& resolved,
                        const Event& event, Millis timeout);
  std::vector<std::string> Environment(const Event& event) const;
  std::string Mask(const std::string& text) const;

  std::vector<runbook::NotifyTarget> targets_;
  RunInfo run_;
  Transport& transport_;
  Clock& clock_;
  Policy policy_;
  const exec::SecretMasker* masker_ = nullptr;
  std::map<std::string, std::string> variables_;
  std::function<void(const DeliveryAttempt&)> on_attempt_;
};

// "webhook", "slack", "command".
const char* KindName(runbook::NotifyKind kind);

// The host (and port) of `url` without user information, or "" when it has none.
std::string UrlHost(const std::string& url);

}  // namespace stagecraft::notify
