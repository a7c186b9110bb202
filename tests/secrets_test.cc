// End-to-end tests of secrets across kill -9 and resume: nothing in clear on disk, leftover
// scratch directories removed, values built from secrets restored (or asked for again),
// and every masked encoding.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

const std::string kCanary = "cAn4ry-s3cr3t-v4lue";

// Sets an environment variable of this test process (and so of the stagecraft it starts)
// for the life of the object.
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

// Files under `dir` (recursively) whose contents hold `text`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& text) {
  std::vector<std::string> found;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file() && ReadFile(it->path().string()).find(text) != std::string::npos)
      found.push_back(it->path().string());
  }
  return found;
}

// Scratch directories in `tmp` that belong to process `pid`.
int ScratchDirsOf(const std::string& tmp, int pid) {
  int count = 0;
  std::string prefix = "stagecraft-run-" + std::to_string(pid) + "-";
  for (const auto& entry : std::filesystem::directory_iterator(tmp))
    count += entry.path().filename().string().rfind(prefix, 0) == 0 ? 1 : 0;
  return count;
}

std::string LatestRunId(const std::string& cwd) {
  auto runs = nlohmann::json::parse(RunStagecraft({"runs", "--json"}, cwd).out);
  return runs.empty() ? "" : runs[0].value("id", "");
}

// A runbook that builds values from secrets, then waits in step "Wait" until `release`
// exists, then checks in step "Check" that the values are intact.
struct KilledRun {
  TempDir dir;
  std::string tmp = dir.File("tmp");
  int pid = -1;

