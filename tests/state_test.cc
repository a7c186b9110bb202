// End-to-end tests of where state is found: --state, then STAGECRAFT_STATE, then the front
// matter's `state:`, then `.stagecraft` at the top of the git work tree holding the runbook,
// else beside it. A runbook has one history and one lock from wherever it is started, and
// every command finds them the same way.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr const char* kBook =
    "# Deploy\n\n## Mark\n\n```bash\necho marked >> \"$STAGECRAFT_ROOT/marks\"\n```\n";

// A git work tree (a `.git` folder is what marks one) with the runbook in ops/, and the
// default resolution: the test process's STAGECRAFT_STATE is taken away for the test.
class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* old = std::getenv("STAGECRAFT_STATE")) saved_ = old;
    unsetenv("STAGECRAFT_STATE");
    fs::create_directories(dir_.File("repo/.git"));
    fs::create_directories(dir_.File("repo/ops/sub"));
    fs::create_directories(dir_.File("elsewhere"));
    WriteFile(dir_.File("repo/ops/deploy.md"), kBook);
  }
  void TearDown() override {
    if (saved_)
      setenv("STAGECRAFT_STATE", saved_->c_str(), 1);
    else
      unsetenv("STAGECRAFT_STATE");
  }
  size_t RunsSeenFrom(const std::string& cwd) {
    auto runs = RunStagecraft({"runs", "--json"}, cwd);
    EXPECT_EQ(runs.exit_code, 0) << runs.err;
    return nlohmann::json::parse(runs.out, nullptr, false).size();
  }

  TempDir dir_;
  std::optional<std::string> saved_;
};

TEST_F(StateTest, OneHistoryPerRunbookWhereverItIsStarted) {
  std::string book = dir_.File("repo/ops/deploy.md");
  for (const auto& [cwd, path] : {std::pair{dir_.File("repo/ops"), std::string("deploy.md")},
                                  std::pair{dir_.File("repo"), std::string("ops/deploy.md")},
                                  std::pair{dir_.File("elsewhere"), book}}) {
    auto run = RunStagecraft({"run", path, "--no-color"}, cwd);
    EXPECT_EQ(run.exit_code, 0) << cwd << "\n" << run.out << run.err;
  }
  EXPECT_TRUE(fs::exists(dir_.File("repo/.stagecraft/journal.db")));
  EXPECT_FALSE(fs::exists(dir_.File("repo/ops/.stagecraft")));
  EXPECT_FALSE(fs::exists(dir_.File("elsewhere/.stagecraft")));
  // Every command given a run id finds it from anywhere in the work tree.
  EXPECT_EQ(RunsSeenFrom(dir_.File("repo/ops/sub")), 3u);
  EXPECT_EQ(RunsSeenFrom(dir_.File("repo")), 3u);
  auto show = RunStagecraft({"show", "latest"}, dir_.File("repo/ops"));
  EXPECT_EQ(show.exit_code, 0) << show.err;
}

TEST_F(StateTest, ARunStartedElsewhereSaysHowToReachItsState) {
  auto run =
      RunStagecraft({"run", dir_.File("repo/ops/deploy.md"), "--no-color"}, dir_.File("elsewhere"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out,
                       "in ../repo/.stagecraft (stagecraft show --state "
                       "../repo/.stagecraft "))
      << run.out;
}

TEST_F(StateTest, TheLockHoldsWhateverDirectoryTheSecondRunStartsFrom) {
  WriteFile(dir_.File("repo/ops/slow.md"),
            "# Slow\n\n## Hold\n\n```bash\ntouch \"$STAGECRAFT_ROOT/started\"\nsleep 30\n```\n");
  RunningStagecraft first({"run", "slow.md", "--no-color"}, dir_.File("repo/ops"));
  ASSERT_TRUE(WaitForFile(dir_.File("repo/ops/started"), 30));
  auto second = RunStagecraft({"run", "ops/slow.md", "--no-color"}, dir_.File("repo"));
  EXPECT_EQ(second.exit_code, 2) << second.out << second.err;
  EXPECT_TRUE(Contains(second.err, "is locked by run")) << second.err;
  kill(first.pid(), SIGINT);
  first.Wait();
}

