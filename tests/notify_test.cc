// End-to-end tests of notifications: the real binary posts to a receiver on 127.0.0.1 that
// the test starts, or runs a command, for the events the runbook's `notify:` asks for; a
// target that fails or never answers costs the run a bounded time and never its outcome;
// every attempt is journaled and shown; URLs and secrets appear nowhere.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "support/binary_runner.h"
#include "support/http_receiver.h"

namespace stagecraft::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The path part of every hook URL: where real webhooks keep their token.
const std::string kToken = "T0KEN-9f8e7d";

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string Book(const std::string& notify, const std::string& body) {
  return "---\ntitle: Notify test\nenvironments:\n  staging: {}\nnotify:\n" + notify + "---\n" +
         body;
}

const std::string kPassingSteps = "## Deploy\n```bash\necho deployed\n```\n";
const std::string kFailingSteps =
    "## Deploy\n```bash\necho deploying\n```\n**Rollback:**\n```bash\necho undo\n```\n"
    "## Verify\n```bash\necho checking\nexit 3\n```\n## Rollback\n```bash\necho rolled\n```\n";

std::string RunId(const CommandResult& run) {
  std::smatch match;
  static const std::regex pattern("journal: run (\\S+) in");
  return std::regex_search(run.out, match, pattern) ? match[1].str() : "";
}

std::vector<nlohmann::json> Bodies(const HttpReceiver& receiver) {
  std::vector<nlohmann::json> bodies;
  for (const ReceivedRequest& request : receiver.requests())
    bodies.push_back(nlohmann::json::parse(request.body));
  return bodies;
}

std::vector<std::string> Events(const HttpReceiver& receiver) {
  std::vector<std::string> events;
  for (const nlohmann::json& body : Bodies(receiver))
    events.push_back(body.value("event", "?"));
  return events;
}

// Files under `dir` (recursively) whose contents hold `text`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && ReadFile(entry.path().string()).find(text) != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

std::vector<std::string> ShownNotifications(const std::string& cwd, const std::string& run) {
  auto shown = RunStagecraft({"show", run, "--json"}, cwd);
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  std::vector<std::string> rows;
  // Named: iterating a member of a temporary would outlive it.
  const nlohmann::json notifications = nlohmann::json::parse(shown.out)["notifications"];
  for (const auto& row : notifications)
    rows.push_back(row["event"].get<std::string>() + " " + row["target"].get<std::string>() + " #" +
                   std::to_string(row["attempt"].get<int>()) + " " +
                   (row["delivered"].get<bool>() ? "delivered" : row["error"].get<std::string>()));
  return rows;
}

TEST(Notify, SucceedingRunPostsStartedAndSucceededWithTheRunsFields) {
  TempDir dir;
  HttpReceiver receiver;
  WriteFile(dir.File("book.md"),
            Book("  - webhook: " + receiver.Url("/hook/" + kToken) + "\n", kPassingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = RunId(run);
  ASSERT_FALSE(id.empty()) << run.out;

  EXPECT_THAT(Events(receiver), ElementsAre("started", "succeeded"));
  auto requests = receiver.requests();
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/hook/" + kToken);
  EXPECT_EQ(requests[0].content_type, "application/json");
  nlohmann::json succeeded = Bodies(receiver)[1];
  EXPECT_EQ(succeeded["run_id"], id);
  EXPECT_EQ(succeeded["runbook"], "Notify test");
  EXPECT_EQ(succeeded["environment"], "staging");
  EXPECT_TRUE(succeeded["step"].is_null());
  EXPECT_EQ(succeeded["message"], "succeeded: all steps passed");
  EXPECT_EQ(succeeded["report"], std::filesystem::canonical(dir.path()).string() +
                                     "/.stagecraft/runs/" + id + "/report.html");
  EXPECT_FALSE(succeeded.contains("approve_command"));

  std::string label = "webhook #1 (127.0.0.1:" + std::to_string(receiver.port()) + ")";
  EXPECT_THAT(
      ShownNotifications(dir.path(), id),
      ElementsAre("started " + label + " #1 delivered", "succeeded " + label + " #1 delivered"));
  auto shown = RunStagecraft({"show", id}, dir.path());
  EXPECT_THAT(shown.out, HasSubstr("Notifications\n  EVENT      TARGET"));
  EXPECT_THAT(shown.out, HasSubstr("  succeeded  " + label + "  1        "));
  EXPECT_THAT(shown.out, HasSubstr("  delivered (HTTP 200)\n"));
  // The URL's token is in the runbook only.
  EXPECT_THAT(run.out + run.err + shown.out, Not(HasSubstr(kToken)));
  EXPECT_THAT(FilesHolding(dir.File(".stagecraft"), kToken), ElementsAre());
}

TEST(Notify, FailingRunThatRollsBackTellsEachTargetTheEventsItAskedFor) {
  TempDir dir;
  HttpReceiver hook;
  HttpReceiver slack;
  WriteFile(dir.File("book.md"),
            Book("  - webhook: " + hook.Url("/deploy") +
                     "\n    events: [failed, rolled_back, succeeded]\n  - slack: " +
                     slack.Url("/services/" + kToken) + "\n",
                 kFailingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  std::string id = RunId(run);

  EXPECT_THAT(Events(hook), ElementsAre("failed", "rolled_back"));
  nlohmann::json failed = Bodies(hook)[0];
  EXPECT_EQ(failed["step"], "verify");
  EXPECT_EQ(failed["message"], "step verify FAILED: exited with status 3");
  EXPECT_EQ(failed["detail"], "checking\n");
  nlohmann::json rolled_back = Bodies(hook)[1];
  EXPECT_THAT(rolled_back["message"].get<std::string>(), HasSubstr("rolled back: step verify"));

  std::vector<std::string> texts;
  for (const nlohmann::json& body : Bodies(slack)) {
    EXPECT_EQ(body.size(), 1u) << body.dump();
    texts.push_back(body["text"].get<std::string>());
  }
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], "stagecraft: Notify test (staging) — run " + id + " started: started");
  EXPECT_THAT(texts[1], HasSubstr("run " + id + " failed at step verify: step verify FAILED"));
  EXPECT_THAT(texts[2], HasSubstr("rolled_back: rolled back: step verify FAILED"));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr(kToken)));
}

