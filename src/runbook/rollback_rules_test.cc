#include "runbook/rollback_rules.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "runbook/lint.h"
#include "runbook/parser.h"
#include "runbook/rollback_plan.h"
#include "runbook/section_kind.h"
#include "runbook/test_util.h"

namespace stagecraft::runbook {
namespace {

const Step& StepNamed(const Runbook& runbook, const std::string& name) {
  for (const Step& step : runbook.steps)
    if (step.name == name) return step;
  ADD_FAILURE() << "no step " << name;
  return runbook.steps.front();
}

// "name" for a section that runs, "name: reason" for one that does not.
std::vector<std::string> Decide(const Runbook& runbook, std::set<std::string> ran, bool changed,
                                const std::vector<std::string>& chosen = {}) {
  RunSoFar so_far;
  so_far.changed = changed;
  so_far.ran = [&](const std::string& name) { return ran.count(name) > 0; };
  std::vector<std::string> decided;
  for (const RollbackDecision& decision : DecideRollback(runbook, so_far, chosen))
    decided.push_back(decision.runs() ? decision.step->name
                                      : decision.step->name + ": " + decision.Reason());
  return decided;
}

constexpr const char* kScoped =
    "# Release\n"
    "## Check\n```bash\ncurl -fsS http://localhost/health\n```\n"
    "## Deploy services\n```bash\nkubectl apply -f services.yaml\n```\n"
    "## Migrate\n```bash\npsql -f migrate.sql\n```\n"
    "## Rollback\n"
    "### Revert the services\n<!-- stagecraft: rollback after=deploy-services -->\n"
    "```bash\nkubectl rollout undo deploy/api\n```\n"
    "### Restore the database\n<!-- stagecraft: after=migrate after=deploy-services -->\n"
    "```bash\npg_restore backup.dump\n```\n"
    "### Tell the team\n```bash\necho rolled back\n```\n";

TEST(RollbackScope, AfterNamesAreReadFromTheDirective) {
  ParseResult parsed = ParseRunbook("book.md", kScoped);
  EXPECT_TRUE(parsed.diagnostics.empty()) << Messages(parsed.diagnostics).front();
  const Step& restore = StepNamed(parsed.runbook, "restore-the-database");
  EXPECT_EQ(restore.scope().after, (std::vector<std::string>{"migrate", "deploy-services"}));
  EXPECT_EQ(restore.scope().after_pos[0].line, 21);
  EXPECT_EQ(restore.scope().after_pos[0].column, 24);
  EXPECT_TRUE(StepNamed(parsed.runbook, "tell-the-team").scope().after.empty());
}

TEST(RollbackScope, ScopedSectionRunsOnlyAfterOneOfItsSteps) {
  Runbook runbook = ParseRunbook("book.md", kScoped).runbook;
  EXPECT_EQ(Decide(runbook, {"check"}, false),
            (std::vector<std::string>{"revert-the-services: after deploy-services, which did not "
                                      "run",
                                      "restore-the-database: after migrate or deploy-services, "
                                      "which did not run",
                                      "tell-the-team: before any change"}));
  EXPECT_EQ(
      Decide(runbook, {"check", "deploy-services"}, true),
      (std::vector<std::string>{"revert-the-services", "restore-the-database", "tell-the-team"}));
}

TEST(RollbackScope, UnscopedSectionWaitsForAStepThatChangesThings) {
  Runbook runbook = ParseRunbook("book.md", kScoped).runbook;
  EXPECT_EQ(Decide(runbook, {"check"}, false).back(), "tell-the-team: before any change");
  EXPECT_EQ(Decide(runbook, {"check"}, true).back(), "tell-the-team");
}

TEST(RollbackScope, SubSectionsInheritTheirParentsScope) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Apply\n```bash\nterraform apply\n```\n"
                                 "## Rollback\n<!-- stagecraft: after=apply -->\n"
                                 "### Destroy\n```bash\nterraform destroy\n```\n"
                                 "### Clean\n<!-- stagecraft: after=other -->\n"
                                 "```bash\nrm -f plan\n```\n"
                                 "## Other\n```bash\nrm -rf x\n```\n")
                        .runbook;
  EXPECT_EQ(StepNamed(runbook, "destroy").scope().after, std::vector<std::string>{"apply"});
  EXPECT_EQ(StepNamed(runbook, "clean").scope().after, std::vector<std::string>{"other"});
}