  // Runs `book` with `args` until `started` appears, then kills stagecraft with SIGKILL and
  // lets the orphaned step finish.
  void RunAndKill(const std::string& book, const std::vector<std::string>& args) {
    std::filesystem::create_directory(tmp);
    WriteFile(dir.File("book.md"), book);
    ScopedEnv tmpdir("TMPDIR", tmp);
    std::vector<std::string> command = {"run", "book.md", "--no-color"};
    command.insert(command.end(), args.begin(), args.end());
    RunningStagecraft run(command, dir.path());
    pid = run.pid();
    ASSERT_TRUE(WaitForFile(dir.File("started"), 20)) << run.Wait().out;
    kill(run.pid(), SIGKILL);
    run.Wait();
  }
  void ReleaseTheOrphan() {
    WriteFile(dir.File("release"), "");
    // The orphaned step polls every 50 ms; it removes `started` when it has gone.
    for (int i = 0; i < 200 && std::filesystem::exists(dir.File("started")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CommandResult Resume(const std::vector<std::string>& args) {
    ScopedEnv tmpdir("TMPDIR", tmp);
    std::vector<std::string> command = {"resume", "--skip-interrupted", "--no-color"};
    command.insert(command.end(), args.begin(), args.end());
    return RunStagecraft(command, dir.path());
  }
};

constexpr const char* kWaitStep =
    "## Wait\n```bash\ntouch started\nwhile [ ! -e release ]; do sleep 0.05; done\n"
    "rm -f started\n```\n";

std::string DeclaredSecretBook() {
  return std::string("---\nsecrets:\n  CANARY: { env: STAGECRAFT_TEST_CANARY }\n---\n# Book\n") +
         "## Connect\n```bash\nexport DB_URL=\"postgres://u:$CANARY@h/db\"\n"
         "plain_copy=\"$CANARY\"\n```\n"
         "## Capture\n```bash { capture=LINE }\necho \"token=$CANARY\"\n```\n" +
         kWaitStep +
         "## Check\n```bash\n"
         "[[ $DB_URL == \"postgres://u:$CANARY@h/db\" && $LINE == \"token=$CANARY\" && "
         "$plain_copy == \"$CANARY\" ]]\necho restored > result\n```\n";
}

TEST(Secrets, KillNineLeavesNoSecretOnDiskAndTheNextRunRemovesTheScratchDir) {
  ScopedEnv canary("STAGECRAFT_TEST_CANARY", kCanary);
  KilledRun killed;
  killed.RunAndKill(DeclaredSecretBook(), {});
  // Checked while the killed engine's step still runs: its state is at its fullest.
  EXPECT_EQ(FilesHolding(killed.tmp, kCanary), std::vector<std::string>{});
  EXPECT_EQ(FilesHolding(killed.dir.File(".stagecraft"), kCanary), std::vector<std::string>{});
  ASSERT_EQ(ScratchDirsOf(killed.tmp, killed.pid), 1);
  killed.ReleaseTheOrphan();
  auto resumed = killed.Resume({});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ScratchDirsOf(killed.tmp, killed.pid), 0);
  EXPECT_EQ(FilesHolding(killed.dir.path(), kCanary), std::vector<std::string>{});
}

TEST(Secrets, ResumeRestoresValuesAndCapturesBuiltFromDeclaredSecrets) {
  ScopedEnv canary("STAGECRAFT_TEST_CANARY", kCanary);
  KilledRun killed;
  killed.RunAndKill(DeclaredSecretBook(), {});
  killed.ReleaseTheOrphan();
  auto resumed = killed.Resume({});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(killed.dir.File("result")), "restored\n");
}

TEST(Secrets, ResumeAsksAgainForValuesBuiltFromASecretItCannotReadAgain) {
  KilledRun killed;
  // The token comes from a block, so the journal cannot re-derive it on resume.
  killed.RunAndKill(std::string("# Book\n## Login\n```bash\n") +
                        "export API_TOKEN=$(echo learned-t0ken)\n"
                        "export AUTH=\"Bearer $API_TOKEN\"\n```\n" +
                        kWaitStep +
                        "## Check\n```bash\n[[ $AUTH == \"Bearer learned-t0ken\" ]]\n"
                        "echo restored > result\n```\n",
                    {});
  killed.ReleaseTheOrphan();
  std::string id = LatestRunId(killed.dir.path());
  auto refused = killed.Resume({});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.err, "stagecraft: error: run " + id +
                             " needs API_TOKEN, AUTH again: the journal does not keep secrets "
                             "and could not re-derive them. Pass each with --var NAME=value "
                             "(the values the run had)\n");
  auto resumed =
      killed.Resume({"--var", "API_TOKEN=learned-t0ken", "--var", "AUTH=Bearer learned-t0ken"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(killed.dir.File("result")), "restored\n");
}

TEST(Secrets, SecretVarIsNeededAgainOnResumeAndNothingElseMayBeGiven) {
  KilledRun killed;
  killed.RunAndKill(std::string("# Book\n") + kWaitStep +
                        "## Check\n```bash\n[[ $API_TOKEN == x-t0ken-1 && $NAME == bob ]]\n"
                        "echo restored > result\n```\n",
                    {"--var", "API_TOKEN=x-t0ken-1", "--var", "NAME=bob"});
  killed.ReleaseTheOrphan();
  std::string id = LatestRunId(killed.dir.path());
  auto refused = killed.Resume({});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.err, "stagecraft: error: run " + id +
                             " needs API_TOKEN again: the journal does not keep secrets and "
                             "could not re-derive it. Pass it with --var NAME=value (the values "
                             "the run had)\n");
  auto kept = killed.Resume({"--var", "API_TOKEN=x-t0ken-1", "--var", "NAME=alice"});
  EXPECT_EQ(kept.exit_code, 2);
  EXPECT_EQ(kept.err, "stagecraft: error: --var NAME: run " + id +
                          " kept the value of NAME; only values its journal could not keep can "
                          "be given again (API_TOKEN)\n");
  auto resumed = killed.Resume({"--var", "API_TOKEN=x-t0ken-1"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(killed.dir.File("result")), "restored\n");
}

// Kills the engine at random moments of a runbook that builds values and captures from a
// secret in every step; after every kill, neither $TMPDIR nor the state directory may hold
// the secret, and in the end every value must have been restored intact.
// STAGECRAFT_KILL_ITERATIONS sets the number of rounds (`make stress` runs many more).
TEST(Secrets, KillNineAtRandomMomentsNeverLeavesTheSecretOnDisk) {
  int iterations = 1;
  if (const char* text = std::getenv("STAGECRAFT_KILL_ITERATIONS")) iterations = std::atoi(text);
  ScopedEnv canary("STAGECRAFT_TEST_CANARY", kCanary);
  std::string book = "---\nsecrets:\n  CANARY: { env: STAGECRAFT_TEST_CANARY }\n---\n# Book\n";
  for (int i = 1; i <= 12; ++i) {
    book += "## Step " + std::to_string(i) + "\n<!-- stagecraft: idempotent -->\n";
    book += "```bash { capture=C" + std::to_string(i) + " }\nexport V" + std::to_string(i) +
            "=\"url://u:$CANARY@h/" + std::to_string(i) +
            "\"\nsleep 0.05\necho \"c:$CANARY\"\n```\n";
  }
  book +=
      "## Check\n<!-- stagecraft: idempotent -->\n```bash\nfor i in $(seq 12); do v=V$i c=C$i\n"
      "  [[ ${!v} == \"url://u:$CANARY@h/$i\" && ${!c} == \"c:$CANARY\" ]]\ndone\n"
      "echo intact > result\n```\n";
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < iterations; ++round) {
    TempDir dir;
    std::string tmp = dir.File("tmp");
    std::filesystem::create_directory(tmp);
    WriteFile(dir.File("book.md"), book);
    ScopedEnv tmpdir("TMPDIR", tmp);
    std::vector<std::string> args = {"run", "book.md", "--no-color"};
    for (int session = 0; session < 20; ++session) {
      RunningStagecraft running(args, dir.path());
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 700)(random)));
      kill(running.pid(), SIGKILL);
      CommandResult ended = running.Wait();
      if (ended.exit_code != 128 + SIGKILL) break;  // finished (or nothing left) before
      ASSERT_TRUE(WaitUntilNoProcessMentions(tmp, 30));
      ASSERT_EQ(FilesHolding(dir.path(), kCanary), std::vector<std::string>{})
          << "round " << round << ", session " << session;
      if (RunStagecraft({"runs", "--json"}, dir.path()).out.find('{') != std::string::npos)
        args = {"resume", "--no-color"};
    }
    // Under load every session may have been killed before the run was journaled.
    auto last =
        RunStagecraft(args[0] == "run" ? args : std::vector<std::string>{"resume"}, dir.path());
    if (last.exit_code != 0)
      EXPECT_NE(last.err.find("nothing to resume"), std::string::npos) << last.out << last.err;
    EXPECT_EQ(ReadFile(dir.File("result")), "intact\n") << "round " << round;
    EXPECT_EQ(FilesHolding(dir.path(), kCanary), std::vector<std::string>{});
    int scratch_dirs = 0;
    for (const auto& entry : std::filesystem::directory_iterator(tmp))
      scratch_dirs += entry.path().filename().string().rfind("stagecraft-run-", 0) == 0;
    EXPECT_EQ(scratch_dirs, 0) << "round " << round;
  }
}