TEST(Notify, ServerErrorsAreRetriedUntilTheNotificationIsDelivered) {
  TempDir dir;
  HttpReceiver receiver({500, 502});
  WriteFile(
      dir.File("book.md"),
      Book("  - webhook: " + receiver.Url("/hook") + "\n    events: [succeeded]\n", kPassingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(Events(receiver), ElementsAre("succeeded", "succeeded", "succeeded"));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("warning")));
  std::string label = "webhook #1 (127.0.0.1:" + std::to_string(receiver.port()) + ")";
  EXPECT_THAT(
      ShownNotifications(dir.path(), RunId(run)),
      ElementsAre("succeeded " + label + " #1 HTTP 500", "succeeded " + label + " #2 HTTP 502",
                  "succeeded " + label + " #3 delivered"));
}

TEST(Notify, DeadEndpointIsAWarningThatLeavesTheRunSucceeded) {
  TempDir dir;
  int port = UnusedPort();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook/" + kToken;
  WriteFile(dir.File("book.md"),
            Book("  - webhook: " + url + "\n    events: [succeeded]\n", kPassingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string label = "webhook #1 (127.0.0.1:" + std::to_string(port) + ")";
  EXPECT_THAT(run.out, HasSubstr("warning: succeeded notification to " + label +
                                 " failed after 3 attempts: "));
  EXPECT_THAT(run.out, HasSubstr("succeeded: all steps passed (exit 0)"));
  std::vector<std::string> shown = ShownNotifications(dir.path(), RunId(run));
  ASSERT_EQ(shown.size(), 3u);
  EXPECT_THAT(shown[2], HasSubstr("succeeded " + label + " #3 "));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr(kToken)));
  EXPECT_THAT(FilesHolding(dir.File(".stagecraft"), kToken), ElementsAre());
}

TEST(Notify, ReceiverThatNeverAnswersCostsTheRunAtMostTheBudget) {
  TempDir dir;
  HttpReceiver silent({}, /*silent=*/true);
  WriteFile(dir.File("book.md"),
            Book("  - webhook: " + silent.Url("/a") + "\n    events: [succeeded]\n  - slack: " +
                     silent.Url("/b") + "\n    events: [succeeded]\n",
                 kPassingSteps));
  auto start = std::chrono::steady_clock::now();
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // One event's budget (15s) plus the run itself.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  EXPECT_EQ(silent.connections(), 3);
  auto shown = RunStagecraft({"show", RunId(run), "--json"}, dir.path());
  int64_t spent = 0;
  std::vector<int> attempts;
  const nlohmann::json notifications = nlohmann::json::parse(shown.out)["notifications"];
  for (const auto& row : notifications) {
    spent += row["duration_ms"].get<int64_t>();
    attempts.push_back(row["attempt"].get<int>());
  }
  EXPECT_LE(spent, 15000);
  EXPECT_THAT(attempts, ElementsAre(1, 2, 3, 0));
  std::string slack = "slack #2 (127.0.0.1:" + std::to_string(silent.port()) + ")";
  EXPECT_THAT(run.out, HasSubstr("warning: succeeded notification to " + slack +
                                 ": not sent: the 15s budget for this event was spent"));
}

