// End-to-end tests of the example runbooks in examples/: every one lints clean, and the
// three cloud rollouts (serverless, infrastructure, platform) run against the `aws` and
// `terraform` test doubles in tests/doubles/ — a success, a failed expectation, a red flag
// and a failing command with its rollback each. The doubles keep their fake cloud in the
// test's directory, so the tests also check what a run left behind.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;

std::string ExamplesDir() {
  return TestsDir() + "/../examples";
}

// Sets environment variables for the stagecraft runs of one test and restores them after,
// since all tests share the process when e2e_test runs without ctest.
class ScopedEnv {
 public:
  void Set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Fake cloud resources the doubles hold, as "<terraform type>/<name>" paths.
std::vector<std::string> CloudResources(const std::string& state_dir) {
  std::vector<std::string> found;
  fs::path aws = fs::path(state_dir) / "aws";
  if (!fs::exists(aws)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(aws))
    if (entry.is_regular_file()) found.push_back(fs::relative(entry.path(), aws).string());
  return found;
}

class ExampleRunbooks : public ::testing::TestWithParam<std::string> {};

TEST_P(ExampleRunbooks, LintsClean) {
  auto result = RunStagecraft({"lint", ExamplesDir() + "/" + GetParam()});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find(": no problems found"), std::string::npos) << result.out;
}

INSTANTIATE_TEST_SUITE_P(All, ExampleRunbooks,
                         ::testing::Values("hello/hello.md", "local-staging/deploy.md",
                                           "local-staging/teardown.md",
                                           "serverless-rollout/rollout.md",
                                           "infra-rollout/rollout.md",
                                           "platform-rollout/rollout.md"));

struct Scenario {
  std::string name;                                      // test name suffix
  std::string example;                                   // directory under examples/
  std::vector<std::pair<std::string, std::string>> env;  // how the doubles misbehave
  int exit_code = 0;
  std::vector<std::string> console;  // lines or fragments the console must show
  // After the run: a resource that must exist, or (empty) nothing may be left.
  std::string resource_left;
};

void PrintTo(const Scenario& scenario, std::ostream* out) {
  *out << scenario.name;
}

class CloudRollout : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    // The runbooks write plans, packages and variables files next to themselves, so each
    // run gets its own copy of the example.
    fs::copy(ExamplesDir() + "/" + GetParam().example, dir_.File(GetParam().example),
             fs::copy_options::recursive);
    env_.Set("PATH", TestsDir() + "/doubles:" + std::getenv("PATH"));
    env_.Set("STAGECRAFT_DOUBLE_STATE", dir_.File("cloud"));
    for (const auto& [name, value] : GetParam().env)
      env_.Set(name, value);
  }

  TempDir dir_;
  ScopedEnv env_;
};

