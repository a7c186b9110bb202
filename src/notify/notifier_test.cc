#include "notify/notifier.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

namespace stagecraft::notify {
namespace {

using runbook::NotifyEvent;
using runbook::NotifyKind;
using runbook::NotifyTarget;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeClock : public Clock {
 public:
  Millis Now() override { return now; }
  void Sleep(Millis duration) override {
    sleeps.push_back(duration.count());
    now += duration;
  }
  Millis now{1000000};
  std::vector<int64_t> sleeps;
};

// Answers each request with the next scripted reply (the last one repeats), taking `cost`
// of the fake clock's time, or the whole timeout when `hang` is set.
class FakeTransport : public Transport {
 public:
  struct Reply {
    AttemptResult result;
    Millis cost{10};
    bool hang = false;
  };
  struct Request {
    std::string target;  // URL or command
    std::string body;
    std::vector<std::string> env;
    int64_t timeout_ms = 0;
  };

  explicit FakeTransport(FakeClock& clock) : clock_(clock) {}

  AttemptResult Post(const std::string& url, const std::string& json, Millis timeout) override {
    requests.push_back({url, json, {}, timeout.count()});
    return Answer(timeout);
  }
  AttemptResult RunCommand(const std::string& command, const std::string& json,
                           const std::vector<std::string>& env, Millis timeout) override {
    requests.push_back({command, json, env, timeout.count()});
    return Answer(timeout);
  }

  std::deque<Reply> replies;
  std::vector<Request> requests;

 private:
  AttemptResult Answer(Millis timeout) {
    Reply reply = replies.empty() ? Reply{{true, 200, ""}} : replies.front();
    if (replies.size() > 1) replies.pop_front();
    clock_.now += reply.hang ? timeout : reply.cost;
    return reply.result;
  }
  FakeClock& clock_;
};

FakeTransport::Reply Http(int status) {
  return {
      {status >= 200 && status < 300, status, status < 300 ? "" : fmt::format("HTTP {}", status)}};
}

NotifyTarget Target(NotifyKind kind, std::string value, std::vector<NotifyEvent> events = {}) {
  NotifyTarget target;
  target.kind = kind;
  target.value = std::move(value);
  if (!events.empty()) {
    target.events = 0;
    for (NotifyEvent event : events)
      target.events |= 1u << static_cast<int>(event);
  }
  return target;
}

RunInfo TheRun() {
  return {"20261203-170000-abcdef", "Release 2.0", "staging",
          "/srv/.stagecraft/runs/20261203-170000-abcdef/report.html"};
}

class NotifierTest : public ::testing::Test {
 protected:
  Notifier Make(std::vector<NotifyTarget> targets) {
    Notifier notifier(std::move(targets), TheRun(), transport_, clock_);
    notifier.set_on_attempt(
        [this](const DeliveryAttempt& attempt) { attempts_.push_back(attempt); });
    return notifier;
  }
  std::vector<std::string> Summaries() const {
    std::vector<std::string> out;
    for (const DeliveryAttempt& attempt : attempts_)
      out.push_back(fmt::format("{} {} #{} {} {}", attempt.event, attempt.target, attempt.attempt,
                                attempt.delivered ? "ok" : "failed", attempt.error));
    return out;
  }

  FakeClock clock_;
  FakeTransport transport_{clock_};
  std::vector<DeliveryAttempt> attempts_;
};

const std::string kHook = "https://hooks.example.com/services/T0/B0/tok3n";

TEST_F(NotifierTest, RetriesAfterAServerErrorWithBackoffUntilDelivered) {
  transport_.replies = {Http(500), Http(503), Http(204)};
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook)});
  EXPECT_TRUE(notifier.Send({NotifyEvent::kFailed, "deploy", "exited with status 1"}).empty());
  EXPECT_THAT(Summaries(), ElementsAre("failed webhook #1 (hooks.example.com) #1 failed HTTP 500",
                                       "failed webhook #1 (hooks.example.com) #2 failed HTTP 503",
                                       "failed webhook #1 (hooks.example.com) #3 ok "));
  EXPECT_THAT(clock_.sleeps, ElementsAre(500, 1000));
  EXPECT_EQ(attempts_[0].http_status, 500);
  EXPECT_EQ(attempts_[2].http_status, 204);
  EXPECT_EQ(attempts_[0].duration, Millis(10));
  EXPECT_EQ(transport_.requests[0].timeout_ms, 5000);
}

TEST_F(NotifierTest, GivesUpAfterThreeAttemptsWithAWarning) {
  transport_.replies = {Http(500)};
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook)});
  std::vector<std::string> warnings = notifier.Send({NotifyEvent::kSucceeded, "", "all passed"});
  EXPECT_EQ(transport_.requests.size(), 3u);
  EXPECT_THAT(warnings, ElementsAre("succeeded notification to webhook #1 (hooks.example.com) "
                                    "failed after 3 attempts: HTTP 500"));
}