std::string Hex(const std::string& bytes, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  return hex;
}

TEST(Secrets, HexOfASecretIsMaskedInConsoleLogsAndReports) {
  // 45 bytes: `xxd -p` wraps its 90 hex digits after 60.
  const std::string secret = "a-long-s3cret-of-forty-five-bytes-for-xxd-p!!";
  ScopedEnv env("STAGECRAFT_TEST_CANARY", secret);
  TempDir dir;
  WriteFile(dir.File("book.md"),
            "---\nsecrets:\n  CANARY: { env: STAGECRAFT_TEST_CANARY }\n---\n# Hex\n## Dump\n"
            "```bash\nprintf %s \"$CANARY\" | xxd -p\n"
            "printf %s \"$CANARY\" | xxd -p | tr a-f A-F\n"
            "printf 'id=%s\\n' \"$(printf 'user:%s' \"$CANARY\" | xxd -p -c 256)\"\n```\n");
  auto run = RunStagecraft({"run", "book.md", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string logs = RunStagecraft({"logs", "latest"}, dir.path()).out;
  EXPECT_NE(logs.find("***\n***\n***\n***\nid=757365723a***\n"), std::string::npos) << logs;
  for (bool upper : {false, true}) {
    std::string hex = Hex(secret, upper);
    for (const std::string& form : {hex, hex.substr(0, 60), hex.substr(60)}) {
      EXPECT_EQ(run.out.find(form), std::string::npos) << form << "\n" << run.out;
      EXPECT_EQ(logs.find(form), std::string::npos) << form;
      EXPECT_EQ(FilesHolding(dir.path(), form), std::vector<std::string>{}) << form;
    }
  }
}

}  // namespace
}  // namespace stagecraft::testing
