#include "notify/notifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/text.h"

namespace stagecraft::notify {

using runbook::NotifyEvent;
using runbook::NotifyKind;
using runbook::NotifyTarget;

namespace {

// An attempt with less time than this left would only report a timeout.
constexpr Millis kShortestAttempt{200};

class SteadyClock final : public Clock {
 public:
  Millis Now() override {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
  }
  void Sleep(Millis duration) override { std::this_thread::sleep_for(duration); }
};

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// `${NAME}` and `$NAME` replaced from `variables`; false (with `missing` set) when one is
// not set.
bool Expand(const std::string& text, const std::map<std::string, std::string>& variables,
            std::string& out, std::string& missing) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    size_t begin = i + 1;
    size_t end = begin;
    bool braced = text[begin] == '{';
    if (braced) {
      end = text.find('}', begin);
      if (end == std::string::npos) {
        out += text[i];
        continue;
      }
      ++begin;
    } else {
      while (end < text.size() && IsNameChar(text[end]))
        ++end;
      if (end == begin) {
        out += text[i];
        continue;
      }
    }
    std::string name = text.substr(begin, end - begin);
    auto found = variables.find(name);
    if (found == variables.end() || found->second.empty()) {
      missing = name;
      return false;
    }
    out += found->second;
    i = braced ? end : end - 1;
  }
  return true;
}

std::string Replace(std::string text, const std::string& what, const std::string& with) {
  if (what.empty()) return text;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
  return text;
}

// A transport's error may quote the URL (or its path, where webhook tokens live).
std::string Scrub(std::string error, const std::string& url) {
  if (url.empty()) return error;
  error = Replace(std::move(error), url, "<url>");
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path != std::string::npos && url.size() - path > 1)
    error = Replace(std::move(error), url.substr(path), "/<path>");
  return error;
}

}  // namespace

Clock& SystemClock() {
  static SteadyClock clock;
  return clock;
}

const char* KindName(NotifyKind kind) {
  switch (kind) {
    case NotifyKind::kWebhook:
      return "webhook";
    case NotifyKind::kSlack:
      return "slack";
    case NotifyKind::kCommand:
      return "command";
  }
  return "";
}

std::string UrlHost(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t begin = scheme + 3;
  size_t end = url.find_first_of("/?#", begin);
  std::string authority = url.substr(begin, end == std::string::npos ? end : end - begin);
  // user:password@host
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  return authority;
}

Notifier::Notifier(std::vector<NotifyTarget> targets, RunInfo run, Transport& transport,
                   Clock& clock, Policy policy)
    : targets_(std::move(targets)),
      run_(std::move(run)),
      transport_(transport),
      clock_(clock),
      policy_(std::move(policy)) {}

bool Notifier::Wants(NotifyEvent event) const {
  return std::any_of(targets_.begin(), targets_.end(),
                     [&](const NotifyTarget& target) { return target.Wants(event); });
}

std::string Notifier::Mask(const std::string& text) const {
  return masker_ ? masker_->Mask(text) : text;
}

std::string Notifier::Text(const Event& event) const {
  std::string text = fmt::format("stagecraft: {}{} — run {} {}", run_.title,
                                 run_.environment.empty() ? "" : " (" + run_.environment + ")",
                                 run_.run_id, NotifyEventName(event.kind));
  if (!event.step.empty()) text += fmt::format(" at step {}", event.step);
  if (!event.message.empty()) text += ": " + event.message;
  if (!event.approve_command.empty())
    text += fmt::format(". Approve with: {}", event.approve_command);
  if (!run_.report_path.empty() && event.kind != NotifyEvent::kStarted &&
      event.kind != NotifyEvent::kWaiting)
    text += fmt::format(". Report: {}", run_.report_path);
  return Mask(text);
}

