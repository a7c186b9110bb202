// End-to-end tests of the rollback rules: the rollback procedure, the preflight and the
// steps give every directive and attribute the same meaning, and what `run` does matches
// what `plan --json` says; sections scoped with `after=` run only after their step, an
// unscoped procedure only after a change, one alternative of a group only; and
// `stagecraft rollback RUN` follows the same rules as an automatic rollback.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string UseFixture(const TempDir& dir, const std::string& name) {
  std::string file = name + ".md";
  fs::copy_file(TestsDir() + "/fixtures/rollback/" + file, dir.File(file));
  return file;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

json ParseOut(const CommandResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  return json::parse(result.out, nullptr, /*allow_exceptions=*/false);
}

// The markers the blocks appended to ran.log, one per line.
std::multiset<std::string> Ran(const TempDir& dir) {
  std::multiset<std::string> markers;
  if (!fs::exists(dir.File("ran.log"))) return markers;
  std::istringstream lines(ReadFile(dir.File("ran.log")));
  for (std::string line; std::getline(lines, line);)
    markers.insert(line);
  return markers;
}

// The marker a fixture block appends ("echo S3 >> ran.log" -> "S3").
std::string MarkerOf(const json& action) {
  static const std::regex marker(R"(echo (\w+) >> (\.\./)?ran\.log)");
  std::smatch found;
  std::string code = action["code"];
  return std::regex_search(code, found, marker) ? found[1].str() : "";
}

// The journal's records (show --json) of one step's items, or of the rollback.
std::vector<json> RecordsOf(const json& shown, const std::string& step, bool rollback) {
  std::vector<json> records;
  for (const json& record : shown["steps"]) {
    bool in_rollback = record["kind"] == "rollback" || record["kind"] == "compensation";
    if (rollback ? in_rollback : record["parent"] == step) records.push_back(record);
  }
  return records;
}

// The records about the block at `line`: its own and its gate's ("… line N)…").
std::vector<json> RecordsAbout(const std::vector<json>& records, int line,
                               const std::string& checklist_text) {
  std::vector<json> about;
  std::string needle = "line " + std::to_string(line) + ")";
  for (const json& record : records) {
    std::string title = record["title"];
    if (Contains(title, needle) || (!checklist_text.empty() && title == checklist_text))
      about.push_back(record);
  }
  return about;
}

// What the plan says becomes of one block, for a run with --yes and no terminal.
struct Fate {
  bool runs = true;
  std::string journaled;  // the message its record carries when it does not run
};

Fate FateOf(const json& step, const json& action, const json& procedure) {
  const json& attributes = action["attributes"];
  if (step["kind"] == "rollback") {
    for (const json& decision : procedure)
      if (decision["step"] == step["name"] && !decision["not_run"].is_null())
        return {false, "not run: " + decision["reason"].get<std::string>()};
  }
  if (step["skip"] == true) return {false, "skipped (skip directive)"};
  if (step["manual"] == true) return {false, "not run: manual"};
  if (attributes["skip"] == true) return {false, "skipped (skip attribute)"};
  // Without a terminal, --yes turns an interactive block into a manual step.
  if (attributes["interactive"] == true) return {false, "approved by"};
  return {};
}