// Two clones of one repository sharing a state: the runbook is the same runbook, whichever
// clone runs it.
TEST_F(StateTest, TwoClonesSharingAStateShareTheLock) {
  const std::string slow =
      "# Slow\n\n## Hold\n\n```bash\ntouch \"$STAGECRAFT_ROOT/started\"\nsleep 30\n```\n";
  for (const char* clone : {"alice", "bob"}) {
    fs::create_directories(dir_.File(std::string(clone) + "/.git"));
    fs::create_directories(dir_.File(std::string(clone) + "/ops"));
    WriteFile(dir_.File(std::string(clone) + "/ops/slow.md"), slow);
  }
  setenv("STAGECRAFT_STATE", dir_.File("shared").c_str(), 1);
  RunningStagecraft first({"run", "ops/slow.md", "--no-color"}, dir_.File("alice"));
  ASSERT_TRUE(WaitForFile(dir_.File("alice/ops/started"), 30));
  auto second = RunStagecraft({"run", "ops/slow.md", "--no-color"}, dir_.File("bob"));
  EXPECT_EQ(second.exit_code, 2) << second.out << second.err;
  EXPECT_TRUE(Contains(second.err, "stagecraft: error: ops/slow.md is locked by run "))
      << second.err;
  EXPECT_FALSE(fs::exists(dir_.File("bob/ops/started")));
  kill(first.pid(), SIGINT);
  first.Wait();
}

TEST_F(StateTest, OutsideAWorkTreeTheStateIsBesideTheRunbook) {
  fs::create_directories(dir_.File("plain/guides"));
  WriteFile(dir_.File("plain/guides/deploy.md"), kBook);
  auto run = RunStagecraft({"run", "guides/deploy.md", "--no-color"}, dir_.File("plain"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(fs::exists(dir_.File("plain/guides/.stagecraft/journal.db")));
  // A command given a run id looks where it stands, and says where that was.
  auto runs = RunStagecraft({"runs"}, dir_.File("plain"));
  EXPECT_EQ(runs.exit_code, 2);
  EXPECT_EQ(runs.err,
            "stagecraft: error: no runs recorded in .stagecraft (no journal.db there; the state "
            "is --state, else STAGECRAFT_STATE, else .stagecraft at the top of the git work "
            "tree, else .stagecraft beside the runbook)\n");
  EXPECT_EQ(RunsSeenFrom(dir_.File("plain/guides")), 1u);
}

TEST_F(StateTest, FlagBeatsEnvironmentBeatsFrontMatterBeatsTheDefault) {
  WriteFile(dir_.File("repo/ops/deploy.md"),
            std::string("---\nstate: ../state-here\n---\n") + kBook);
  std::string ops = dir_.File("repo/ops");
  ASSERT_EQ(RunStagecraft({"run", "deploy.md"}, ops).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_.File("repo/state-here/journal.db")));
  setenv("STAGECRAFT_STATE", dir_.File("from-env").c_str(), 1);
  ASSERT_EQ(RunStagecraft({"run", "deploy.md"}, ops).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_.File("from-env/journal.db")));
  EXPECT_EQ(RunsSeenFrom(ops), 1u);  // runs reads STAGECRAFT_STATE too
  ASSERT_EQ(RunStagecraft({"run", "deploy.md", "--state", dir_.File("from-flag")}, ops).exit_code,
            0);
  EXPECT_TRUE(fs::exists(dir_.File("from-flag/journal.db")));
  EXPECT_FALSE(fs::exists(dir_.File("repo/.stagecraft")));
}

TEST_F(StateTest, AStateThisBuildCannotOpenIsRefusedBeforeAnythingRuns) {
  setenv("STAGECRAFT_STATE", "postgresql://deploy@127.0.0.1:1/stagecraft", 1);
  auto run = RunStagecraft({"run", "deploy.md"}, dir_.File("repo/ops"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "stagecraft: error: STAGECRAFT_STATE postgresql://deploy@127.0.0.1:1/stagecraft: only "
            "a state directory is supported by this build; PostgreSQL state (postgresql://…) is "
            "not available yet\n");
  EXPECT_FALSE(fs::exists(dir_.File("repo/marks")));
  auto runs = RunStagecraft({"runs"}, dir_.File("repo/ops"));
  EXPECT_EQ(runs.exit_code, 2);
  EXPECT_TRUE(Contains(runs.err, "STAGECRAFT_STATE postgresql://")) << runs.err;
}

}  // namespace
}  // namespace stagecraft::testing