std::string Notifier::Payload(const Event& event) const {
  nlohmann::json payload = {
      {"event", NotifyEventName(event.kind)},
      {"run_id", Mask(run_.run_id)},
      {"runbook", Mask(run_.title)},
      {"environment", Mask(run_.environment)},
      {"step", event.step.empty() ? nlohmann::json() : nlohmann::json(Mask(event.step))},
      {"message", Mask(event.message)},
      {"detail", Mask(event.detail)},
      {"report", Mask(run_.report_path)},
      {"text", Text(event)},
  };
  if (event.kind == NotifyEvent::kWaiting) payload["approve_command"] = Mask(event.approve_command);
  // Invalid UTF-8 in a message must not throw: it is replaced.
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> Notifier::Environment(const Event& event) const {
  return {
      "STAGECRAFT_EVENT=" + std::string(NotifyEventName(event.kind)),
      "STAGECRAFT_RUN_ID=" + Mask(run_.run_id),
      "STAGECRAFT_RUNBOOK=" + Mask(run_.title),
      "STAGECRAFT_ENVIRONMENT=" + Mask(run_.environment),
      "STAGECRAFT_STEP=" + Mask(event.step),
      "STAGECRAFT_MESSAGE=" + Mask(event.message),
      "STAGECRAFT_DETAIL=" + Mask(event.detail),
      "STAGECRAFT_REPORT=" + Mask(run_.report_path),
      "STAGECRAFT_APPROVE_COMMAND=" + Mask(event.approve_command),
      "STAGECRAFT_TEXT=" + Text(event),
  };
}

Notifier::Resolved Notifier::Resolve(const NotifyTarget& target, int index) const {
  Resolved resolved;
  resolved.label = fmt::format("{} #{}", KindName(target.kind), index);
  if (target.kind == NotifyKind::kCommand) return resolved;
  std::string missing;
  if (!Expand(target.value, variables_, resolved.url, missing)) {
    resolved.error = fmt::format("not sent: ${{{}}} is not set", missing);
    return resolved;
  }
  std::string scheme = ToLower(resolved.url.substr(0, resolved.url.find("://")));
  if (resolved.url.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
    resolved.error = "not sent: the URL's scheme is not http or https";
    return resolved;
  }
  if (std::string host = UrlHost(resolved.url); !host.empty())
    resolved.label += fmt::format(" ({})", host);
  return resolved;
}

AttemptResult Notifier::Attempt(const NotifyTarget& target, const Resolved& resolved,
                                const Event& event, Millis timeout) {
  switch (target.kind) {
    case NotifyKind::kWebhook:
      return transport_.Post(resolved.url, Payload(event), timeout);
    case NotifyKind::kSlack:
      return transport_.Post(resolved.url, nlohmann::json({{"text", Text(event)}}).dump(), timeout);
    case NotifyKind::kCommand:
      return transport_.RunCommand(target.value, Payload(event), Environment(event), timeout);
  }
  return {};
}

std::vector<std::string> Notifier::Send(const Event& event) {
  std::vector<std::string> warnings;
  const std::string event_name = NotifyEventName(event.kind);
  const Millis deadline = clock_.Now() + policy_.budget;
  auto record = [&](DeliveryAttempt attempt) {
    attempt.error = Mask(attempt.error);
    if (on_attempt_) on_attempt_(attempt);
  };
  for (size_t i = 0; i < targets_.size(); ++i) {
    const NotifyTarget& target = targets_[i];
    if (!target.Wants(event.kind)) continue;
    Resolved resolved = Resolve(target, static_cast<int>(i) + 1);
    DeliveryAttempt attempt;
    attempt.target = resolved.label;
    attempt.event = event_name;
    if (!resolved.error.empty()) {
      attempt.error = resolved.error;
      record(attempt);
      warnings.push_back(
          fmt::format("{} notification to {}: {}", event_name, resolved.label, resolved.error));
      continue;
    }
    int made = 0;
    for (int number = 1; number <= policy_.attempts && !attempt.delivered; ++number) {
      if (number > 1) {
        size_t slot = std::min(static_cast<size_t>(number - 2), policy_.backoff.size() - 1);
        Millis backoff = policy_.backoff.empty() ? Millis(0) : policy_.backoff[slot];
        if (clock_.Now() + backoff + kShortestAttempt > deadline) break;
        clock_.Sleep(backoff);
      }
      Millis left = deadline - clock_.Now();
      if (left < kShortestAttempt) break;
      Millis started = clock_.Now();
      AttemptResult result =
          Attempt(target, resolved, event, std::min(policy_.attempt_timeout, left));
      attempt.attempt = number;
      attempt.delivered = result.delivered;
      attempt.http_status = result.http_status;
      attempt.error = result.delivered ? "" : Scrub(result.error, resolved.url);
      if (!result.delivered && attempt.error.empty()) attempt.error = "not delivered";
      attempt.duration = clock_.Now() - started;
      record(attempt);
      ++made;
    }
    if (attempt.delivered) continue;
    if (made == 0) {
      attempt.attempt = 0;
      attempt.error = fmt::format("not sent: the {} budget for this event was spent",
                                  FormatDuration(policy_.budget));
      attempt.duration = Millis(0);
      record(attempt);
      warnings.push_back(
          fmt::format("{} notification to {}: {}", event_name, resolved.label, attempt.error));
      continue;
    }
    warnings.push_back(fmt::format("{} notification to {} failed after {} attempt{}: {}",
                                   event_name, resolved.label, made, made == 1 ? "" : "s",
                                   Mask(attempt.error)));
  }
  return warnings;
}

}  // namespace stagecraft::notify