TEST(RollbackScope, SkipDirectiveWinsOverEverything) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Apply\n```bash\nterraform apply\n```\n"
                                 "## Rollback\n<!-- stagecraft: skip after=apply -->\n"
                                 "```bash\nterraform destroy\n```\n")
                        .runbook;
  EXPECT_EQ(Decide(runbook, {"apply"}, true), std::vector<std::string>{"rollback: skip directive"});
}

TEST(RollbackScope, UnknownAfterNameIsAnErrorWithASuggestion) {
  ParseResult parsed = ParseRunbook("book.md",
                                    "## Deploy services\n```bash\nmake deploy\n```\n"
                                    "## Rollback\n<!-- stagecraft: after=deploy-service -->\n"
                                    "```bash\nmake undeploy\n```\n"
                                    "### Later\n<!-- stagecraft: after=nothing-like-it -->\n"
                                    "```bash\nmake clean\n```\n");
  EXPECT_EQ(
      Messages(parsed.diagnostics),
      (std::vector<std::string>{"6:24 error: unknown step 'deploy-service' in after=; did you mean "
                                "'deploy-services'?",
                                "11:24 error: unknown step 'nothing-like-it' in after="}));
  EXPECT_EQ(parsed.diagnostics[0].hint,
            "after= names a step of the normal flow as `stagecraft plan` shows it (its name= or "
            "the slug of its title)");
}

TEST(RollbackScope, AfterMustNameAStepOfTheNormalFlow) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Tools\n<!-- stagecraft: preflight -->\n```bash\naws --version\n```\n"
                   "## Deploy\n```bash\nmake deploy\n```\n"
                   "## Rollback\n<!-- stagecraft: after=tools -->\n```bash\nmake undeploy\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{
                "11:24 error: after=tools names a preflight step, not a step of the normal flow"});
}

TEST(RollbackScope, ReportsEachNameOnceThoughSubSectionsInheritIt) {
  ParseResult parsed = ParseRunbook("book.md",
                                    "## Deploy\n```bash\nmake deploy\n```\n"
                                    "## Rollback\n<!-- stagecraft: after=deply -->\n"
                                    "### A\n```bash\nmake a\n```\n### B\n```bash\nmake b\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics).size(), 1u);
}

TEST(RollbackScope, AfterOrDefaultOutsideTheRollbackProcedureIsWarnedAndIgnored) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Deploy\n<!-- stagecraft: after=deploy -->\n```bash\nmake deploy\n```\n"
                   "## Rollback\n### Undo\n<!-- stagecraft: default -->\n"
                   "```bash\nmake undeploy\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            (std::vector<std::string>{
                "2:24 warning: 'after=' scopes a section of the rollback procedure; this section "
                "is not one, so it is ignored",
                "8:18 warning: 'default' marks one of several alternatives; this section is not "
                "titled as one, so it is ignored"}));
}

TEST(RollbackScope, AfterWithoutANameIsAnError) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Deploy\n```bash\nmake\n```\n## Rollback\n<!-- stagecraft: after -->\n"
                   "```bash\nmake clean\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{"6:1 error: directive 'after' needs a value, e.g. after=..."});
}

TEST(RollbackScope, NamePositionsFollowLinesOfAMultiLineComment) {
  ParseResult parsed = ParseRunbook("book.md",
                                    "## Deploy\n```bash\nmake\n```\n## Rollback\n<!-- stagecraft:\n"
                                    "     after=deplyo -->\n```bash\nmake clean\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{
                "7:12 error: unknown step 'deplyo' in after=; did you mean 'deploy'?"});
}

// --- alternatives -------------------------------------------------------------------------

TEST(IsAlternativeTitle, RecognisesOptionsAlternativesAndOptionalSections) {
  for (const char* title :
       {"Option 1: Immediate rollback", "option B - restore", "2. Option B", "🅰️ Option A",
        "Alternative: restore from the snapshot", "Alternatively, rebuild",
        "Restore from S3 (alternative)", "Purge the CDN (optional)", "Optional: clear the caches"})
    EXPECT_TRUE(IsAlternativeTitle(title)) << title;
  for (const char* title : {"Rollback options", "Restore with the --force option",
                            "Optionally verify", "Step 1: Revert", "Rollback"})
    EXPECT_FALSE(IsAlternativeTitle(title)) << title;
}

