// End-to-end tests of `stagecraft run` on the fixture runbooks in tests/fixtures/run/: real
// processes, real signals, real files. Each test copies its fixture into a fresh TempDir and
// runs there, so blocks (and the engine's state directory) only ever touch that directory.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/text.h"
#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Copies tests/fixtures/run/NAME.md into `dir` and returns the file name to run.
std::string UseFixture(const TempDir& dir, const std::string& name) {
  std::string file = name + ".md";
  fs::copy_file(TestsDir() + "/fixtures/run/" + file, dir.File(file));
  return file;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<int> ReadPids(const std::string& path) {
  std::vector<int> pids;
  std::ifstream in(path);
  for (int pid = 0; in >> pid;)
    pids.push_back(pid);
  return pids;
}

// A process is gone when kill(0) fails; a zombie still counts as alive until someone reaps
// it, so give init a moment.
bool ProcessGone(int pid) {
  for (int i = 0; i < 200; ++i) {
    if (kill(pid, 0) != 0) return true;
    usleep(10'000);
  }
  return false;
}

// Every file under `root` with its contents, and every symlink with its target.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::string relative = fs::relative(entry.path(), root).string();
    if (entry.is_symlink())
      tree[relative] = "-> " + fs::read_symlink(entry.path()).string();
    else if (entry.is_directory())
      tree[relative + "/"] = "";
    else
      tree[relative] = ReadFile(entry.path().string());
  }
  return tree;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(Run, FailingStepRollbackRestoresTheFileTree) {
  TempDir dir;
  fs::create_directories(dir.File("site/current/img"));
  WriteFile(dir.File("site/current/index.html"), "v1\n");
  WriteFile(dir.File("site/current/img/logo.svg"), "<svg/>\n");
  WriteFile(dir.File("site/config.ini"), "version=1\n");
  auto before = Snapshot(dir.File("site"));
  auto file = UseFixture(dir, "rollback-restores-tree");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "smoke test fails")) << result.out;
  EXPECT_TRUE(Contains(result.out, "ok undo upgrade-the-site")) << result.out;
  EXPECT_TRUE(Contains(result.out, "step smoke-test FAILED: exited with status 3; rolled back"))
      << result.out;
  EXPECT_EQ(Snapshot(dir.File("site")), before);
}

TEST(Run, NoProcessOutlivesATimedOutStep) {
  TempDir dir;
  auto file = UseFixture(dir, "timeout-kills-tree");
  auto start = Clock::now();
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_LT(SecondsSince(start), 20);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "FAILED line 8: timed out after 2s")) << result.out;
  std::vector<int> pids = ReadPids(dir.File("pids"));
  std::vector<int> setsid = ReadPids(dir.File("pids.setsid"));
  pids.insert(pids.end(), setsid.begin(), setsid.end());
  // sleep, the subshell and its sleep, setsid sleep, setsid bash.
  ASSERT_EQ(pids.size(), 5u) << ReadFile(dir.File("pids"));
  for (int pid : pids) {
    EXPECT_TRUE(ProcessGone(pid)) << "pid " << pid << " outlived the run";
    if (!ProcessGone(pid)) kill(pid, SIGKILL);
  }
}

TEST(Run, DaemonHoldingStdoutDoesNotHangTheRun) {
  TempDir dir;
  auto file = UseFixture(dir, "daemon-keeps-stdout");
  auto start = Clock::now();
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_LT(SecondsSince(start), 30);  // the daemon sleeps for 60
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "  | started\n")) << result.out;
  EXPECT_TRUE(Contains(result.out, "  | next step ran\n")) << result.out;
  for (int pid : ReadPids(dir.File("daemon.pid")))
    kill(pid, SIGKILL);
}

