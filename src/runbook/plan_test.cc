#include "runbook/plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

Runbook Parse(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  EXPECT_FALSE(HasErrors(parsed.diagnostics)) << parsed.diagnostics.front().message;
  return parsed.runbook;
}

Millis Minutes(int minutes) {
  return Millis(minutes * 60'000);
}

// One of everything ComputeTotals counts, with the expected tally beside each line.
const char kEverything[] =
    "# Release\n"
    "## Preflight checklist\n"
    "- [ ] Ticket approved\n"    // manual confirmation
    "- [ ] Cluster reachable\n"  // check
    "  ```bash\n"
    "  kubectl get nodes\n"
    "  ```\n"
    "## Phase 1: Deploy (30 minutes)\n"
    "### Build (5m)\n"       // step, budgeted
    "```bash { confirm }\n"  // action, gate
    "make\n"
    "```\n"
    "**Rollback:**\n"  // step with rollback
    "```bash\n"
    "make clean\n"
    "```\n"
    "### Ship (10m)\n"               // step, budgeted
    "<!-- stagecraft: manual -->\n"  // gate
    "```bash\n"                      // action
    "ship\n"
    "```\n"
    "## Phase 2: Verify\n"
    "### Smoke (2m)\n"  // step, budgeted
    "```bash\n"         // action
    "curl -fsS http://x/health\n"
    "```\n"
    "- [ ] Dashboards green\n"             // manual confirmation
    "- [ ] **Database**\n"                 // group: neither check nor confirmation
    "  - [ ] Replication lag looked at\n"  // manual confirmation
    "  - [ ] Replica answers\n"            // check
    "    ```bash\n"
    "    pg_isready -h replica\n"
    "    ```\n"
    "### Soak (3m)\n"  // step, budgeted
    "```bash\n"        // action
    "sleep 60\n"
    "```\n"
    "**Rollback:** nothing to undo; the soak only watches.\n"  // step with rollback
    "## Rollback\n"                                            // not normal flow: counts nowhere
    "```bash { confirm }\n"
    "make rollback\n"
    "```\n";

// What JSON must escape, in titles, names, code, patterns and values: quotes, backslashes,
// control characters with and without a short form; and UTF-8, which passes through.
const char kEscapes[] =
    "---\n"
    "title: \"Say \\\"hi\\\" \\\\ \\u0001 \\t \xF0\x9F\x9A\x80\"\n"
    "vars:\n"
    "  KEY: \"v\\b\\f\\r\\u001f\"\n"
    "---\n"
    "## Step \x01 \"quoted\" \\ \xC3\xA9\n"
    "```bash { name=a\\b cwd=/tmp/\"x\" }\n"
    "printf 'a\\tb\x01\x1f' \\\n"
    "  \"\xC3\xA9 \xF0\x9F\x9A\x80\"\n"
    "```\n"
    "**Expected Output:**\n"
    "```\n"
    "\"a\"\x02\\\n"
    "```\n"
    "- [x] tick \x02 me\n"
    "  ```sh\n"
    "  true\n"
    "  ```\n";

// More than one write buffer of plan, rows with wide characters (padded by display width),
// and a row longer than the whole buffer in the middle.
std::string LongRunbook() {
  std::string markdown = "# Long\n";
  for (int i = 0; i < 1500; ++i) {
    if (i == 700) markdown += "## " + std::string(100'000, 'x') + "\n```bash\nlong\n```\n";
    markdown += fmt::format(
        "## Step {} \xF0\x9F\x9A\x80 \xE6\x97\xA5\xE6\x9C\xAC (2m)\n```bash {{ name=s{} }}\n"
        "echo {}\n```\n",
        i, i, i);
  }
  return markdown;
}

// What `write` writes into the file descriptor it is given.
template <typename Write>
std::string Written(Write write) {
  std::FILE* file = std::tmpfile();
  EXPECT_TRUE(file && write(fileno(file)).ok());
  std::string text;
  std::rewind(file);
  char buffer[65536];
  for (size_t read; (read = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
    text.append(buffer, read);
  std::fclose(file);
  return text;
}

TEST(ComputeTotals, CountsEachKindOfThing) {
  PlanTotals totals = ComputeTotals(Parse(kEverything));
  EXPECT_EQ(totals.steps, 4);
  EXPECT_EQ(totals.steps_with_rollback, 2);
  EXPECT_EQ(totals.actions, 4);
  EXPECT_EQ(totals.checks, 2);
  EXPECT_EQ(totals.manual_confirmations, 3);
  EXPECT_EQ(totals.gates, 2);
  EXPECT_EQ(totals.budgeted_steps, 4);
}

TEST(ComputeTotals, PhaseBudgetReplacesItsStepsBudgets) {
  // Phase 1 has a budget (30m) that stands for Build and Ship; Phase 2 has none, so Smoke and
  // Soak add up (2m + 3m).
  EXPECT_EQ(ComputeTotals(Parse(kEverything)).planned, Minutes(30 + 2 + 3));
}

TEST(ComputeTotals, PhaseBudgetWinsEvenWhenStepsAddUpToMore) {
  PlanTotals totals = ComputeTotals(
      Parse("## Phase A (10 minutes)\n### One (8m)\n```bash\na\n```\n### Two (8m)\n```bash\nb\n"
            "```\n"));
  EXPECT_EQ(totals.planned, Minutes(10));
}

TEST(ComputeTotals, StepsOutsideAnyPhaseSumTheirBudgets) {
  PlanTotals totals = ComputeTotals(
      Parse("## One (5 minutes)\n```bash\na\n```\n## Two (2-3 minutes)\n```bash\nb\n```\n"
            "## Three\n```bash\nc\n```\n"));
  EXPECT_EQ(totals.steps, 3);
  EXPECT_EQ(totals.planned, Minutes(5 + 3));
  EXPECT_EQ(totals.budgeted_steps, 2);
}

TEST(ComputeTotals, StepsInABudgetedPhaseCountAsBudgeted) {
  PlanTotals totals = ComputeTotals(
      Parse("## Phase A (20 minutes)\n### One\n```bash\na\n```\n### Two\n```bash\nb\n```\n"));
  EXPECT_EQ(totals.budgeted_steps, 2);
  EXPECT_EQ(totals.planned, Minutes(20));
}

TEST(ComputeTotals, NoBudgetsPlanNothing) {
  PlanTotals totals = ComputeTotals(Parse("## One\n```bash\na\n```\n"));
  EXPECT_EQ(totals.planned, Millis(0));
  EXPECT_EQ(totals.budgeted_steps, 0);
}

TEST(ComputeTotals, EmptyRunbookIsAllZero) {
  PlanTotals totals = ComputeTotals(Parse("# Only a title\n\nSome prose.\n"));
  EXPECT_EQ(totals.steps, 0);
  EXPECT_EQ(totals.actions, 0);
  EXPECT_EQ(totals.checks, 0);
  EXPECT_EQ(totals.gates, 0);
  EXPECT_EQ(totals.planned, Millis(0));
}

TEST(RenderPlanText, ProseOnlyRunbookHasNothingToRun) {
  std::string text = RenderPlanText(
      Parse("# Handbook\n\nHow we deploy.\n\n## Background\n\nPlain prose, a list:\n\n- one\n- "
            "two\n\n```json\n{\"data\": true}\n```\n"),
      nullptr);
  EXPECT_NE(text.find("Runbook   Handbook\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Nothing to run"), std::string::npos) << text;
  EXPECT_EQ(text.find("Totals"), std::string::npos) << text;
}

TEST(RenderPlanText, EndsWithTotalsAndPlannedTime) {
  std::string text = RenderPlanText(Parse(kEverything), nullptr);
  EXPECT_NE(text.find("Totals    4 steps (2 with rollback), 4 actions, 2 checks, 3 manual "
                      "confirmations, 2 gates\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Planned   " + FormatDuration(Minutes(35)) + " (budgets cover 4 of 4 steps)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("PREFLIGHT"), std::string::npos) << text;
  EXPECT_NE(text.find("ROLLBACK PROCEDURE"), std::string::npos) << text;
}

TEST(RenderPlanText, SaysWhenThereAreNoBudgets) {
  std::string text = RenderPlanText(Parse("## One\n```bash\na\n```\n"), nullptr);
  EXPECT_NE(text.find("Planned   no budgets (budgets cover 0 of 1 steps)"), std::string::npos)
      << text;
}

TEST(RenderPlanText, LongSectionsNumberStepsAndShowPhasesOnceEach) {
  // Long enough that the steps are rendered in two halves; phases of seven steps, so a
  // phase straddles the middle.
  constexpr int kSteps = 4001;
  std::string markdown = "# Long rollout\n";
  for (int step = 1; step <= kSteps; ++step) {
    if (step % 7 == 1) markdown += fmt::format("## Phase {}\n", step / 7 + 1);
    markdown += fmt::format("### Step {}\n```bash\necho {}\n```\n", step, step);
  }
  markdown += "## Rollback\n```bash\necho undo\n```\n";
  std::string plan = RenderPlanText(Parse(markdown), nullptr);

  int next_step = 1;
  int next_phase = 1;
  size_t start = 0;
  for (size_t end = plan.find('\n'); end != std::string::npos;
       start = end + 1, end = plan.find('\n', start)) {
    std::string_view line(plan.data() + start, end - start);
    if (line.starts_with("  Phase: ")) {
      ASSERT_TRUE(line.starts_with(fmt::format("  Phase: Phase {} ", next_phase))) << line;
      ++next_phase;
    } else if (line.starts_with("    ") && line.size() > 4 && std::isdigit(line[4])) {
      ASSERT_TRUE(line.starts_with(
          fmt::format("    {}. step-{}  Step {} ", next_step, next_step, next_step)))
          << line;
      ++next_step;
    }
  }
  EXPECT_EQ(next_step, kSteps + 1);
  EXPECT_EQ(next_phase, (kSteps + 6) / 7 + 1);
  EXPECT_NE(plan.find("ROLLBACK PROCEDURE"), std::string::npos);
  EXPECT_NE(plan.find("Totals    4001 steps"), std::string::npos);
}

TEST(RenderPlanJson, CarriesSchemaAndTotals) {
  Runbook book = Parse(kEverything);
  nlohmann::json plan = RenderPlanJson(book, nullptr);
  EXPECT_EQ(plan["schema"], "stagecraft.plan/v1");
  EXPECT_EQ(plan["file"], "book.md");
  EXPECT_EQ(plan["title"], "Release");
  EXPECT_TRUE(plan["environment"].is_null());
  const nlohmann::json& totals = plan["totals"];
  EXPECT_EQ(totals["steps"], 4);
  EXPECT_EQ(totals["steps_with_rollback"], 2);
  EXPECT_EQ(totals["actions"], 4);
  EXPECT_EQ(totals["checks"], 2);
  EXPECT_EQ(totals["manual_confirmations"], 3);
  EXPECT_EQ(totals["gates"], 2);
  EXPECT_EQ(totals["budgeted_steps"], 4);
  EXPECT_EQ(totals["planned_ms"], Minutes(35).count());
  // Every step is listed, the rollback procedure included, with its kind.
  ASSERT_EQ(plan["steps"].size(), book.steps.size());
  EXPECT_EQ(plan["steps"].front()["kind"], "preflight");
  EXPECT_EQ(plan["steps"].back()["kind"], "rollback");
  // Phases are listed with their own budgets (the H1 above the preflight is one too).
  ASSERT_EQ(plan["phases"].size(), 3u);
  EXPECT_EQ(plan["phases"][1]["title"], "Phase 1: Deploy");
  EXPECT_EQ(plan["phases"][1]["budget_ms"], Minutes(30).count());
  EXPECT_EQ(plan["phases"][2]["title"], "Phase 2: Verify");
  EXPECT_TRUE(plan["phases"][2]["budget_ms"].is_null());
}

TEST(RenderPlanJson, EnvironmentVariablesOverrideTheDefaults) {
  Runbook book = Parse(
      "---\nvars: { DB_HOST: localhost, PORT: \"5432\" }\nenvironments:\n"
      "  production: { vars: { DB_HOST: db.internal }, protected: true }\n---\n"
      "## Check\n```bash\npg_isready -h \"$DB_HOST\"\n```\n");
  const Environment* production = book.FindEnvironment("production");
  ASSERT_NE(production, nullptr);
  nlohmann::json plan = RenderPlanJson(book, production);
  EXPECT_EQ(plan["environment"], "production");
  EXPECT_EQ(plan["protected"], true);
  EXPECT_EQ(plan["vars"]["DB_HOST"], "db.internal");
  EXPECT_EQ(plan["vars"]["PORT"], "5432");
  EXPECT_EQ(RenderPlanJson(book, nullptr)["vars"]["DB_HOST"], "localhost");
}

TEST(RenderPlanJsonText, IsWhatNlohmannPrintsForTheSameDocument) {
  for (const char* markdown : {kEverything, kEscapes}) {
    std::string text = RenderPlanJsonText(Parse(markdown), nullptr);
    EXPECT_EQ(nlohmann::json::parse(text).dump(2) + "\n", text);
  }
  std::string text = RenderPlanJsonText(Parse(LongRunbook()), nullptr);
  EXPECT_EQ(nlohmann::json::parse(text).dump(2) + "\n", text);
}

TEST(RenderPlanJsonText, EscapesLikeJson) {
  std::string text = RenderPlanJsonText(Parse(kEscapes), nullptr);
  EXPECT_NE(text.find(R"("title": "Say \"hi\" \\ \u0001 \t )"
                      "\xF0\x9F\x9A\x80\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("KEY": "v\b\f\r\u001f")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("code": "printf 'a\\tb\u0001\u001f' \\\n  \")"
                      "\xC3\xA9 "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("pattern": "\"a\"\u0002\\")"), std::string::npos) << text;
}

TEST(WritePlanText, WritesWhatRenderPlanTextReturns) {
  Runbook book = Parse(LongRunbook());
  std::string written = Written([&](int fd) { return WritePlanText(book, nullptr, fd); });
  std::string rendered = RenderPlanText(book, nullptr);
  EXPECT_GT(rendered.size(), 200'000u);
  EXPECT_TRUE(written == rendered);  // not EXPECT_EQ: a mismatch would print megabytes
  // Rows are padded as fmt pads them, by display width: "日本" is four columns, six bytes.
  std::string head = "    2. step-2  Step 1 \xF0\x9F\x9A\x80 \xE6\x97\xA5\xE6\x9C\xAC  [budget 2m]";
  EXPECT_NE(rendered.find(fmt::format("\n{:<66} line ", head)), std::string::npos);
}

TEST(WritePlanJson, WritesWhatRenderPlanJsonTextReturns) {
  Runbook book = Parse(LongRunbook());
  std::string written = Written([&](int fd) { return WritePlanJson(book, nullptr, fd); });
  EXPECT_TRUE(written == RenderPlanJsonText(book, nullptr));
}

TEST(WritePlanJson, ReportsTheFirstFailedWrite) {
  int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Status status = WritePlanJson(Parse(LongRunbook()), nullptr, fd);
  close(fd);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), std::strerror(ENOSPC));
}

TEST(RenderPlanText, DryRunOptionsAddCodeAndHideSecretValues) {
  Runbook book = Parse(
      "---\nvars: { DB_PASSWORD: hunter2, REGION: eu }\n---\n## A\n```bash\ntouch x\necho $REGION\n"
      "```\n");
  PlanOptions options;
  options.cli_vars = {{"REGION", "us"}};
  options.is_secret = [](const std::string& name) { return name == "DB_PASSWORD"; };
  options.show_code = true;
  std::string text = RenderPlanText(book, nullptr, options);
  EXPECT_NE(text.find("Vars      DB_PASSWORD=***, REGION=us\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find("        | touch x\n        | echo $REGION\n"), std::string::npos) << text;
  EXPECT_EQ(RenderPlanText(book, nullptr).find("| touch x"), std::string::npos);
}

}  // namespace
}  // namespace stagecraft::runbook