// Checks one block: that it ran exactly when the plan says, and that the journal says so.
void CheckBlock(const json& step, const json& action, const std::string& checklist_text,
                const json& procedure, const json& shown, const std::multiset<std::string>& ran) {
  std::string marker = MarkerOf(action);
  ASSERT_FALSE(marker.empty()) << action.dump();
  int line = action["position"]["line"];
  SCOPED_TRACE(step["name"].get<std::string>() + " " + marker + " line " + std::to_string(line));
  Fate fate = FateOf(step, action, procedure);
  EXPECT_EQ(ran.count(marker) > 0, fate.runs);

  bool in_rollback = step["kind"] == "rollback";
  if (!in_rollback && step["skip"] == true) {
    for (const json& record : shown["steps"])
      if (record["key"] == step["name"]) EXPECT_EQ(record["status"], "skipped");
    EXPECT_TRUE(RecordsOf(shown, step["name"], false).empty());
    return;
  }
  std::vector<json> about =
      RecordsAbout(RecordsOf(shown, step["name"], in_rollback), line, checklist_text);
  ASSERT_FALSE(about.empty()) << "no journal record of the block";
  const json& record = about.back();  // a gate comes before its block
  if (!fate.runs) {
    EXPECT_EQ(about.size(), 1u);
    EXPECT_TRUE(record["status"] == "skipped" || record["status"] == "approved") << record;
    EXPECT_TRUE(Contains(record["message"], fate.journaled)) << record;
    return;
  }
  EXPECT_TRUE(record["status"] == "succeeded" || record["status"] == "failed") << record;
  const json& attributes = action["attributes"];
  // The fixture's `until` blocks pass at their second attempt.
  int attempts = attributes["until"] == true ? 2 : attributes["retries"].get<int>() + 1;
  EXPECT_EQ(record["attempts"], attempts) << record;
  if (!attributes["name"].is_null())
    EXPECT_TRUE(Contains(record["title"], attributes["name"].get<std::string>())) << record;
  if (!attributes["capture"].is_null()) {
    std::string variable = attributes["capture"]["variable"];
    EXPECT_TRUE(record["captures"].contains(variable)) << record;
  }
  json timeout = action["attributes"]["timeout_ms"];
  if (timeout.is_null()) timeout = step["timeout_ms"];
  bool sleeps = Contains(action["code"], "sleep 5");
  if (sleeps) EXPECT_FALSE(timeout.is_null()) << "the fixture's slow blocks all have a limit";
  if (sleeps) EXPECT_TRUE(Contains(record["message"], "timed out after 500ms")) << record;
  if (action["attributes"]["ignore"] == true)
    EXPECT_EQ(record["status"], "failed") << "the fixture's ignored blocks all fail";
  // Only the step that breaks the run fails without the `ignore` attribute.
  if (record["status"] == "failed" && step["name"] != "break-the-release") {
    EXPECT_EQ(action["attributes"]["ignore"], true) << record;
    EXPECT_TRUE(Contains(record["message"], "(ignored)")) << record;
  }
}

void CheckActions(const json& step, const json& actions, const std::string& checklist_text,
                  const json& procedure, const json& shown, const std::multiset<std::string>& ran) {
  for (const json& action : actions)
    CheckBlock(step, action, checklist_text, procedure, shown, ran);
}

void CheckChecklist(const json& step, const json& items, const json& procedure, const json& shown,
                    const std::multiset<std::string>& ran) {
  for (const json& item : items) {
    CheckActions(step, item["actions"], item["text"], procedure, shown, ran);
    CheckChecklist(step, item["children"], procedure, shown, ran);
  }
}

// The sections of the rollback procedure the plan says a failure of `failing` runs.
json ProcedureFor(const json& plan, const std::string& failing) {
  for (const json& group : plan["rollback_on_failure"])
    for (const json& name : group["failing_steps"])
      if (name == failing) return group["procedure"];
  ADD_FAILURE() << "the plan says nothing of a failure of " << failing;
  return json::array();
}

TEST(Rollback, EveryDirectiveMeansWhatThePlanSaysInTheStepsThePreflightAndTheRollback) {
  TempDir dir;
  std::string file = UseFixture(dir, "every-directive");
  json plan = ParseOut(RunStagecraft({"plan", "--json", file}, dir.path()));
  auto run = RunStagecraft({"run", file, "--yes", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "step break-the-release FAILED: exited with status 3; rolled back"))
      << run.out;
  json shown = ParseOut(RunStagecraft({"show", "latest", "--json"}, dir.path()));
  std::multiset<std::string> ran = Ran(dir);

  json procedure = ProcedureFor(plan, "break-the-release");
  std::set<std::string> kinds;
  for (const json& step : plan["steps"]) {
    kinds.insert(step["kind"]);
    CheckActions(step, step["actions"], "", procedure, shown, ran);
    CheckChecklist(step, step["checklist"], procedure, shown, ran);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"preflight", "step", "rollback"}));
  // The blocks under `cwd=sub` checked where they ran and what the captures held.
  for (const char* marker : {"P13", "S15", "R16", "R17"})
    EXPECT_EQ(ran.count(marker), 1u) << marker;
  // Every flow step ignored its failures but the last; the undo ran before the procedure.
  for (const json& record : shown["steps"])
    if (record["parent"].is_null() && record["kind"] == "step")
      EXPECT_NE(record["status"] == "failed", record["key"] != "break-the-release") << record;
  EXPECT_EQ(ran.count("U1"), 1u);
  EXPECT_EQ(ran.count("D1"), 0u) << "documentation never runs";
  EXPECT_EQ(shown["status"], "rolled_back");
}