TEST(Notify, CommandTargetGetsThePayloadOnStdinAndTheFieldsInItsEnvironment) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            Book("  - command: cat >> payloads.jsonl; echo >> payloads.jsonl; "
                 "echo \"$STAGECRAFT_EVENT $STAGECRAFT_STEP $STAGECRAFT_ENVIRONMENT\" >> "
                 "events.txt\n    events: [failed, rolled_back]\n",
                 kFailingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(ReadFile(dir.File("events.txt")), "failed verify staging\nrolled_back  staging\n");
  std::vector<std::string> lines;
  std::string payloads = ReadFile(dir.File("payloads.jsonl"));
  size_t newline = payloads.find('\n');
  ASSERT_NE(newline, std::string::npos);
  nlohmann::json failed = nlohmann::json::parse(payloads.substr(0, newline));
  EXPECT_EQ(failed["event"], "failed");
  EXPECT_EQ(failed["run_id"], RunId(run));
  EXPECT_THAT(ShownNotifications(dir.path(), RunId(run)),
              ElementsAre("failed command #1 #1 delivered", "rolled_back command #1 #1 delivered"));
}

TEST(Notify, FailingCommandIsRetriedAndReported) {
  TempDir dir;
  WriteFile(dir.File("book.md"),
            Book("  - command: echo no mail server >&2; exit 4\n    events: [succeeded]\n",
                 kPassingSteps));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("warning: succeeded notification to command #1 failed after 3 "
                                 "attempts: exited with status 4: no mail server"));
}

TEST(Notify, SecretInAFailureIsMaskedInThePayload) {
  TempDir dir;
  const std::string secret = "s3cr3t-Api-t0ken-42";
  ScopedEnv env("STAGECRAFT_NOTIFY_TEST_TOKEN", secret);
  HttpReceiver receiver;
  WriteFile(
      dir.File("book.md"),
      "---\ntitle: Notify test\nsecrets:\n  API_TOKEN: { env: STAGECRAFT_NOTIFY_TEST_TOKEN }\n"
      "notify:\n  - webhook: " +
          receiver.Url("/hook") +
          "\n    events: [failed]\n---\n"
          "## Call\n```bash\necho \"calling with $API_TOKEN\"\nexit 2\n```\n");
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  ASSERT_THAT(Events(receiver), ElementsAre("failed"));
  EXPECT_EQ(Bodies(receiver)[0]["detail"], "calling with ***\n");
  EXPECT_THAT(receiver.requests()[0].body, Not(HasSubstr(secret)));
}

TEST(Notify, GateWaitingForApprovalSendsTheApproveCommand) {
  TempDir dir;
  HttpReceiver receiver;
  WriteFile(dir.File("book.md"),
            Book("  - webhook: " + receiver.Url("/hook") + "\n    events: [waiting, failed]\n",
                 "## Migrate\n```bash { confirm }\necho migrating\n```\n"));
  auto run = RunStagecraft({"run", "book.md", "--env", "staging", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 4) << run.out << run.err;
  std::string id = RunId(run);
  ASSERT_THAT(Events(receiver), ElementsAre("waiting"));
  nlohmann::json waiting = Bodies(receiver)[0];
  EXPECT_EQ(waiting["step"], "migrate");
  EXPECT_EQ(waiting["approve_command"], "stagecraft approve " + id + " migrate");
  EXPECT_THAT(waiting["message"].get<std::string>(), HasSubstr("waiting for approval"));
}

struct BadNotify {
  const char* name;
  std::string notify;
  std::string error;  // the finding, without the source line and caret
};

class NotifyErrors : public ::testing::TestWithParam<BadNotify> {};

TEST_P(NotifyErrors, StopPlanLintAndRunWithTheirPosition) {
  TempDir dir;
  WriteFile(dir.File("book.md"), Book(GetParam().notify, kPassingSteps));
  for (const char* command : {"plan", "lint", "run"}) {
    auto result = RunStagecraft({command, "book.md"}, dir.path());
    EXPECT_EQ(result.exit_code, std::string(command) == "lint" ? 1 : 2) << command;
    std::string streams = result.out + result.err;
    EXPECT_THAT(streams, HasSubstr("book.md:" + GetParam().error + "\n")) << command;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File(".stagecraft/runs")));
}

INSTANTIATE_TEST_SUITE_P(
    Notify, NotifyErrors,
    ::testing::Values(
        BadNotify{"NotAList", "  webhook: https://hooks.example.com/x\n",
                  "6:3: error: notify must be a list of targets (webhook, slack or command)"},
        BadNotify{"TwoKinds", "  - webhook: https://hooks.example.com/x\n    command: mail ops\n",
                  "6:5: error: a notify target needs exactly one of webhook, slack or command"},
        BadNotify{"UnknownEvent",
                  "  - slack: https://hooks.example.com/x\n    events: [failed, finished]\n",
                  "7:22: error: unknown notify event 'finished' (expected started, waiting, "
                  "failed, rolled_back, succeeded)"},
        BadNotify{"MisspelledEvent",
                  "  - slack: https://hooks.example.com/x\n    events: [rolledback]\n",
                  "7:14: error: unknown notify event 'rolledback'; did you mean 'rolled_back'?"},
        BadNotify{"UnsupportedScheme", "  - webhook: smtp://mail.example.com/ops\n",
                  "6:14: error: unsupported URL scheme 'smtp' in notify (expected http or "
                  "https)"}),
    [](const ::testing::TestParamInfo<BadNotify>& info) { return info.param.name; });

}  // namespace
}  // namespace stagecraft::testing