TEST_F(NotifierTest, TargetsThatNeverAnswerShareOneBudgetPerEvent) {
  transport_.replies = {{{false, std::nullopt, "Operation timed out"}, Millis(0), true}};
  Notifier notifier = Make({Target(NotifyKind::kWebhook, "http://127.0.0.1:9/a"),
                            Target(NotifyKind::kSlack, "http://127.0.0.1:9/b"),
                            Target(NotifyKind::kCommand, "mail ops")});
  Millis start = clock_.now;
  std::vector<std::string> warnings = notifier.Send({NotifyEvent::kFailed, "x", "boom"});
  EXPECT_LE((clock_.now - start).count(), 15000);
  // 5s, 0.5s, 5s, 1s, then what is left of the 15s; nothing for the other two.
  std::vector<int64_t> timeouts;
  for (const auto& request : transport_.requests)
    timeouts.push_back(request.timeout_ms);
  EXPECT_THAT(timeouts, ElementsAre(5000, 5000, 3500));
  EXPECT_THAT(Summaries(),
              ElementsAre("failed webhook #1 (127.0.0.1:9) #1 failed Operation timed out",
                          "failed webhook #1 (127.0.0.1:9) #2 failed Operation timed out",
                          "failed webhook #1 (127.0.0.1:9) #3 failed Operation timed out",
                          "failed slack #2 (127.0.0.1:9) #0 failed not sent: the 15s budget for "
                          "this event was spent",
                          "failed command #3 #0 failed not sent: the 15s budget for this event "
                          "was spent"));
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[2],
            "failed notification to command #3: not sent: the 15s budget for this "
            "event was spent");
  // The next event has a budget of its own.
  notifier.Send({NotifyEvent::kRolledBack, "", "rolled back"});
  EXPECT_EQ(transport_.requests.size(), 6u);
}

TEST_F(NotifierTest, PayloadNamesTheRunTheEventAndHowToApprove) {
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook)});
  notifier.Send({NotifyEvent::kWaiting, "migrate", "needs approval", "",
                 "stagecraft approve 20261203-170000-abcdef migrate"});
  notifier.Send({NotifyEvent::kStarted, "", "started"});
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[0].target, kHook);
  auto waiting = nlohmann::json::parse(transport_.requests[0].body);
  EXPECT_EQ(waiting["event"], "waiting");
  EXPECT_EQ(waiting["run_id"], "20261203-170000-abcdef");
  EXPECT_EQ(waiting["runbook"], "Release 2.0");
  EXPECT_EQ(waiting["environment"], "staging");
  EXPECT_EQ(waiting["step"], "migrate");
  EXPECT_EQ(waiting["message"], "needs approval");
  EXPECT_EQ(waiting["report"], "/srv/.stagecraft/runs/20261203-170000-abcdef/report.html");
  EXPECT_EQ(waiting["approve_command"], "stagecraft approve 20261203-170000-abcdef migrate");
  EXPECT_THAT(waiting["text"].get<std::string>(),
              HasSubstr("waiting at step migrate: needs approval. Approve with: stagecraft "
                        "approve 20261203-170000-abcdef migrate"));
  auto started = nlohmann::json::parse(transport_.requests[1].body);
  EXPECT_TRUE(started["step"].is_null());
  EXPECT_FALSE(started.contains("approve_command"));
}

TEST_F(NotifierTest, SlackGetsOnlyTheTextAndCommandsGetThePayloadAndEnvironment) {
  Notifier notifier = Make({Target(NotifyKind::kSlack, kHook),
                            Target(NotifyKind::kCommand, "mail -s stagecraft ops@example.com")});
  notifier.Send({NotifyEvent::kFailed, "deploy", "step deploy FAILED: exited with status 2"});
  ASSERT_EQ(transport_.requests.size(), 2u);
  auto slack = nlohmann::json::parse(transport_.requests[0].body);
  EXPECT_EQ(slack.size(), 1u);
  EXPECT_EQ(slack["text"],
            "stagecraft: Release 2.0 (staging) — run 20261203-170000-abcdef failed at step "
            "deploy: step deploy FAILED: exited with status 2. Report: "
            "/srv/.stagecraft/runs/20261203-170000-abcdef/report.html");
  const auto& command = transport_.requests[1];
  EXPECT_EQ(command.target, "mail -s stagecraft ops@example.com");
  EXPECT_EQ(nlohmann::json::parse(command.body)["event"], "failed");
  EXPECT_THAT(command.env,
              ::testing::IsSupersetOf(
                  {"STAGECRAFT_EVENT=failed", "STAGECRAFT_RUN_ID=20261203-170000-abcdef",
                   "STAGECRAFT_STEP=deploy", "STAGECRAFT_ENVIRONMENT=staging"}));
  EXPECT_THAT(Summaries(), ElementsAre("failed slack #1 (hooks.example.com) #1 ok ",
                                       "failed command #2 #1 ok "));
}