constexpr const char* kOptions =
    "# Web\n"
    "## Deploy\n```bash\nrsync -a dist/ /srv/web/\n```\n"
    "## Rollback\n"
    "### Option 1: Immediate rollback\n```bash\nrsync -a old/ /srv/web/\n```\n"
    "### Option 2: Selective rollback\n"
    "#### Revert the pages\n```bash\nrsync -a old/pages/ /srv/web/pages/\n```\n"
    "#### Revert the assets\n```bash\nrsync -a old/assets/ /srv/web/assets/\n```\n"
    "### Tell the team\n```bash\necho done\n```\n";

TEST(Alternatives, FirstOfAGroupRunsAndTheOthersWait) {
  ParseResult parsed = ParseRunbook("book.md", kOptions);
  EXPECT_TRUE(parsed.diagnostics.empty()) << Messages(parsed.diagnostics).front();
  const Runbook& runbook = parsed.runbook;
  const SectionScope& first = StepNamed(runbook, "option-1-immediate-rollback").scope();
  EXPECT_EQ(first.alternative, "option-1-immediate-rollback");
  EXPECT_TRUE(first.is_default);
  // Under an alternative's heading that holds no block of its own, the steps take the name
  // from its title.
  const SectionScope& pages = StepNamed(runbook, "revert-the-pages").scope();
  EXPECT_EQ(pages.alternative, "option-2-selective-rollback");
  EXPECT_FALSE(pages.is_default);
  EXPECT_TRUE(StepNamed(runbook, "tell-the-team").scope().alternative.empty());
  EXPECT_EQ(Decide(runbook, {"deploy"}, true),
            (std::vector<std::string>{
                "option-1-immediate-rollback",
                "revert-the-pages: alternative to option-1-immediate-rollback",
                "revert-the-assets: alternative to option-1-immediate-rollback", "tell-the-team"}));
}

TEST(Alternatives, ChosenOneRunsInsteadOfTheDefault) {
  Runbook runbook = ParseRunbook("book.md", kOptions).runbook;
  EXPECT_EQ(Decide(runbook, {"deploy"}, true, {"option-2-selective-rollback"}),
            (std::vector<std::string>{
                "option-1-immediate-rollback: alternative to option-2-selective-rollback",
                "revert-the-pages", "revert-the-assets", "tell-the-team"}));
}

TEST(Alternatives, DefaultDirectivePicksAnother) {
  std::string book = kOptions;
  book.replace(book.find("### Option 2: Selective rollback\n"), 33,
               "### Option 2: Selective rollback\n<!-- stagecraft: default -->\n");
  Runbook runbook = ParseRunbook("book.md", book).runbook;
  EXPECT_FALSE(StepNamed(runbook, "option-1-immediate-rollback").scope().is_default);
  EXPECT_TRUE(StepNamed(runbook, "revert-the-assets").scope().is_default);
  std::vector<AlternativeGroup> groups = Alternatives(runbook);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].names, (std::vector<std::string>{"option-1-immediate-rollback",
                                                       "option-2-selective-rollback"}));
  EXPECT_EQ(groups[0].default_index, 1u);
}

TEST(Alternatives, TwoDefaultsInOneGroupAreAnError) {
  ParseResult parsed =
      ParseRunbook("book.md",
                   "## Deploy\n```bash\nmake\n```\n## Rollback\n"
                   "### Option A\n<!-- stagecraft: default -->\n```bash\nmake a\n```\n"
                   "### Option B\n<!-- stagecraft: default -->\n```bash\nmake b\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{"12:18 error: two alternatives of one group are marked "
                                     "'default' (the first at line 7)"});
}

TEST(Alternatives, LoneAlternativeIsNoChoiceAndSaysSo) {
  ParseResult parsed = ParseRunbook("book.md",
                                    "## Deploy\n```bash\nmake\n```\n## Rollback\n"
                                    "### Undo\n```bash\nmake undo\n```\n"
                                    "### Purge the cache (optional)\n```bash\nmake purge\n```\n");
  EXPECT_EQ(Messages(parsed.diagnostics),
            std::vector<std::string>{"10:1 warning: 'Purge the cache (optional)' is titled as an "
                                     "alternative but has no sibling alternative, so it always "
                                     "runs"});
  EXPECT_TRUE(Alternatives(parsed.runbook).empty());
  EXPECT_EQ(Decide(parsed.runbook, {"deploy"}, true),
            (std::vector<std::string>{"undo", "purge-the-cache-optional"}));
}

