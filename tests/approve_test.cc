// End-to-end tests of gates decided from elsewhere: `approve`, `reject` and `pending` run by
// real OS accounts, made for each test and removed after it, against a run that waits
// attached (--wait-for-approval) or that exited waiting (exit 4) and is resumed.

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int System(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// The accounts of one test: a group sharing the state directory, and its members, named
// uniquely so that tests running side by side never meet.
class Accounts {
 public:
  explicit Accounts(const std::vector<std::string>& roles) {
    static int counter = 0;
    std::string tag = std::to_string(getpid()) + "x" + std::to_string(counter++);
    group_ = "scg" + tag;
    EXPECT_EQ(System("groupadd " + group_), 0);
    for (const std::string& role : roles) {
      std::string name = role.substr(0, 5) + tag;
      EXPECT_EQ(System("useradd -M -N -g " + group_ + " " + name), 0) << name;
      names_[role] = name;
    }
  }
  ~Accounts() {
    for (const auto& [role, name] : names_)
      System("userdel " + name);
    System("groupdel " + group_);
  }
  const std::string& operator[](const std::string& role) const { return names_.at(role); }
  gid_t gid() const {
    group storage{};
    group* entry = nullptr;
    char buffer[4096];
    getgrnam_r(group_.c_str(), &storage, buffer, sizeof buffer, &entry);
    return entry ? entry->gr_gid : 0;
  }

 private:
  std::string group_;
  std::map<std::string, std::string> names_;
};

// ALICE, CAROL: replaced with the test's accounts.
constexpr const char* kSchemaChange = R"(---
title: Schema change
approvers:
  release-lead: [ALICE]
  db-owner: [CAROL]
---
# Schema change

## Prepare

```bash
echo prepared > prepared
```

**Rollback:**

```bash
rm prepared; echo undone > undone
```

## Migrate
<!-- stagecraft: role=db-owner -->

```bash { confirm prompt="Has the schema diff been reviewed?" }
echo migrated > migrated
```

## Sign-off

| Role | Name | Date | Comment |
|------|------|------|---------|
| release-lead | | | |
| db-owner | | | |
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// A runbook in a directory the group shares (2770, as an administrator would set up a team's
// state directory), so that every account of the test can run and decide there.
class ApproveTest : public ::testing::Test {
 protected:
  ApproveTest() : accounts_({"alice", "carol", "dave"}) {
    EXPECT_EQ(chown(dir_.path().c_str(), 0, accounts_.gid()), 0);
    EXPECT_EQ(chmod(dir_.path().c_str(), 02770), 0);
    fs::create_directory(state_);
    EXPECT_EQ(chown(state_.c_str(), 0, accounts_.gid()), 0);
    EXPECT_EQ(chmod(state_.c_str(), 02770), 0);
    WriteFile(dir_.File("book.md"), Replace(Replace(kSchemaChange, "ALICE", accounts_["alice"]),
                                            "CAROL", accounts_["carol"]));
  }

  CommandResult As(const std::string& role, std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--state", state_});
    return RunStagecraftAsUser(accounts_[role], args, dir_.path());
  }

  // The run id in the output's "journal: run ID in ..." line.
  static std::string RunId(const CommandResult& run) {
    size_t at = run.out.find("journal: run ");
    if (at == std::string::npos) return "";
    return run.out.substr(at + 13, run.out.find(' ', at + 13) - at - 13);
  }

  TempDir dir_;
  Accounts accounts_;
  std::string state_ = dir_.File("state");
};

TEST_F(ApproveTest, ADetachedRunWaitsExits4AndResumesOnceApproved) {
  CommandResult run = As("alice", {"run", "book.md"});
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  std::string id = RunId(run);
  ASSERT_FALSE(id.empty()) << run.out;
  EXPECT_TRUE(Contains(run.out, "waiting: step migrate is waiting for approval")) << run.out;
  EXPECT_FALSE(fs::exists(dir_.File("migrated")));

  CommandResult runs = As("carol", {"runs"});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_TRUE(Contains(runs.out, "waiting")) << runs.out;

  CommandResult pending = As("carol", {"pending"});
  EXPECT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_TRUE(Contains(pending.out, "step migrate")) << pending.out;
  EXPECT_TRUE(
      Contains(pending.out, "  stagecraft approve --state " + state_ + " " + id + " migrate\n"))
      << pending.out;

  CommandResult approved =
      As("carol", {"approve", id, "migrate", "--comment", "schema diff reviewed"});
  EXPECT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(approved.out, "approved step migrate of run " + id + " as " + accounts_["carol"] +
                              "\ncontinue the run with: stagecraft resume --state " + state_ + " " +
                              id + "\n");

  CommandResult resumed = As("alice", {"resume", id});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(fs::exists(dir_.File("migrated")));
  EXPECT_TRUE(Contains(resumed.out, "approved by " + accounts_["carol"] +
                                        " (stagecraft approve): schema diff reviewed"))
      << resumed.out;

  std::string report = ReadFile(ReportFile(resumed, dir_.path(), "md"));
  EXPECT_TRUE(Contains(report, "| db-owner | " + accounts_["carol"] + " | ")) << report;
  EXPECT_TRUE(Contains(report, " | approved | schema diff reviewed |\n")) << report;
  EXPECT_TRUE(Contains(report, "| release-lead | | | not signed | |\n")) << report;
  std::string html = ReadFile(ReportFile(resumed, dir_.path(), "html"));
  EXPECT_TRUE(Contains(html, "<tr><td>db-owner</td><td>" + accounts_["carol"] + "</td>")) << html;

  CommandResult none = As("carol", {"pending"});
  EXPECT_EQ(none.out, "no gate is waiting for approval in " + state_ + "\n");
}

TEST_F(ApproveTest, AnAttachedRunGoesOnWhenAnotherAccountApproves) {
  RunningStagecraft running({"run", "--state", state_, "--wait-for-approval", "2m", "book.md"},
                            dir_.path(), AsUser(accounts_["alice"]));
  std::string id;
  for (int i = 0; i < 300 && id.empty(); ++i) {
    CommandResult pending = As("carol", {"pending"});
    size_t at = pending.out.find("run ");
    if (pending.exit_code == 0 && at == 0) id = pending.out.substr(4, pending.out.find(' ', 4) - 4);
    if (id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(id.empty()) << "the run never waited at its gate";
  CommandResult approved = As("carol", {"approve", id, "migrate"});
  EXPECT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_TRUE(Contains(approved.out, "goes on by itself")) << approved.out;

  CommandResult run = running.Wait();
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(fs::exists(dir_.File("migrated")));
  EXPECT_TRUE(
      Contains(run.out, "waiting up to 2m for approval: stagecraft approve " + id + " migrate"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "approved by " + accounts_["carol"] + " (stagecraft approve)"))
      << run.out;
}

// The id of the run `pending` lists first, once one waits; empty after 30 s without one.
std::string FirstPendingRun(const std::function<CommandResult()>& pending) {
  for (int i = 0; i < 300; ++i) {
    CommandResult listed = pending();
    if (listed.exit_code == 0 && listed.out.rfind("run ", 0) == 0)
      return listed.out.substr(4, listed.out.find(' ', 4) - 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

TEST_F(ApproveTest, ARunAtATerminalWaitsForTheRoleItLacksAndGoesOnWhenApproved) {
  CommandResult run;
  std::thread terminal([&] {
    run = RunStagecraftOnTerminal({"run", "--state", state_, "--no-color", "book.md"}, dir_.path(),
                                  {}, 60, AsUser(accounts_["alice"]));
  });
  std::string id = FirstPendingRun([&] { return As("carol", {"pending"}); });
  CommandResult approved = As("carol", {"approve", id, "migrate"});
  terminal.join();
  ASSERT_FALSE(id.empty()) << "the run never waited at its gate: " << run.out;
  EXPECT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_TRUE(Contains(approved.out, "goes on by itself")) << approved.out;
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(fs::exists(dir_.File("migrated")));
  EXPECT_TRUE(Contains(run.out, "waiting for approval: db-owner (" + accounts_["carol"] +
                                    ") must approve it: stagecraft approve " + id +
                                    " migrate (Ctrl-C leaves the run waiting)"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "approved by " + accounts_["carol"] + " (stagecraft approve)"))
      << run.out;
}

TEST_F(ApproveTest, CtrlCAtATerminalWaitingForTheRoleLeavesTheRunWaiting) {
  CommandResult run = RunStagecraftOnTerminal(
      {"run", "--state", state_, "--no-color", "book.md"}, dir_.path(),
      {{"(Ctrl-C leaves the run waiting)", "\x03"}}, 60, AsUser(accounts_["alice"]));
  EXPECT_EQ(run.exit_code, 4) << run.out;
  EXPECT_TRUE(Contains(run.out, "migrate (Ctrl-C leaves the run waiting)\r\n")) << run.out;
  EXPECT_TRUE(Contains(run.out, "waiting: step migrate is waiting for approval")) << run.out;
  EXPECT_FALSE(fs::exists(dir_.File("migrated")));
  std::string id = FirstPendingRun([&] { return As("carol", {"pending"}); });
  EXPECT_FALSE(id.empty());
}

// Without roles anyone may decide: the operator at the terminal by answering, or another
// process with `stagecraft approve`, whichever comes first.
TEST(TerminalGate, APromptGivesWayToAnApprovalFromAnotherProcess) {
  TempDir dir;
  std::string state = dir.File("state");
  WriteFile(dir.File("book.md"),
            "# Ship\n\n## Ship\n\n```bash { confirm }\necho shipped > shipped\n```\n");
  CommandResult run;
  std::thread terminal([&] {
    run = RunStagecraftOnTerminal({"run", "--state", state, "--no-color", "book.md"}, dir.path(),
                                  {}, 60);
  });
  std::string id = FirstPendingRun([&] {
    return RunStagecraft({"pending", "--state", state}, dir.path());
  });
  CommandResult approved = RunStagecraft({"approve", "--state", state, id, "ship"}, dir.path());
  terminal.join();
  ASSERT_FALSE(id.empty()) << "the run never waited at its gate: " << run.out;
  EXPECT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(fs::exists(dir.File("shipped")));
  EXPECT_TRUE(Contains(run.out, "[y/N] \r\n")) << run.out;
  EXPECT_TRUE(Contains(run.out, "approved by root (stagecraft approve)")) << run.out;
}

TEST_F(ApproveTest, ARejectionFailsTheStepAndTheRunRollsBack) {
  CommandResult run = As("alice", {"run", "book.md"});
  ASSERT_EQ(run.exit_code, 4) << run.out << run.err;
  std::string id = RunId(run);
  CommandResult rejected = As("carol", {"reject", id, "migrate", "--reason", "not during peak"});
  EXPECT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_TRUE(Contains(rejected.out, "rejected step migrate of run " + id)) << rejected.out;

  CommandResult resumed = As("alice", {"resume", id});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.out << resumed.err;
  EXPECT_TRUE(Contains(resumed.out, "step migrate rejected: rejected by " + accounts_["carol"] +
                                        ": not during peak"))
      << resumed.out;
  EXPECT_TRUE(fs::exists(dir_.File("undone")));
  EXPECT_FALSE(fs::exists(dir_.File("migrated")));
  CommandResult show = As("carol", {"show", id, "--json"});
  EXPECT_EQ(nlohmann::json::parse(show.out).value("status", ""), "rolled_back") << show.out;
}

TEST_F(ApproveTest, DecisionsOnRunsThatDoNotWaitAreRefused) {
  CommandResult run = As("alice", {"run", "book.md"});
  ASSERT_EQ(run.exit_code, 4) << run.out << run.err;
  std::string id = RunId(run);

  CommandResult wrong_step = As("carol", {"approve", id, "prepare"});
  EXPECT_EQ(wrong_step.exit_code, 2);
  EXPECT_EQ(wrong_step.err,
            "stagecraft: error: run " + id + " waits at step migrate, not prepare\n");

  EXPECT_EQ(As("carol", {"approve", id, "migrate"}).exit_code, 0);
  CommandResult twice = As("carol", {"reject", id, "migrate", "--reason", "no"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_EQ(twice.err, "stagecraft: error: step migrate of run " + id +
                           " was already approved by " + accounts_["carol"] + "\n");

  EXPECT_EQ(As("alice", {"resume", id}).exit_code, 0);
  CommandResult done = As("carol", {"approve", id, "migrate"});
  EXPECT_EQ(done.exit_code, 2);
  EXPECT_EQ(done.err,
            "stagecraft: error: run " + id + " is not waiting for approval (it is succeeded)\n");

  CommandResult unknown = As("carol", {"approve", "nosuchrun", "migrate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "stagecraft: error: journal: no run matches 'nosuchrun'\n");

  CommandResult no_reason = As("carol", {"reject", id, "migrate"});
  EXPECT_EQ(no_reason.exit_code, 2);
  EXPECT_TRUE(Contains(no_reason.err, "--reason is required")) << no_reason.err;
}

TEST_F(ApproveTest, TheAccountThatStartedTheRunCannotApproveItsGates) {
  CommandResult run = As("alice", {"run", "--yes", "book.md"});
  ASSERT_EQ(run.exit_code, 4) << run.out << run.err;
  std::string id = RunId(run);
  EXPECT_TRUE(Contains(run.out, "db-owner (" + accounts_["carol"] + ") must approve it"))
      << run.out;

  CommandResult self = As("alice", {"approve", id, "migrate"});
  EXPECT_EQ(self.exit_code, 2);
  EXPECT_EQ(self.err, "stagecraft: error: " + accounts_["alice"] + " started run " + id +
                          " and may not approve its gates (allow_self_approval is not set); step "
                          "migrate needs db-owner: " +
                          accounts_["carol"] + " may approve it\n");

  CommandResult wrong = As("dave", {"approve", id, "migrate"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_EQ(wrong.err, "stagecraft: error: " + accounts_["dave"] +
                           " is not db-owner; step migrate needs db-owner: " + accounts_["carol"] +
                           " may approve it\n");
  CommandResult still = As("carol", {"pending"});
  EXPECT_TRUE(Contains(still.out, "stagecraft approve --state " + state_ + " " + id + " migrate"))
      << still.out;
}

TEST_F(ApproveTest, PlanShowsTheRoleOfEachGateAndUnknownRolesAreErrors) {
  CommandResult plan = RunStagecraftAsUser(accounts_["carol"], {"plan", "book.md"}, dir_.path());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(Contains(plan.out, "asks for approval before running (role db-owner: " +
                                     accounts_["carol"] + "): Has the schema diff been reviewed?"))
      << plan.out;

  WriteFile(dir_.File("typo.md"),
            Replace(ReadFile(dir_.File("book.md")), "role=db-owner", "role=db-ownr"));
  for (const char* command : {"plan", "lint", "run"}) {
    CommandResult typo = RunStagecraftAsUser(accounts_["alice"], {command, "typo.md"}, dir_.path());
    EXPECT_EQ(typo.exit_code, command == std::string("lint") ? 1 : 2) << command;
    EXPECT_TRUE(Contains(typo.out + typo.err,
                         "typo.md:22:23: error: unknown role 'db-ownr'; did you mean 'db-owner'?"))
        << command << typo.out << typo.err;
  }
}

}  // namespace
}  // namespace stagecraft::testing