constexpr const char* kTerraform = R"md(# Queue rollout

## Check the plan

```bash
grep -q queue main.tf
```

## Apply
<!-- stagecraft: name=apply -->

```bash
echo applied >> cloud.log
```

## Publish the endpoint

```bash
echo published >> cloud.log
test -e publish-ok
```

## Rollback

### Withdraw the endpoint
<!-- stagecraft: rollback after=publish-the-endpoint -->

```bash
echo withdrawn >> undo.log
```

### Destroy the queue
<!-- stagecraft: after=apply -->

```bash
echo destroyed >> undo.log
```

### Review the state by hand
<!-- stagecraft: manual after=apply -->

```bash
echo planned-destroy >> undo.log
```
)md";

std::string LatestId(const std::string& cwd) {
  json runs = ParseOut(RunStagecraft({"runs", "--json"}, cwd));
  return runs.empty() ? "" : runs[0]["id"].get<std::string>();
}

TEST(Rollback, ReadOnlyFirstStepFailingRunsNoRollbackAndSaysWhy) {
  TempDir dir;
  WriteFile(dir.File("queue.md"), kTerraform);
  WriteFile(dir.File("main.tf"), "no such resource here\n");
  auto run = RunStagecraft({"run", "queue.md", "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_FALSE(fs::exists(dir.File("undo.log"))) << ReadFile(dir.File("undo.log"));
  EXPECT_TRUE(Contains(run.out,
                       "step check-the-plan FAILED: exited with status 1; nothing was "
                       "rolled back"))
      << run.out;
  auto shown = RunStagecraft({"show", "latest"}, dir.path());
  EXPECT_TRUE(Contains(shown.out, "not run: after publish-the-endpoint, which did not run"))
      << shown.out;
  EXPECT_TRUE(Contains(shown.out, "not run: after apply, which did not run")) << shown.out;
  EXPECT_TRUE(Contains(shown.out, "failed (exit 1)")) << shown.out;
}

TEST(Rollback, ScopedSectionsRunOnlyAfterTheirStepAndManualOnesNever) {
  TempDir dir;
  WriteFile(dir.File("queue.md"), kTerraform);
  WriteFile(dir.File("main.tf"), "resource queue\n");
  auto run = RunStagecraft({"run", "queue.md", "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  // publish-the-endpoint ran (and failed): all three are due; the manual one is shown only.
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "withdrawn\ndestroyed\n");
  auto report = json::parse(ReadFile(ReportFile(run, dir.path(), "json")));
  std::vector<std::string> notes;
  for (const json& entry : report["rollback"])
    for (const json& attempt : entry["attempts"])
      notes.push_back(attempt["message"]);
  EXPECT_NE(std::find(notes.begin(), notes.end(), "not run: manual"), notes.end())
      << report["rollback"].dump(1);
}

TEST(Rollback, RollbackCommandFollowsTheRulesOfAnAutomaticRollback) {
  TempDir automatic;
  TempDir later;
  for (const TempDir* dir : {&automatic, &later}) {
    WriteFile(dir->File("queue.md"), kTerraform);
    WriteFile(dir->File("main.tf"), "resource queue\n");
    // Apply runs, publishing fails before anything is published: the endpoint step ran.
  }
  auto run = RunStagecraft({"run", "queue.md", "--yes", "--no-color"}, automatic.path());
  EXPECT_EQ(run.exit_code, 1) << run.out;
  auto stopped = RunStagecraft({"run", "queue.md", "--yes", "--on-failure", "stop", "--no-color"},
                               later.path());
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out;
  EXPECT_FALSE(fs::exists(later.File("undo.log")));
  auto rolled = RunStagecraft({"rollback", LatestId(later.path()), "--no-color"}, later.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_EQ(ReadFile(later.File("undo.log")), ReadFile(automatic.File("undo.log")));

  auto records = [](const std::string& cwd) {
    std::vector<std::string> rows;
    json shown = ParseOut(RunStagecraft({"show", "latest", "--json"}, cwd));
    for (const json& record : shown["steps"])
      if (record["kind"] == "rollback")
        rows.push_back(record["title"].get<std::string>() + " " +
                       record["status"].get<std::string>() + " " +
                       record.value("message", std::string()));
    return rows;
  };
  EXPECT_EQ(records(later.path()), records(automatic.path()));
}

TEST(Rollback, RollbackCommandAfterAReadOnlyFailureUndoesNothing) {
  TempDir dir;
  WriteFile(dir.File("queue.md"), kTerraform);
  WriteFile(dir.File("main.tf"), "nothing\n");
  auto stopped =
      RunStagecraft({"run", "queue.md", "--on-failure", "stop", "--no-color"}, dir.path());
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out;
  auto rolled = RunStagecraft({"rollback", LatestId(dir.path()), "--no-color"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_FALSE(fs::exists(dir.File("undo.log")));
  EXPECT_TRUE(Contains(rolled.out, "nothing was rolled back")) << rolled.out;
}

// Apply and publish succeed: a good release, whose undoing would write undo.log.
std::string SucceededRun(const TempDir& dir) {
  WriteFile(dir.File("queue.md"), kTerraform);
  WriteFile(dir.File("main.tf"), "resource queue\n");
  WriteFile(dir.File("publish-ok"), "");
  auto run = RunStagecraft({"run", "queue.md", "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  return LatestId(dir.path());
}

TEST(Rollback, UndoingASucceededRunWithoutTerminalOrYesIsRefused) {
  TempDir dir;
  std::string id = SucceededRun(dir);
  auto rolled = RunStagecraft({"rollback", id, "--no-color"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 2) << rolled.out << rolled.err;
  EXPECT_EQ(rolled.err, "stagecraft: error: run " + id +
                            " succeeded; undoing a good release needs --yes (or answer at a "
                            "terminal)\n");
  EXPECT_EQ(rolled.out, "");
  EXPECT_FALSE(fs::exists(dir.File("undo.log")));
  json shown = ParseOut(RunStagecraft({"show", id, "--json"}, dir.path()));
  EXPECT_EQ(shown["status"], "succeeded");
  for (const json& record : shown["steps"])
    EXPECT_NE(record["kind"], "rollback") << record;
}

TEST(Rollback, UndoingASucceededRunWithYesSaysSoAndRollsBack) {
  TempDir dir;
  std::string id = SucceededRun(dir);
  auto rolled = RunStagecraft({"rollback", id, "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_TRUE(Contains(rolled.out, "run " + id + " succeeded; rolling it back as --yes says\n"))
      << rolled.out;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "withdrawn\ndestroyed\n");
}

TEST(Rollback, UndoingASucceededRunThatChangedNothingLeavesItSucceeded) {
  TempDir dir;
  WriteFile(dir.File("look.md"), "# Look\n\n## Check\n\n```bash\necho looked\n```\n");
  auto run = RunStagecraft({"run", "look.md", "--no-color"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = LatestId(dir.path());
  auto rolled = RunStagecraft({"rollback", id, "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_TRUE(Contains(rolled.out, "succeeded: rollback requested; nothing was rolled back"))
      << rolled.out;
  EXPECT_EQ(ParseOut(RunStagecraft({"show", id, "--json"}, dir.path()))["status"], "succeeded");
}

constexpr const char* kAlternatives = R"md(# Web rollout

## Deploy

```bash
echo deployed > site.txt
false
```

## Rollback

### Option 1: Immediate rollback

```bash
echo immediate >> undo.log
```

### Option 2: Selective rollback

```bash
echo selective >> undo.log
```
)md";

TEST(Rollback, OnlyTheFirstAlternativeRunsUnlessAnotherIsChosen) {
  TempDir dir;
  WriteFile(dir.File("web.md"), kAlternatives);
  auto run = RunStagecraft({"run", "web.md", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "immediate\n");
  EXPECT_TRUE(Contains(run.out, "not run: alternative to option-1-immediate-rollback")) << run.out;

  fs::remove(dir.File("undo.log"));
  auto chosen = RunStagecraft(
      {"run", "web.md", "--no-color", "--choose", "option-2-selective-rollback"}, dir.path());
  EXPECT_EQ(chosen.exit_code, 1) << chosen.out << chosen.err;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "selective\n");

  auto plan = RunStagecraft({"plan", "web.md"}, dir.path());
  EXPECT_TRUE(Contains(plan.out,
                       "ALTERNATIVES  run only when chosen: --choose NAME\n"
                       "  - option-2-selective-rollback  Option 2: Selective rollback  "
                       "[instead of option-1-immediate-rollback]"))
      << plan.out;
}

TEST(Rollback, ChoiceIsKeptForTheRollbackCommandAndCanBeChangedThere) {
  TempDir dir;
  WriteFile(dir.File("web.md"), kAlternatives);
  auto stopped = RunStagecraft({"run", "web.md", "--no-color", "--on-failure", "stop", "--choose",
                                "option-2-selective-rollback"},
                               dir.path());
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out;
  auto rolled = RunStagecraft({"rollback", LatestId(dir.path()), "--no-color"}, dir.path());
  EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "selective\n");

  fs::remove(dir.File("undo.log"));
  RunStagecraft({"run", "web.md", "--no-color", "--on-failure", "stop"}, dir.path());
  auto other = RunStagecraft(
      {"rollback", LatestId(dir.path()), "--no-color", "--choose", "option-2-selective-rollback"},
      dir.path());
  EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "selective\n");
}

TEST(Rollback, ResumeTakesAChoiceToo) {
  TempDir dir;
  WriteFile(dir.File("web.md"), kAlternatives);
  auto stopped = RunStagecraft({"run", "web.md", "--no-color", "--on-failure", "stop"}, dir.path());
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out;
  auto unknown = RunStagecraft({"resume", "--choose", "option-9"}, dir.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "--choose option-9: no alternative")) << unknown.err;
  // The step fails again, and this time the run rolls back with the alternative chosen now.
  auto resumed = RunStagecraft({"resume", "--no-color", "--on-failure", "rollback", "--choose",
                                "option-2-selective-rollback"},
                               dir.path());
  EXPECT_EQ(resumed.exit_code, 1) << resumed.out << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("undo.log")), "selective\n");
}

TEST(Rollback, UnknownChoiceIsRefusedBeforeAnythingRuns) {
  TempDir dir;
  WriteFile(dir.File("web.md"), kAlternatives);
  auto run = RunStagecraft({"run", "web.md", "--choose", "option-3"}, dir.path());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "stagecraft: error: --choose option-3: no alternative of that name "
            "(alternatives: option-1-immediate-rollback, option-2-selective-rollback)\n");
  EXPECT_FALSE(fs::exists(dir.File("site.txt")));
  auto both = RunStagecraft({"run", "web.md", "--choose", "option-1-immediate-rollback", "--choose",
                             "option-2-selective-rollback"},
                            dir.path());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err,
            "stagecraft: error: --choose option-1-immediate-rollback and --choose "
            "option-2-selective-rollback are alternatives to each other; choose one\n");

  RunStagecraft({"run", "web.md", "--on-failure", "stop"}, dir.path());
  auto rollback =
      RunStagecraft({"rollback", LatestId(dir.path()), "--choose", "selective"}, dir.path());
  EXPECT_EQ(rollback.exit_code, 2);
  EXPECT_TRUE(Contains(rollback.err, "--choose selective: no alternative")) << rollback.err;
  EXPECT_FALSE(fs::exists(dir.File("undo.log")));
}

TEST(Rollback, UnknownAfterNameIsAnErrorAtItsPosition) {
  TempDir dir;
  std::string book = kTerraform;
  book.replace(book.find("after=apply"), 11, "after=aply");
  WriteFile(dir.File("queue.md"), book);
  const std::string message =
      "queue.md:33:24: error: unknown step 'aply' in after=; did you mean 'apply'?\n"
      "  <!-- stagecraft: after=aply -->\n"
      "                         ^\n";
  auto lint = RunStagecraft({"lint", "queue.md"}, dir.path());
  EXPECT_EQ(lint.exit_code, 1);
  EXPECT_TRUE(Contains(lint.out, message)) << lint.out;
  auto plan = RunStagecraft({"plan", "queue.md"}, dir.path());
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_TRUE(Contains(plan.err, message)) << plan.err;
  auto run = RunStagecraft({"run", "queue.md"}, dir.path());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, message)) << run.err;
  EXPECT_FALSE(fs::exists(dir.File("cloud.log")));
}

// A **Rollback:** block's attributes mean what they mean on any other block, in `plan`,
// `plan --json` and the run alike.
TEST(Rollback, UndoBlockAttributesAreHonouredAsThePlanSays) {
  TempDir dir;
  std::string book = UseFixture(dir, "undo-attributes");
  auto plan = RunStagecraft({"plan", book}, dir.path());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  for (const char* row :
       {"undo    bash, 1 line {skip}", "undo    bash, 2 lines {ignore}",
        "undo    bash, 1 line {confirm}", "gate    asks for approval before running",
        "undo    bash, 2 lines {retries=1 delay=50ms}", "undo    sh, 1 line"})
    EXPECT_TRUE(Contains(plan.out, row)) << row << "\n" << plan.out;
  json planned = ParseOut(RunStagecraft({"plan", "--json", book}, dir.path()));
  const json& blocks = planned["steps"][0]["rollback"]["blocks"];
  ASSERT_EQ(blocks.size(), 5u) << planned["steps"][0].dump(1);
  EXPECT_EQ(blocks[0]["attributes"]["skip"], true);
  EXPECT_EQ(blocks[1]["attributes"]["ignore"], true);
  EXPECT_EQ(blocks[2]["attributes"]["confirm"], true);
  EXPECT_EQ(blocks[3]["attributes"]["retries"], 1);
  EXPECT_EQ(blocks[4]["interpreter"], "sh");

  auto run = RunStagecraft({"run", book, "--yes", "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(Ran(dir), (std::multiset<std::string>{"C1", "U2", "U3", "U4", "U4", "U5"}))
      << ReadFile(dir.File("ran.log"));
  EXPECT_TRUE(Contains(run.out, "undo change-the-thing (line 14): skipped (skip attribute)"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "exited with status 3 (ignored: the block is marked ignore)"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "undo change-the-thing (bash: echo U3 >> ran.log, line 27)?"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "rolled back: step break FAILED")) << run.out;
}

// Without --yes and without a terminal nobody can approve an undo marked `confirm`: the
// block does not run and the rollback says it failed.
TEST(Rollback, UndoBlockNobodyApprovedIsAFailedRollback) {
  TempDir dir;
  std::string book = UseFixture(dir, "undo-attributes");
  auto run = RunStagecraft({"run", book, "--no-color"}, dir.path());
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_EQ(Ran(dir).count("U3"), 0u) << ReadFile(dir.File("ran.log"));
  EXPECT_EQ(Ran(dir).count("U5"), 1u) << ReadFile(dir.File("ran.log"));
  EXPECT_TRUE(Contains(run.out, "rollback failed")) << run.out;
}

}  // namespace
}  // namespace stagecraft::testing