TEST(Run, StepIgnoringSigtermIsKilledAfterTheGracePeriod) {
  TempDir dir;
  auto file = UseFixture(dir, "ignores-sigterm");
  auto start = Clock::now();
  auto result = RunStagecraft({"run", file}, dir.path());
  double elapsed = SecondsSince(start);
  // 1 s timeout, then SIGTERM is ignored for the 5 s grace, then SIGKILL.
  EXPECT_GE(elapsed, 5.5);
  EXPECT_LT(elapsed, 30);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  // The configured timeout, not the 6 s it took to stop the step.
  EXPECT_TRUE(Contains(result.out,
                       "FAILED line 5: timed out after 1s (it ignored SIGTERM and was killed "
                       "with SIGKILL)\n"))
      << result.out;
  for (int pid : ReadPids(dir.File("stubborn.pid")))
    EXPECT_TRUE(ProcessGone(pid));
}

TEST(Run, StepReadingStdinGetsEndOfFile) {
  TempDir dir;
  auto file = UseFixture(dir, "reads-stdin");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "  | stdin at EOF\n  | cat returned\n")) << result.out;
}

TEST(Run, MissingInterpreterStopsBeforeAnythingRuns) {
  TempDir dir;
  auto file = UseFixture(dir, "missing-interpreter");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out + result.err,
                       "missing-interpreter.md:11: interpreter 'ruby' is not installed (not on "
                       "PATH)"))
      << result.out << result.err;
  EXPECT_FALSE(fs::exists(dir.File("ran-bash")));
}

TEST(Run, NonexistentCwdAttributeFailsTheStep) {
  TempDir dir;
  auto file = UseFixture(dir, "missing-cwd");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "FAILED line 5: working directory '" + dir.path() +
                                       "/no/such/dir' does not exist"))
      << result.out;
  EXPECT_FALSE(fs::exists(dir.File("ran")));
}

TEST(Run, CaptureRegexThatNeverMatchesFailsTheStep) {
  TempDir dir;
  auto file = UseFixture(dir, "capture-no-match");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(
      Contains(result.out, "capture regex /version (\\d+\\.\\d+)/ did not match the output"))
      << result.out;
  EXPECT_FALSE(fs::exists(dir.File("used-version")));
}

TEST(Run, HugeOutputWithQuietStaysSmall) {
  TempDir dir;
  auto file = UseFixture(dir, "huge-output");
  // 512 MiB keeps the test short on a small machine; bench/ streams 1 GiB.
  auto result = RunStagecraft({"run", "--quiet", "--var", "BYTES=512M", file}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out.substr(0, 2000) << result.err;
  EXPECT_LT(result.out.size(), 4096u);
  EXPECT_GT(result.max_rss_kib, 0);
  EXPECT_LT(result.max_rss_kib, 64 * 1024);
}

TEST(Run, BinaryOutputIsShownEscaped) {
  TempDir dir;
  auto file = UseFixture(dir, "binary-output");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "  | nul:\\x00:ff:\\xff\\xfe:esc:\\x1b[2J:bell:\\x07:end\n"))
      << result.out.substr(0, 500);
  EXPECT_TRUE(Contains(result.out, "  | done\n"));
  // Nothing raw reaches the terminal: no NUL, no escape, and the output is valid UTF-8.
  EXPECT_EQ(result.out.find('\0'), std::string::npos);
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos);
  EXPECT_FALSE(FindInvalidUtf8(result.out)) << result.out.substr(0, 200);
}

TEST(Run, SigintMidStepRollsBackAndExits130) {
  TempDir dir;
  auto file = UseFixture(dir, "interrupt");
  RunningStagecraft run({"run", file}, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("started"), 20));
  kill(run.pid(), SIGINT);
  auto result = run.Wait();
  EXPECT_EQ(result.exit_code, 130) << result.out << result.err;
  EXPECT_TRUE(fs::exists(dir.File("rolled-back"))) << result.out;
  EXPECT_FALSE(fs::exists(dir.File("prepared")));
  EXPECT_TRUE(Contains(result.out, "interrupted by SIGINT")) << result.out;
}

TEST(Run, SigkillOfTheStepNamesTheSignal) {
  TempDir dir;
  auto file = UseFixture(dir, "child-killed");
  RunningStagecraft run({"run", file}, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("victim.pid"), 20));
  usleep(100'000);  // the pid file exists before its content is flushed
  std::vector<int> pids = ReadPids(dir.File("victim.pid"));
  ASSERT_EQ(pids.size(), 1u);
  kill(pids[0], SIGKILL);
  auto result = run.Wait();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "killed by SIGKILL")) << result.out;
}