TEST(Alternatives, GroupsAreSiblingsUnderOneHeading) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Deploy\n```bash\nmake\n```\n## Rollback\n"
                                 "### Web\n#### Option 1: a\n```bash\nmake a\n```\n"
                                 "#### Option 2: b\n```bash\nmake b\n```\n"
                                 "### Data\n#### Option 1: c\n```bash\nmake c\n```\n"
                                 "#### Option 2: d\n```bash\nmake d\n```\n")
                        .runbook;
  std::vector<AlternativeGroup> groups = Alternatives(runbook);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].names, (std::vector<std::string>{"option-1-a", "option-2-b"}));
  EXPECT_EQ(groups[1].names, (std::vector<std::string>{"option-1-c", "option-2-d"}));
  EXPECT_EQ(Decide(runbook, {"deploy"}, true, {"option-2-d"}),
            (std::vector<std::string>{"option-1-a", "option-2-b: alternative to option-1-a",
                                      "option-1-c: alternative to option-2-d", "option-2-d"}));
}

TEST(CheckChoices, AcceptsOneNamePerGroup) {
  Runbook runbook = ParseRunbook("book.md", kOptions).runbook;
  EXPECT_TRUE(CheckChoices(runbook, {}).ok());
  EXPECT_TRUE(CheckChoices(runbook, {"option-2-selective-rollback"}).ok());
  EXPECT_EQ(CheckChoices(runbook, {"option-2-selective-rollbak"}).message(),
            "--choose option-2-selective-rollbak: no alternative of that name; did you "
            "mean option-2-selective-rollback? (alternatives: option-1-immediate-rollback, "
            "option-2-selective-rollback)");
  EXPECT_EQ(CheckChoices(runbook, {"option-1-immediate-rollback", "option-2-selective-rollback"})
                .message(),
            "--choose option-1-immediate-rollback and --choose option-2-selective-rollback are "
            "alternatives to each other; choose one");
  Runbook plain = ParseRunbook("book.md", kScoped).runbook;
  EXPECT_EQ(CheckChoices(plain, {"anything"}).message(),
            "--choose anything: book.md has no alternatives to choose from");
}

// --- what changes things ------------------------------------------------------------------

TEST(ChangesThings, HeuristicOrAnUndoBlockOfItsOwn) {
  Runbook runbook =
      ParseRunbook("book.md",
                   "## Look\n```bash\nterraform plan\n```\n"
                   "## Apply\n```bash\nterraform apply\n```\n"
                   "## Skipped\n```bash { skip }\nterraform apply\n```\n"
                   "## Migrate\n```bash\npython3 manage.py migrate\n```\n**Rollback:**\n"
                   "```bash\npython3 manage.py migrate app 0041\n```\n"
                   "## Noted\n```bash\npython3 manage.py check\n```\n**Rollback:** nothing.\n")
          .runbook;
  EXPECT_FALSE(ChangesThings(StepNamed(runbook, "look")));
  EXPECT_TRUE(ChangesThings(StepNamed(runbook, "apply")));
  EXPECT_FALSE(ChangesThings(StepNamed(runbook, "skipped")));
  EXPECT_TRUE(ChangesThings(StepNamed(runbook, "migrate")));
  EXPECT_FALSE(ChangesThings(StepNamed(runbook, "noted")));
}

// --- lint -----------------------------------------------------------------------------------

Diagnostics LintOnly(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  Diagnostics findings;
  LintRollbackScoping(parsed.runbook, findings);
  return findings;
}

TEST(LintRollbackScoping, SeveralUnscopedSectionsAreWarnedAbout) {
  std::string book =
      "## Deploy\n```bash\nmake\n```\n## Rollback\n"
      "### Revert\n```bash\nmake revert\n```\n### Restore\n```bash\nmake restore\n```\n";
  Diagnostics findings = LintOnly(book);
  EXPECT_EQ(Messages(findings),
            std::vector<std::string>{
                "6:1 warning: the rollback procedure has 2 sections and none says which step's "
                "work it undoes, so after any change all of them run"});
  EXPECT_EQ(findings[0].hint,
            "scope each section with <!-- stagecraft: rollback after=STEP --> under its "
            "heading, naming the step whose work it undoes");
  book.replace(book.find("### Revert\n"), 11, "### Revert\n<!-- stagecraft: after=deploy -->\n");
  EXPECT_TRUE(LintOnly(book).empty());
}

TEST(LintRollbackScoping, OneSectionOrOneGroupOfAlternativesIsFine) {
  EXPECT_TRUE(
      LintOnly("## Deploy\n```bash\nmake\n```\n## Rollback\n```bash\nmake undo\n```\n").empty());
  EXPECT_TRUE(LintOnly("## Deploy\n```bash\nmake\n```\n## Rollback\n"
                       "### Option 1: a\n```bash\nmake a\n```\n### Option 2: b\n```bash\nmake "
                       "b\n```\n")
                  .empty());
  EXPECT_EQ(LintOnly(kOptions).size(), 1u) << "a group and another section are two";
}