TEST_F(NotifierTest, SecretsAreMaskedInThePayloadTextAndEnvironment) {
  exec::SecretMasker masker;
  masker.Add("hunter2-s3cr3t");
  transport_.replies = {Http(500), Http(200)};
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook), Target(NotifyKind::kSlack, kHook),
                            Target(NotifyKind::kCommand, "notify-send")});
  notifier.set_masker(&masker);
  notifier.Send({NotifyEvent::kFailed, "deploy", "login with hunter2-s3cr3t refused",
                 "curl: token hunter2-s3cr3t\n"});
  ASSERT_EQ(transport_.requests.size(), 4u);
  for (const auto& request : transport_.requests) {
    EXPECT_THAT(request.body, Not(HasSubstr("hunter2")));
    EXPECT_THAT(request.body, HasSubstr("***"));
    for (const std::string& variable : request.env)
      EXPECT_THAT(variable, Not(HasSubstr("hunter2")));
  }
  auto payload = nlohmann::json::parse(transport_.requests[0].body);
  EXPECT_EQ(payload["message"], "login with *** refused");
  EXPECT_EQ(payload["detail"], "curl: token ***\n");
}

TEST_F(NotifierTest, TheUrlAppearsInNoWarningAndNoJournaledAttempt) {
  transport_.replies = {{{false, std::nullopt, "Failed to connect to " + kHook + ": refused"}},
                        {{false, std::nullopt, "bad path /services/T0/B0/tok3n"}},
                        {{false, 404, "HTTP 404"}}};
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook)});
  std::vector<std::string> warnings = notifier.Send({NotifyEvent::kFailed, "", "x"});
  ASSERT_EQ(attempts_.size(), 3u);
  for (const DeliveryAttempt& attempt : attempts_) {
    EXPECT_THAT(attempt.error, Not(HasSubstr("tok3n")));
    EXPECT_THAT(attempt.target, Not(HasSubstr("tok3n")));
  }
  EXPECT_EQ(attempts_[0].error, "Failed to connect to <url>: refused");
  EXPECT_EQ(attempts_[1].error, "bad path /<path>");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], Not(HasSubstr("tok3n")));
}

TEST_F(NotifierTest, UserInformationInTheUrlIsNotPartOfTheLabel) {
  Notifier notifier =
      Make({Target(NotifyKind::kWebhook, "https://bot:pa55word@hooks.example.com:8443/x")});
  notifier.Send({NotifyEvent::kStarted, "", "started"});
  EXPECT_THAT(Summaries(), ElementsAre("started webhook #1 (hooks.example.com:8443) #1 ok "));
}

TEST_F(NotifierTest, OnlyTheEventsATargetAskedForAreSent) {
  Notifier notifier = Make({Target(NotifyKind::kWebhook, kHook, {NotifyEvent::kFailed}),
                            Target(NotifyKind::kCommand, "true")});
  EXPECT_TRUE(notifier.Wants(NotifyEvent::kStarted));
  notifier.Send({NotifyEvent::kStarted, "", "started"});
  notifier.Send({NotifyEvent::kFailed, "a", "boom"});
  EXPECT_THAT(Summaries(), ElementsAre("started command #2 #1 ok ",
                                       "failed webhook #1 (hooks.example.com) #1 ok ",
                                       "failed command #2 #1 ok "));
  Notifier failures_only = Make({Target(NotifyKind::kWebhook, kHook, {NotifyEvent::kFailed})});
  EXPECT_FALSE(failures_only.Wants(NotifyEvent::kSucceeded));
}

TEST_F(NotifierTest, UrlReferencesAreExpandedWhenSentAndAnUnsetOneIsNotSent) {
  Notifier notifier = Make({Target(NotifyKind::kSlack, "${SLACK_WEBHOOK_URL}"),
                            Target(NotifyKind::kWebhook, "https://$HOOK_HOST/deploy"),
                            Target(NotifyKind::kWebhook, "${MISSING_URL}"),
                            Target(NotifyKind::kWebhook, "${FTP_URL}")});
  notifier.set_variables({{"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x"},
                          {"HOOK_HOST", "ci.example.com"},
                          {"FTP_URL", "ftp://files.example.com/x"}});
  std::vector<std::string> warnings = notifier.Send({NotifyEvent::kSucceeded, "", "ok"});
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[0].target, "https://hooks.slack.com/services/T/B/x");
  EXPECT_EQ(transport_.requests[1].target, "https://ci.example.com/deploy");
  EXPECT_THAT(warnings,
              ElementsAre("succeeded notification to webhook #3: not sent: ${MISSING_URL} is "
                          "not set",
                          "succeeded notification to webhook #4: not sent: the URL's scheme is "
                          "not http or https"));
  EXPECT_THAT(Summaries(), ::testing::Contains("succeeded webhook #3 #0 failed not sent: "
                                               "${MISSING_URL} is not set"));
}

}  // namespace
}  // namespace stagecraft::notify
