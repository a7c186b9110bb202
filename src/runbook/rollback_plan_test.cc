// How `plan` and `plan --json` show the rollback rules.

#include "runbook/rollback_plan.h"

#include <gtest/gtest.h>

#include <string>

#include "runbook/parser.h"
#include "runbook/plan.h"

namespace stagecraft::runbook {
namespace {

Runbook Parse(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  EXPECT_FALSE(HasErrors(parsed.diagnostics)) << parsed.diagnostics.front().message;
  return parsed.runbook;
}

constexpr const char* kBook =
    "# Web\n"
    "## Check\n```bash\ncurl -fsS localhost/health\n```\n"
    "## Deploy\n```bash\nrsync -a dist/ /srv/web/\n```\n"
    "## Rollback\n"
    "### Revert\n<!-- stagecraft: after=deploy -->\n```bash\nrsync -a old/ /srv/web/\n```\n"
    "### Option 1: Page by page\n```bash\nrestore-pages\n```\n"
    "### Option 2: Whole site\n<!-- stagecraft: default -->\n```bash\nrestore-all\n```\n";

// The lines of `text` from the one starting with `from` up to the next blank line.
std::string Section(const std::string& text, const std::string& from) {
  size_t start = text.find("\n" + from);
  if (start == std::string::npos) return "";
  size_t end = text.find("\n\n", start + 1);
  return text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start);
}

TEST(RollbackPlanText, ListsTheOtherAlternativesApart) {
  std::string plan = RenderPlanText(Parse(kBook), nullptr);
  EXPECT_EQ(Section(plan, "ROLLBACK PROCEDURE"),
            "ROLLBACK PROCEDURE  on failure, after the completed steps' own undo blocks (newest "
            "first)\n"
            "  - revert  Revert  [after deploy]                                 line 11\n"
            "    run     bash, 1 line                                           line 13\n"
            "  - option-2-whole-site  Option 2: Whole site  [default alternative] line 20\n"
            "    run     bash, 1 line                                           line 22\n");
  EXPECT_EQ(Section(plan, "ALTERNATIVES"),
            "ALTERNATIVES  run only when chosen: --choose NAME\n"
            "  - option-1-page-by-page  Option 1: Page by page  [instead of option-2-whole-site] "
            "line 16\n"
            "    run     bash, 1 line                                           line 17\n");
  EXPECT_EQ(Section(plan, "IF A STEP FAILS"),
            "IF A STEP FAILS  the undo blocks of the steps that ran (newest first), then these "
            "sections\n"
            "  1. check                                none: no step that changes things has run\n"
            "  2. deploy                               revert, option-2-whole-site\n");
}

TEST(RollbackPlanText, SaysWhyNoSectionWouldRun) {
  std::string plan = RenderPlanText(
      Parse("## Check\n```bash\nterraform plan\n```\n## Apply\n```bash\nterraform apply\n```\n"
            "## Rollback\n<!-- stagecraft: after=apply -->\n```bash\nterraform destroy\n```\n"),
      nullptr);
  EXPECT_NE(plan.find("  1. check                                none: the steps they undo have "
                      "not run\n"),
            std::string::npos)
      << plan;
}

TEST(RollbackPlanText, ItemsAreListedInTheOrderTheyRun) {
  std::string plan = RenderPlanText(Parse("## Ready\n- [ ] the on-call engineer knows\n"
                                          "```bash\nmake deploy\n```\n- [ ] dashboards open\n"),
                                    nullptr);
  size_t knows = plan.find("the on-call engineer knows");
  size_t run = plan.find("run     bash");
  size_t dashboards = plan.find("dashboards open");
  EXPECT_LT(knows, run) << plan;
  EXPECT_LT(run, dashboards) << plan;
}

TEST(RollbackPlanJson, ScopesAlternativesAndWhatEachFailureRuns) {
  nlohmann::json plan = RenderPlanJson(Parse(kBook), nullptr);
  const nlohmann::json& steps = plan["steps"];
  EXPECT_TRUE(steps[0]["rollback_scope"].is_null()) << "not part of the rollback procedure";
  EXPECT_EQ(steps[2]["rollback_scope"],
            nlohmann::json({{"after", {"deploy"}}, {"alternative", nullptr}, {"default", false}}));
  EXPECT_EQ(steps[4]["rollback_scope"], nlohmann::json({{"after", nlohmann::json::array()},
                                                        {"alternative", "option-2-whole-site"},
                                                        {"default", true}}));
  EXPECT_EQ(plan["rollback_alternatives"], nlohmann::json::parse(R"([{"choices": [
                {"line": 16, "name": "option-1-page-by-page", "title": "Option 1: Page by page"},
                {"line": 20, "name": "option-2-whole-site", "title": "Option 2: Whole site"}],
              "default": "option-2-whole-site"}])"));
  EXPECT_EQ(plan["rollback_on_failure"], nlohmann::json::parse(R"([
      {"failing_steps": ["check"], "rolls_back": true, "procedure": [
        {"step": "revert", "not_run": "after_not_run", "reason": "after deploy, which did not run"},
        {"step": "option-1-page-by-page", "not_run": "not_chosen",
         "reason": "alternative to option-2-whole-site"},
        {"step": "option-2-whole-site", "not_run": "before_any_change",
         "reason": "before any change"}]},
      {"failing_steps": ["deploy"], "rolls_back": true, "procedure": [
        {"step": "revert", "not_run": null, "reason": ""},
        {"step": "option-1-page-by-page", "not_run": "not_chosen",
         "reason": "alternative to option-2-whole-site"},
        {"step": "option-2-whole-site", "not_run": null, "reason": ""}]}])"));
}

TEST(RollbackPlanJson, RunbookWithoutProcedureHasNothingToSayOfFailures) {
  nlohmann::json plan = RenderPlanJson(Parse("## A\n```bash\nmake\n```\n"), nullptr);
  EXPECT_EQ(plan["rollback_on_failure"], nlohmann::json::array());
  EXPECT_EQ(plan["rollback_alternatives"], nlohmann::json::array());
}

}  // namespace
}  // namespace stagecraft::runbook