TEST(Lint, WarnsAboutUnscopedRollbackProcedures) {
  ParseResult parsed = ParseRunbook("book.md", kOptions);
  Diagnostics findings;
  Lint(parsed.runbook, kOptions, findings);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].message.find("none says which step's work it undoes"), std::string::npos);
}

// --- the plan's view ------------------------------------------------------------------------

TEST(PlanFailures, GroupsStepsWhoseFailureRunsTheSameSections) {
  Runbook runbook = ParseRunbook("book.md",
                                 "## Tools\n- [ ] aws works\n  ```bash\n  aws --version\n  ```\n"
                                 "## Check\n```bash\ncurl -fsS http://localhost/health\n```\n"
                                 "## Deploy services\n```bash\nkubectl apply -f s.yaml\n```\n"
                                 "## Announce\n<!-- stagecraft: manual -->\n"
                                 "```bash\nkubectl annotate deploy/api note=x\n```\n"
                                 "## Old\n<!-- stagecraft: skip -->\n```bash\nrm -rf x\n```\n"
                                 "## Verify\n```bash\ncurl -fsS http://localhost/v\n```\n"
                                 "## Rollback\n"
                                 "### Revert\n<!-- stagecraft: after=deploy-services -->\n"
                                 "```bash\nkubectl rollout undo deploy/api\n```\n"
                                 "### Unannounce\n<!-- stagecraft: after=announce -->\n"
                                 "```bash\nkubectl annotate deploy/api note-\n```\n")
                        .runbook;
  std::vector<std::string> rows;
  for (const FailureGroup& group : PlanFailures(runbook)) {
    std::string row;
    for (const Step* step : group.failing)
      row += step->name + " ";
    row += group.rolls_back ? "->" : "-> nothing";
    for (const RollbackDecision& decision : group.procedure)
      if (decision.runs()) row += " " + decision.step->name;
    rows.push_back(row);
  }
  // A manual step fails only unconfirmed: its own failure leaves it out; a skipped step
  // cannot fail at all.
  EXPECT_EQ(rows, (std::vector<std::string>{"tools -> nothing", "check ->",
                                            "deploy-services announce -> revert",
                                            "verify -> revert unannounce"}));
}

TEST(RenderFailureText, NumbersStepsAsThePlanDoes) {
  Runbook runbook = ParseRunbook("book.md", kScoped).runbook;
  EXPECT_EQ(RenderFailureText(runbook, {}),
            "\nIF A STEP FAILS  the undo blocks of the steps that ran (newest first), then these "
            "sections\n"
            "  1. check                                none: no step that changes things has run\n"
            "  2. deploy-services … 3. migrate         revert-the-services, restore-the-database, "
            "tell-the-team\n");
  EXPECT_EQ(RenderFailureText(ParseRunbook("book.md", "## A\n```bash\nmake\n```\n").runbook, {}),
            "");
}

TEST(RollbackScopeNote, SaysWhatTheSectionIsScopedToAndWhichAlternativeItIs) {
  Runbook runbook = ParseRunbook("book.md", kOptions).runbook;
  const AlternativeChoice by_default(runbook, {});
  EXPECT_EQ(RollbackScopeNote(StepNamed(runbook, "option-1-immediate-rollback"), by_default),
            "default alternative");
  EXPECT_EQ(RollbackScopeNote(StepNamed(runbook, "revert-the-pages"), by_default),
            "alternative option-2-selective-rollback, instead of option-1-immediate-rollback");
  const AlternativeChoice chosen(runbook, {"option-2-selective-rollback"});
  EXPECT_EQ(RollbackScopeNote(StepNamed(runbook, "option-1-immediate-rollback"), chosen),
            "instead of option-2-selective-rollback");
  EXPECT_EQ(RollbackScopeNote(StepNamed(runbook, "revert-the-pages"), chosen),
            "chosen alternative option-2-selective-rollback");
  Runbook scoped = ParseRunbook("book.md", kScoped).runbook;
  EXPECT_EQ(RollbackScopeNote(StepNamed(scoped, "restore-the-database"), AlternativeChoice()),
            "after migrate or deploy-services");
}

}  // namespace
}  // namespace stagecraft::runbook