TEST(Run, GateWithoutATerminalWaitsWithAClearMessage) {
  TempDir dir;
  auto file = UseFixture(dir, "gate");
  auto result = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out,
                       "waiting: step dangerous is waiting for approval: stagecraft "
                       "approve "))
      << result.out;
  EXPECT_TRUE(Contains(result.out, " dangerous, then stagecraft resume ")) << result.out;
  EXPECT_FALSE(fs::exists(dir.File("ran")));
  auto approved = RunStagecraft({"run", "--yes", file}, dir.path());
  EXPECT_EQ(approved.exit_code, 0) << approved.out;
  EXPECT_TRUE(fs::exists(dir.File("ran")));
}

TEST(Run, AWaitForApprovalThatIsNoDurationIsRefusedBeforeAnythingRuns) {
  TempDir dir;
  auto file = UseFixture(dir, "gate");
  auto result = RunStagecraft({"run", "--wait-for-approval", "soon", file}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_EQ(result.err,
            "stagecraft: error: --wait-for-approval: invalid duration 'soon' (expected a number "
            "with a unit, e.g. 30s, 5m, 1h30m)\n");
  EXPECT_FALSE(fs::exists(dir.File("ran")));
}

TEST(Run, UnknownApproveNameIsRefusedBeforeAnythingRuns) {
  TempDir dir;
  auto file = UseFixture(dir, "gate");
  auto result = RunStagecraft({"run", "--approve", "deploy", file}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_EQ(result.err,
            "stagecraft: error: --approve deploy: no step of that name (stagecraft plan gate.md "
            "lists the steps)\n");
  EXPECT_FALSE(fs::exists(dir.File("ran")));
  EXPECT_FALSE(fs::exists(dir.File(".stagecraft/journal.db")));
}

TEST(Run, MistypedApproveNameSuggestsTheStep) {
  TempDir dir;
  auto file = UseFixture(dir, "gate");
  auto result = RunStagecraft({"run", "--approve", "dangerus", file}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_EQ(result.err,
            "stagecraft: error: --approve dangerus: no step of that name; did you mean "
            "'dangerous'? (stagecraft plan gate.md lists the steps)\n");
  EXPECT_FALSE(fs::exists(dir.File("ran")));
  auto approved = RunStagecraft({"run", "--approve", "dangerous", file}, dir.path());
  EXPECT_EQ(approved.exit_code, 0) << approved.out << approved.err;
  EXPECT_TRUE(fs::exists(dir.File("ran")));
}

TEST(Run, ResumeRefusesAnUnknownApproveNameToo) {
  TempDir dir;
  auto file = UseFixture(dir, "gate");
  auto waiting = RunStagecraft({"run", file}, dir.path());
  EXPECT_EQ(waiting.exit_code, 4) << waiting.out << waiting.err;
  auto resumed = RunStagecraft({"resume", "latest", "--approve", "dangerus"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 2) << resumed.out << resumed.err;
  EXPECT_TRUE(Contains(resumed.err,
                       "stagecraft: error: --approve dangerus: no step of that name; did you "
                       "mean 'dangerous'?"))
      << resumed.err;
  EXPECT_FALSE(fs::exists(dir.File("ran")));
}

TEST(Run, DryRunRunsNothingAndMasksSecrets) {
  TempDir dir;
  auto file = UseFixture(dir, "dry-run");
  setenv("STAGECRAFT_TEST_TOKEN", "tok-8f3a9c", 1);
  auto result = RunStagecraft({"run", "--dry-run", file}, dir.path());
  unsetenv("STAGECRAFT_TEST_TOKEN");
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_FALSE(fs::exists(dir.File("must-not-exist")));
  EXPECT_TRUE(Contains(result.out, "DB_PASSWORD=***")) << result.out;
  EXPECT_TRUE(Contains(result.out, "REGION=eu-west-1")) << result.out;
  EXPECT_FALSE(Contains(result.out + result.err, "hunter2")) << result.out;
  EXPECT_FALSE(Contains(result.out + result.err, "tok-8f3a9c")) << result.out;
  EXPECT_TRUE(Contains(result.out, "touch must-not-exist")) << result.out;
}

TEST(Run, ProtectedEnvironmentWithoutConfirmationIsRefused) {
  TempDir dir;
  auto file = UseFixture(dir, "protected");
  auto result = RunStagecraft({"run", "--env", "production", file}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out + result.err,
                       "environment 'production' is protected: run on a terminal and type its "
                       "name, or pass --confirm-env production"))
      << result.out << result.err;
  EXPECT_FALSE(fs::exists(dir.File("deployed-production")));
  auto confirmed = RunStagecraft(
      {"run", "--env", "production", "--confirm-env", "production", file}, dir.path());
  EXPECT_EQ(confirmed.exit_code, 0) << confirmed.out << confirmed.err;
  EXPECT_TRUE(fs::exists(dir.File("deployed-production")));
}

TEST(Run, MalformedVarIsAUsageError) {
  TempDir dir;
  auto file = UseFixture(dir, "protected");
  for (const char* bad : {"BAD", "1X=2", "=value"}) {
    auto result = RunStagecraft({"run", "--env", "staging", "--var", bad, file}, dir.path());
    EXPECT_EQ(result.exit_code, 2) << bad;
    EXPECT_EQ(result.err,
              std::string("stagecraft: error: --var expects NAME=value, got '") + bad + "'\n");
    EXPECT_EQ(result.out, "");
  }
  EXPECT_FALSE(fs::exists(dir.File("deployed-staging")));
}

// A log expectation finds messages behind the journal's prefix, and garbled tick marks match
// the ones the program prints; an ordinary expectation still wants the whole line.
TEST(Run, LogExpectationsMatchMessagesAndGarbledTicksMatchTheRealOnes) {
  TempDir dir;
  auto file = UseFixture(dir, "log-expectations");
  auto result = RunStagecraft({"run", file, "--no-color"}, dir.path());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(Contains(result.out, "ok restart-the-service")) << result.out;
  EXPECT_TRUE(Contains(result.out, "step check-the-version FAILED: expected output not found"))
      << result.out;
}

// A **Verification:** block's attributes mean what they mean on any other block, in the
// plan and the run alike.
TEST(Run, VerificationAttributesAreHonouredAsThePlanSays) {
  TempDir dir;
  auto file = UseFixture(dir, "verification-attributes");
  auto plan = RunStagecraft({"plan", file}, dir.path());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  for (const char* row :
       {"verify  bash, 1 line {skip}", "verify  bash, 2 lines {ignore}",
        "verify  bash, 2 lines {retries=1 delay=50ms}", "verify  bash, 1 line {confirm}"})
    EXPECT_NE(plan.out.find(row), std::string::npos) << row << "\n" << plan.out;
  auto planned = nlohmann::json::parse(RunStagecraft({"plan", "--json", file}, dir.path()).out);
  const auto& verifications = planned["steps"][0]["actions"][0]["verifications"];
  ASSERT_EQ(verifications.size(), 4u);
  EXPECT_EQ(verifications[0]["attributes"]["skip"], true);
  EXPECT_EQ(verifications[3]["attributes"]["confirm"], true);

  auto run = RunStagecraft({"run", file, "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(ReadFile(dir.File("ran.log")), "D1\nV2\nV3\nV3\nV4\n");
  EXPECT_NE(run.out.find("skipped (skip attribute): verify $ bash: echo V1 >> ran.log"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("verification (line 20) exited with status 5 (ignored: the block is "
                         "marked ignore)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("verify deploy (bash: echo V4 >> ran.log, line 34)? — approved by"),
            std::string::npos)
      << run.out;

  // Nobody at a terminal and no --yes: the gated verification is not approved, the step fails.
  TempDir unattended;
  file = UseFixture(unattended, "verification-attributes");
  run = RunStagecraft({"run", file, "--no-color"}, unattended.path());
  EXPECT_NE(run.exit_code, 0) << run.out;
  EXPECT_EQ(ReadFile(unattended.File("ran.log")), "D1\nV2\nV3\nV3\n");
}

}  // namespace
}  // namespace stagecraft::testing