TEST_P(CloudRollout, RunsAsTheScenarioSays) {
  const Scenario& scenario = GetParam();
  CommandResult run =
      RunStagecraft({"run", scenario.example + "/rollout.md", "--yes", "--no-color"}, dir_.path());
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.out << run.err;
  for (const auto& fragment : scenario.console)
    EXPECT_NE(run.out.find(fragment), std::string::npos) << "missing: " << fragment << "\n"
                                                         << run.out;
  auto report = nlohmann::json::parse(ReadFile(ReportFile(run, dir_.path(), "json")));
  std::string junit = ReadFile(ReportFile(run, dir_.path(), "junit.xml"));
  if (scenario.exit_code == 0) {
    EXPECT_EQ(report["run"]["status"], "succeeded");
    EXPECT_EQ(junit.find("<failure"), std::string::npos) << junit;
  } else {
    EXPECT_NE(report["run"]["status"], "succeeded");
    EXPECT_NE(junit.find("<failure"), std::string::npos) << junit;
    // Rolled back, or journaled as not needing it.
    EXPECT_FALSE(report["rollback"].empty()) << "a failed rollout says what its rollback did";
  }

  std::vector<std::string> left = CloudResources(dir_.File("cloud"));
  if (scenario.resource_left.empty()) {
    EXPECT_EQ(left, std::vector<std::string>{}) << "the rollback left resources behind";
  } else {
    EXPECT_NE(std::find(left.begin(), left.end(), scenario.resource_left), left.end())
        << scenario.resource_left << " missing\n"
        << run.out;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Doubles, CloudRollout,
    ::testing::Values(
        // Serverless: Lambda function, layer and table through Terraform.
        Scenario{"ServerlessSucceeds",
                 "serverless-rollout",
                 {},
                 0,
                 {"captured LAYER_ARN=arn:aws:lambda:us-east-1:123456789012:layer:"
                  "invoice-reports-deps:1",
                  "Apply complete! Resources: 4 added, 0 changed, 0 destroyed.",
                  "succeeded: all steps passed (exit 0)"},
                 "aws_lambda_function/invoice-reports-staging-engine"},
        Scenario{"ServerlessFunctionNotActive",
                 "serverless-rollout",
                 {{"AWS_DOUBLE_STATUS", "Pending"}},
                 1,
                 {"✗ Active  (not found in the output)",
                  "rolled back: step verify FAILED: expected output not found"},
                 ""},
        Scenario{"ServerlessFunctionErrorIsARedFlag",
                 "serverless-rollout",
                 {{"AWS_DOUBLE_INVOKE_ERROR", "No module named 'reportlab'"}},
                 1,
                 {"red flag \"FunctionError\"",
                  "rolled back: step verify FAILED: a red flag appeared in the output"},
                 ""},
        Scenario{
            "ServerlessFailedApplyIsUndone",
            "serverless-rollout",
            {{"TERRAFORM_DOUBLE_FAIL", "apply"}},
            1,
            {"AccessDeniedException: simulated by the terraform double", "ok undo apply",
             "ok undo record-layer", "ok undo publish-layer", "rolled back: step apply FAILED"},
            ""},
        // Infrastructure: DynamoDB, SSM, KMS, SNS and alarms.
        Scenario{"InfraSucceeds",
                 "infra-rollout",
                 {},
                 0,
                 {"captured NONCE=nonce-", "\"Count\": 1,", "succeeded: all steps passed (exit 0)"},
                 "aws_dynamodb_table/audit-trail-staging-events"},
        Scenario{"InfraTableNotActive",
                 "infra-rollout",
                 {{"AWS_DOUBLE_STATUS", "creating"}},
                 1,
                 {"✗ ACTIVE  (not found in the output)",
                  "rolled back: step verify FAILED: expected output not found"},
                 ""},
        Scenario{"InfraFiringAlarmIsARedFlag",
                 "infra-rollout",
                 {{"AWS_DOUBLE_ALARM", "audit-trail-staging-nonce-failures"}},
                 1,
                 {"red flag \"ALARM\"",
                  "rolled back: step monitoring FAILED: a red flag appeared in the output"},
                 ""},
        Scenario{"InfraPartialApplyIsDestroyed",
                 "infra-rollout",
                 {{"TERRAFORM_DOUBLE_FAIL", "apply"}},
                 1,
                 {"aws_kms_key.main: Creation complete",
                  "Destroy complete! Resources: 1 destroyed.", "rolled back: step apply FAILED"},
                 ""},
        // Platform: infrastructure, feature flags, API and frontend in phases.
        Scenario{"PlatformSucceeds",
                 "platform-rollout",
                 {},
                 0,
                 {"✓ dark_mode: off", "\"Count\": 5,",
                  "upload: dist/index.html to s3://loyalty-staging-web/index.html",
                  "succeeded: all steps passed (exit 0)"},
                 "aws_s3_bucket/loyalty-staging-web/index.html"},
        Scenario{"PlatformApiNotActive",
                 "platform-rollout",
                 {{"AWS_DOUBLE_STATUS", "Pending"}},
                 1,
                 {"✗ Active  (not found in the output)", "ok undo infra-apply",
                  "rolled back: step api-state FAILED: expected output not found"},
                 ""},
        Scenario{"PlatformPlanDestroyingIsARedFlag",
                 "platform-rollout",
                 {{"TERRAFORM_DOUBLE_DRIFT", "aws_sqs_queue.legacy_events"}},
                 1,
                 {"red flag \"will be destroyed\"",
                  "failed: step infra-plan FAILED: a red flag appeared in the output; nothing "
                  "was rolled back: no step that changes things had run",
                  "rollback procedure: Confirm the cleanup (not run: before any change)"},
                 ""},
        Scenario{
            "PlatformFailedUploadIsUndone",
            "platform-rollout",
            {{"AWS_DOUBLE_FAIL", "s3 sync"}},
            1,
            {"An error occurred (AccessDeniedException) when calling the Sync operation",
             "ok undo deploy-web", "ok undo infra-apply", "rolled back: step deploy-web FAILED"},
            ""}),
    [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

}  // namespace
}  // namespace stagecraft::testing
