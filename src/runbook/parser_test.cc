#include "runbook/parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "runbook/test_util.h"

namespace stagecraft::runbook {
namespace {

ParseResult Parse(std::string_view markdown) {
  return ParseRunbook("book.md", markdown);
}

// "kind:name" for the steps outside the normal flow.
std::vector<std::string> StepNames(const Runbook& book) {
  static const char* kinds[] = {"", "preflight:", "success:", "rollback:"};
  std::vector<std::string> names;
  for (const auto& step : book.steps)
    names.push_back(kinds[static_cast<int>(step.kind)] + step.name);
  return names;
}

// A runbook, the names of the steps it makes and every finding, as "line:column severity:
// message".
struct Case {
  const char* name;
  std::string markdown;
  std::vector<std::string> steps;
  std::vector<std::string> findings;
};

class ParserCase : public ::testing::TestWithParam<Case> {};

TEST_P(ParserCase, MakesTheseStepsAndFindings) {
  ParseResult result = Parse(GetParam().markdown);
  EXPECT_EQ(StepNames(result.runbook), GetParam().steps);
  EXPECT_EQ(Messages(result), GetParam().findings);
}

INSTANTIATE_TEST_SUITE_P(
    Parser, ParserCase,
    ::testing::Values(
        Case{"NumberedTitlesKeepBareQuantities",
             "## 30 Minutes Before\n- [ ] ready\n## 1.2. Deploy\n```bash\nx\n```\n",
             {"preflight:30-minutes-before", "deploy"}},
        Case{"RollbackSectionIsNotNormalFlow",
             "## Deploy\n```bash\nx\n```\n## \xF0\x9F\x94\x84 10. ROLL BACK PROCEDURE\n"
             "```bash\nundo\n```\n",
             {"deploy", "rollback:10-roll-back-procedure"}},
        Case{"ChecklistAfterTheFirstStepIsNotPreflight",
             "## Deploy\n```bash\nx\n```\n## Verification Checklist\n- [ ] works\n",
             {"deploy", "verification-checklist"}},
        Case{"SuccessCriteriaSectionsInheritTheirKind",
             "## Deploy\n```bash\nx\n```\n## DEPLOYMENT SUCCESS CRITERIA\n### MUST PASS\n"
             "- [x] tables created\n",
             {"deploy", "success:must-pass"}},
        Case{"DocumentTitleDoesNotGiveItsKindToEverySection",
             "# Rollback drill\n## Upgrade\n```bash\nx\n```\n## Rollback\n```bash\ny\n```\n",
             {"upgrade", "rollback:rollback"}},
        Case{"DocumentTitleDoesNotMakeEverySectionDocumentation",
             "# References\n## Deploy\n```bash\nx\n```\n",
             {"deploy"}},
        Case{
            "ContentBeforeAnyHeadingIsAStepNamedAfterTheFile", "```bash\necho hi\n```\n", {"book"}},
        Case{"DottedSectionNumbersAreStrippedFromNames",
             "## 1.3 Deploy\n```bash\nx\n```\n## 2.10.1 Verify\n```bash\ny\n```\n",
             {"deploy", "verify"}},
        Case{"SectionKindsMatchWholeWordsOnly",
             "## User Preferences\n```bash\na\n```\n## Contactsync Setup\n```bash\nb\n```\n"
             "## References\n```bash\nr\n```\n## Troubleshooting Guide\n```bash\nt\n```\n",
             {"user-preferences", "contactsync-setup"}},
        Case{"DocumentationSectionsHoldNoActions",
             "## Deploy\n```bash\nx\n```\n## Troubleshooting\n### Init fails\n```bash\nfix\n```\n"
             "## Support Contacts\n```bash\ncall\n```\n## References\n```bash\nr\n```\n",
             {"deploy"}},
        Case{"DataBlocksAreNotActions",
             "## A\n```json\n{}\n```\n```hcl\nx = 1\n```\n```\nplain\n```\n"},
        Case{"DuplicateTitlesAreRenamedWithAWarning",
             "## P1\n### Verify\n```bash\na\n```\n## P2\n### Verify\n```bash\nb\n```\n",
             {"verify", "verify-2"},
             {"7:1 warning: duplicate step name 'verify' (first used at line 2); this one is "
              "called 'verify-2'"}},
        Case{"DuplicateExplicitNamesAreErrors",
             "## A\n<!-- stagecraft: name=x -->\n```bash\na\n```\n## B\n<!-- stagecraft: name=x "
             "-->\n"
             "```bash\nb\n```\n",
             {"x", "x"},
             {"6:1 error: duplicate step name 'x' (first used at line 1)"}},
        Case{"DirectiveAwayFromHeadingIsIgnored",
             "## Deploy\n\ntext\n\n<!-- stagecraft: skip -->\n\n```bash\nx\n```\n",
             {"deploy"},
             {"5:1 warning: stagecraft directive ignored: it must come right after a heading"}},
        Case{"UnknownDirectiveSuggests",
             "## Deploy\n<!-- stagecraft: manaul -->\n```bash\nx\n```\n",
             {"deploy"},
             {"2:1 warning: unknown stagecraft directive 'manaul'; did you mean 'manual'?"}},
        Case{"UnknownAttributeSuggestsTheClosestName",
             "## A\n```bash { timout=5m }\nx\n```\n",
             {"a"},
             {"2:11 warning: unknown attribute 'timout'; did you mean 'timeout'?"}},
        Case{"BadDurationIsAnErrorAtTheAttribute",
             "## A\n```bash {timeout=\"5 parsecs\"}\nx\n```\n",
             {"a"},
             {"2:10 error: invalid duration '5 parsecs' (expected a number with a unit, e.g. 30s, "
              "5m, 1h30m) for timeout"}},
        Case{"AttributesOfRollbackAndVerificationBlocksAreChecked",
             "## A\n```bash\nx\n```\n\n**Verification:**\n```bash { timeout=5parsecs }\nv\n```\n\n"
             "**Rollback:**\n```bash { retrys=2 }\nundo\n```\n",
             {"a"},
             {"7:11 error: invalid duration '5parsecs' (expected a number with a unit, e.g. 30s, "
              "5m, 1h30m) for timeout",
              "12:11 warning: unknown attribute 'retrys'; did you mean 'retries'?"}},
        Case{"CaptureIntoInvalidVariableName",
             "## A\n```bash { capture=layer-arn }\nx\n```\n",
             {"a"},
             {"2:11 error: cannot capture into 'layer-arn': not a valid variable name"}},
        Case{"UntilWithoutTimeoutIsAnError",
             "## A\n```bash { until delay=2s }\ncurl x\n```\n",
             {"a"},
             {"2:11 error: 'until' retries until the block succeeds within its timeout, but no "
              "timeout is set"}},
        Case{"ExpectationWithoutActionIsAnError",
             "## A\n\n**Expected Output:**\n```\nok\n```\n\n```bash\nx\n```\n",
             {"a"},
             {"4:1 error: expectation block has no preceding action to check"}},
        Case{"InvalidRegexIsAnErrorAtTheLine",
             "## A\n```bash\nx\n```\n**Expected:**\n```\nok\nv(\\d+ (re)\n```\n",
             {"a"},
             {"8:6 error: invalid (re) pattern: missing closing parenthesis"}},
        Case{"ProseExpectationWarns",
             "## A\n```bash\npsql -c 'select 1'\n```\nExpected: 4 tables\n",
             {"a"},
             {"5:1 warning: expectation written as prose is not checked"}},
        Case{"UnterminatedFenceIsAnError",
             "## A\n```bash\necho hi\n\n## B\n",
             {},
             {"2:1 error: code fence is never closed; everything after it is treated as code"}},
        Case{"FrontMatterMustBeAMapping",
             "---\n- just\n- a list\n---\n# T\n",
             {},
             {"2:1 error: front matter must be a YAML mapping (key: value lines)"}},
        Case{"UnterminatedFrontMatter",
             "---\ntitle: x\n## A\n",
             {},
             {"1:1 error: front matter is never closed"}},
        Case{"UnknownRoleOfABlockSuggestsADeclaredOne",
             "---\napprovers: {db-owner: [carol]}\n---\n## A\n```bash { confirm role=db-ownr "
             "}\nx\n```\n",
             {"a"},
             {"5:19 error: unknown role 'db-ownr'; did you mean 'db-owner'?"}},
        Case{"UnknownRoleOfAStepWithoutApprovers",
             "## A\n<!-- stagecraft: role=dba -->\n```bash { confirm }\nx\n```\n",
             {"a"},
             {"2:23 error: unknown role 'dba'"}},
        Case{"ARoleWithoutAccountsIsAnError",
             "---\napprovers:\n  db-owner: []\n---\n## A\n```bash\nx\n```\n",
             {"a"},
             {"3:3 error: role 'db-owner' lists no account"}},
        Case{"UnknownFrontMatterKeySuggests",
             "---\nenviroments: {}\n---\n",
             {},
             {"2:1 warning: unknown front matter key 'enviroments'; did you mean "
              "'environments'?"}},
        Case{"NotifyMustBeAList",
             "---\nnotify: https://hooks.example.com/x\n---\n",
             {},
             {"2:9 error: notify must be a list of targets (webhook, slack or command)"}},
        Case{"NotifyTargetNeedsExactlyOneKind",
             "---\nnotify:\n  - events: [failed]\n  - slack: https://a.example.com\n"
             "    command: mail ops\n  - just a string\n---\n",
             {},
             {"3:5 error: a notify target needs exactly one of webhook, slack or command",
              "4:5 error: a notify target needs exactly one of webhook, slack or command",
              "6:5 error: each notify target must be a mapping with one of webhook, slack or "
              "command"}},
        Case{"NotifyTargetWithoutValue",
             "---\nnotify:\n  - webhook:\n---\n",
             {},
             {"3:5 error: notify webhook needs a value"}},
        Case{"UnknownNotifyEventSuggests",
             "---\nnotify:\n  - webhook: https://hooks.example.com/x\n    events: [faild, "
             "deployed]\n---\n",
             {},
             {"4:14 error: unknown notify event 'faild'; did you mean 'failed'?",
              "4:21 error: unknown notify event 'deployed' (expected started, waiting, failed, "
              "rolled_back, succeeded)"}},
        Case{"UnknownNotifyKeySuggests",
             "---\nnotify:\n  - slack: https://hooks.example.com/x\n    evnets: [failed]\n---\n",
             {},
             {"4:5 error: unknown notify key 'evnets'; did you mean 'events'?"}},
        Case{"NotifyUrlWithAnUnsupportedScheme",
             "---\nnotify:\n  - webhook: ftp://files.example.com/x\n  - slack: hooks.example.com\n"
             "---\n",
             {},
             {"3:14 error: unsupported URL scheme 'ftp' in notify (expected http or https)",
              "4:12 error: notify URL has no scheme (expected http:// or https://)"}},
        Case{"InputNamesAreVariableNames",
             "---\ninputs:\n  task-arn:\n    description: x\n---\n",
             {},
             {"3:3 error: input 'task-arn' is not a valid variable name"}},
        Case{"InputWithDefaultAndCommandIsAnError",
             "---\ninputs:\n  REVISION: { default: \"1\", command: git rev-parse HEAD }\n---\n",
             {},
             {"3:3 error: input REVISION has both a default and a command; give one"}},
        Case{"UnknownInputKeySuggests",
             "---\ninputs:\n  REVISION: { defualt: \"1\" }\n---\n",
             {},
             {"3:15 warning: unknown input key 'defualt'; did you mean 'default'?"}},
        Case{"InputsMustBeAMapping",
             "---\ninputs: [A, B]\n---\n",
             {},
             {"2:9 error: inputs must be a mapping of NAME: { description | default | command: "
              "... }"}},
        Case{"RootAndCwdExcludeEachOther",
             "---\nroot: a\ncwd: b\n---\n",
             {},
             {"3:1 error: give root or cwd, not both"}},
        Case{"SkipPromptsIsAFlag",
             "---\nskipPrompts: sometimes\n---\n",
             {},
             {"2:14 error: skipPrompts must be true or false"}},
        Case{"RunmeVocabularyIsQuiet",
             "---\nrunme:\n  id: 01J\n  version: v3\ncategory: ops\nterminalRows: 9\n---\n"
             "## A\n```sh "
             "{\"id\":\"01J\",\"name\":\"blk\",\"category\":\"x\",\"terminalRows\":\"9\","
             "\"mimeType\":\"text/plain\",\"closeTerminalOnSuccess\":\"false\","
             "\"promptEnv\":\"never\",\"interactive\":\"false\"}\nx\n```\n",
             {"a"},
             {}},
        Case{"PromptEnvIsChecked",
             "## A\n```bash { promptEnv=sometimes }\nx\n```\n",
             {"a"},
             {"2:11 error: invalid value 'sometimes' for promptEnv (expected auto, always or "
              "never)"}},
        Case{"InterpreterMustBeAProgramName",
             "## A\n```sh { interpreter=\"bash -x\" }\nx\n```\n",
             {"a"},
             {"2:9 error: interpreter 'bash -x' is not a program name"}}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Parser, DirectiveAwayFromHeadingDoesNotApply) {
  auto result = Parse("## Deploy\n\ntext\n\n<!-- stagecraft: skip -->\n\n```bash\nx\n```\n");
  EXPECT_FALSE(result.runbook.steps[0].skip);
}

TEST(Parser, HeadingLevelsAreRelative) {
  auto h2h3 = Parse("# T\n## Deploy\n### Build\n```bash\nmake\n```\n### Ship\n```sh\nship\n```\n");
  auto h3h4 = Parse("### Deploy\n#### Build\n```bash\nmake\n```\n#### Ship\n```sh\nship\n```\n");
  for (const auto* result : {&h2h3, &h3h4}) {
    ASSERT_EQ(result->runbook.steps.size(), 2u);
    EXPECT_EQ(StepNames(result->runbook), (std::vector<std::string>{"build", "ship"}));
    ASSERT_EQ(result->runbook.phases.size(), 1u);
    EXPECT_EQ(result->runbook.phases[0].title, "Deploy");
    EXPECT_EQ(result->runbook.steps[1].phase, 0);
  }
}

TEST(Parser, DeepestSectionHoldingBlocksIsTheStep) {
  auto result = Parse(
      "## Sequence\n### Step 9: Integration (10-15 minutes)\n#### Test 1: Invoke\n```bash\na\n```\n"
      "#### Test 2: Write\n```bash\nb\n```\n");
  const auto& book = result.runbook;
  ASSERT_EQ(book.steps.size(), 2u);
  EXPECT_EQ(book.steps[0].name, "invoke");
  EXPECT_EQ(book.phases[book.steps[0].phase].title, "Step 9: Integration");
  EXPECT_EQ(book.phases[book.steps[0].phase].budget, Millis(15 * 60'000));
}

TEST(Parser, BudgetIsStrippedFromTitle) {
  auto result = Parse(
      "## Step 2: Lambda Layer (2-3 minutes)\n```bash\ntrue\n```\n"
      "## Release (1 hour) \xE2\x80\x94 phase one\n### Deploy (5 minutes) \xE2\x80\x94 blue/green\n"
      "```bash\nx\n```\n");
  const auto& steps = result.runbook.steps;
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].title, "Step 2: Lambda Layer");
  EXPECT_EQ(steps[0].budget, Millis(180'000));
  EXPECT_EQ(steps[0].name, "lambda-layer");
  // Text after the budget is kept.
  EXPECT_EQ(steps[1].title, "Deploy \xE2\x80\x94 blue/green");
  EXPECT_EQ(steps[1].budget, Millis(300'000));
  EXPECT_EQ(result.runbook.phases[0].title, "Release \xE2\x80\x94 phase one");
}

TEST(Parser, DirectivesOverrideTitles) {
  auto result = Parse(
      "## Notes\n<!-- stagecraft: rollback -->\n```bash\nundo\n```\n"
      "## Deploy\n<!-- stagecraft: name=ship timeout=10m manual -->\n```bash\nx\n```\n"
      "## Extra\n<!-- stagecraft: skip -->\n```bash\ny\n```\n"
      "## Checks\n<!-- stagecraft: preflight -->\n```bash\nz\n```\n");
  const auto& steps = result.runbook.steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].kind, StepKind::kRollback);
  EXPECT_EQ(steps[1].name, "ship");
  EXPECT_EQ(steps[1].timeout, Millis(600'000));
  EXPECT_TRUE(steps[1].manual);
  EXPECT_TRUE(steps[2].skip);
  EXPECT_EQ(steps[3].kind, StepKind::kPreflight);
  EXPECT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
}

TEST(Parser, BothAttributeSyntaxes) {
  auto result = Parse(
      "## A\n```bash { name=publish timeout=5m retries=3 delay=10s capture=ARN confirm }\nx\n```\n"
      "## B\n```bash {\"name\":\"other\",\"timeout\":\"2m\",\"idempotent\":true}\ny\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const Attributes& a = result.runbook.steps[0].actions[0].attributes;
  EXPECT_EQ(a.name, "publish");
  EXPECT_EQ(a.timeout, Millis(300'000));
  EXPECT_EQ(a.retries, 3);
  EXPECT_EQ(a.delay, Millis(10'000));
  EXPECT_EQ(a.capture->variable, "ARN");
  EXPECT_TRUE(a.confirm);
  const Attributes& b = result.runbook.steps[1].actions[0].attributes;
  EXPECT_EQ(b.name, "other");
  EXPECT_EQ(b.timeout, Millis(120'000));
  EXPECT_TRUE(b.idempotent);
}

TEST(Parser, CaptureWithRegex) {
  auto result = Parse("## A\n```bash { capture=\"VERSION:/version (\\d+)/\" }\nx\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  EXPECT_EQ(result.runbook.steps[0].actions[0].attributes.capture->regex, "version (\\d+)");
}

TEST(Parser, LabelsBindBlocksToThePrecedingAction) {
  auto result = Parse(
      "## Init\n```bash\nterraform init\n```\n\n**Expected Output:**\n```\nTerraform has been "
      "successfully initialized!\n```\n\n**Verification:**\n```bash\nls .terraform\n```\n\n"
      "**Red Flags:**\n```\nError\n```\n\n**Rollback:**\n```bash\nrm -rf .terraform\n```\n\n"
      "**Troubleshooting:**\n- If backend not found: create the bucket\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const Step& step = result.runbook.steps[0];
  ASSERT_EQ(step.actions.size(), 1u);
  const Action& action = step.actions[0];
  ASSERT_EQ(action.expectations.size(), 1u);
  EXPECT_EQ(action.expectations[0].lines[0].pattern,
            "Terraform has been successfully initialized!");
  EXPECT_EQ(action.expectations[0].lines[0].line, 8);
  ASSERT_EQ(action.verifications.size(), 1u);
  ASSERT_EQ(action.red_flags.size(), 1u);
  ASSERT_EQ(step.compensation.size(), 1u);
  EXPECT_EQ(step.compensation[0].text, "rm -rf .terraform\n");
  EXPECT_EQ(step.troubleshooting, "If backend not found: create the bucket");
}

TEST(Parser, RollbackProseIsAManualNote) {
  auto result = Parse("## A\n```bash\nx\n```\n\n**Rollback:** Layers cannot be deleted\n");
  EXPECT_EQ(result.runbook.steps[0].rollback_notes,
            std::vector<std::string>{"Layers cannot be deleted"});
}

TEST(Parser, ExpectedLinePatterns) {
  auto result = Parse(
      "## A\n```bash\nx\n```\n**Expected:**\n```\nexact line  \nv\\d+ (re)\nid-* "
      "(glob)\n...\n```\n");
  const auto& lines = result.runbook.steps[0].actions[0].expectations[0].lines;
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].kind, ExpectedLine::Kind::kLiteral);
  EXPECT_EQ(lines[0].pattern, "exact line");
  EXPECT_EQ(lines[1].kind, ExpectedLine::Kind::kRegex);
  EXPECT_EQ(lines[1].pattern, "v\\d+");
  EXPECT_EQ(lines[2].kind, ExpectedLine::Kind::kGlob);
  EXPECT_EQ(lines[3].kind, ExpectedLine::Kind::kAnyLines);
}

TEST(Parser, ALabelNamingLogsExpectsLogMessages) {
  auto result = Parse(
      "## Start\n```bash\nsystemctl start shop\njournalctl -u shop -n 20\n```\n"
      "**Expected Log Output:**\n```\nlistening on :8080\n```\n"
      "```bash\ncatalog --version\n```\n**Expected Output:**\n```\ncatalog 2.1\n```\n"
      "```bash\ncatalog dialog --check\n```\n**Expected dialog:**\n```\nno changes\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const auto& actions = result.runbook.steps[0].actions;
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_TRUE(actions[0].expectations[0].lines[0].log_message);
  EXPECT_FALSE(actions[1].expectations[0].lines[0].log_message);
  EXPECT_FALSE(actions[2].expectations[0].lines[0].log_message) << "'dialog' is not 'log'";
}

TEST(Parser, TranscriptSplitsCommandsAndExpectedOutput) {
  auto result = Parse(
      "## Validate\n```bash\n$ terraform validate\nSuccess! The configuration is valid.\n\n"
      "$ echo one \\\n> two\none two\n```\n");
  const Action& action = result.runbook.steps[0].actions[0];
  ASSERT_EQ(action.transcript.size(), 2u);
  EXPECT_EQ(action.transcript[0].command, "terraform validate");
  ASSERT_EQ(action.transcript[0].expected.size(), 1u);
  EXPECT_EQ(action.transcript[0].expected[0].pattern, "Success! The configuration is valid.");
  EXPECT_EQ(action.transcript[1].command, "echo one \\\ntwo");
  EXPECT_EQ(action.transcript[1].pos.line, 6);
}

TEST(Parser, ScriptWithDollarInsideIsNotATranscript) {
  auto result = Parse("## A\n```bash\nexport X=1\n$ not a prompt here\n```\n");
  EXPECT_FALSE(result.runbook.steps[0].actions[0].is_transcript());
}

TEST(Parser, ConsoleBlockIsDataUnlessPrompted) {
  auto data = Parse("## A\n```console\nsome output\n```\n");
  EXPECT_TRUE(data.runbook.steps.empty());
  auto prompted = Parse("## A\n```console\n$ uname\nLinux\n```\n");
  ASSERT_EQ(prompted.runbook.steps.size(), 1u);
  EXPECT_TRUE(prompted.runbook.steps[0].actions[0].is_transcript());
}

TEST(Parser, ChecklistItemsAreChecksManualConfirmationsAndGroups) {
  auto result = Parse(
      "## Pre-Deployment Checklist\n"
      "- [ ] AWS CLI installed\n  ```bash\n  aws --version\n  ```\n"
      "- [x] Permissions reviewed\n  - Lambda\n  - S3\n"
      "- [ ] **Team**\n  - [ ] Lead online\n  - [ ] DBA online\n"
      "## Deploy\n```bash\nx\n```\n");
  const auto& steps = result.runbook.steps;
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, StepKind::kPreflight);
  const auto& items = steps[0].checklist;
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[0].is_check());
  EXPECT_EQ(items[0].actions[0].block.text, "aws --version\n");
  EXPECT_TRUE(items[1].is_manual());
  EXPECT_TRUE(items[1].ticked_in_source);
  EXPECT_TRUE(items[2].is_group());
  EXPECT_EQ(items[2].text, "Team");
  EXPECT_EQ(items[2].children.size(), 2u);
  EXPECT_EQ(steps[1].kind, StepKind::kStep);
}

TEST(Parser, SignOffTableListsRoles) {
  auto result = Parse(
      "## Deploy\n```bash\nx\n```\n## Deployment Sign-off\n\n| Role | Name |\n|---|---|\n| Lead "
      "Engineer | |\n| QA Lead | |\n");
  ASSERT_EQ(result.runbook.sign_off.size(), 2u);
  EXPECT_EQ(result.runbook.sign_off[1].role, "QA Lead");
}

TEST(Parser, FrontMatterIsReadWithFilePositions) {
  auto result = Parse(
      "---\ntitle: Staging rollout\nrequires: [aws >= 2.0, jq]\nvars: { REGION: us-east-1 }\n"
      "secrets:\n  DB_PASSWORD: { command: \"cat /run/pw\" }\n  TOKEN: { env: CI_TOKEN }\n"
      "environments:\n  staging: { vars: { DB_HOST: db.staging } }\n"
      "  production: { vars: { DB_HOST: db.prod }, protected: true }\n---\n"
      "## Deploy\n```bash\nx\n```\n");
  ASSERT_TRUE(result.diagnostics.empty()) << Messages(result)[0];
  const auto& fm = result.runbook.front_matter;
  EXPECT_EQ(result.runbook.title, "Staging rollout");
  ASSERT_EQ(fm.requires_tools.size(), 2u);
  EXPECT_EQ(fm.requires_tools[0].op, ">=");
  EXPECT_EQ(fm.requires_tools[0].version, "2.0");
  EXPECT_EQ(fm.requires_tools[1].tool, "jq");
  EXPECT_EQ(fm.vars.at("REGION"), "us-east-1");
  ASSERT_EQ(fm.secrets.size(), 2u);
  EXPECT_EQ(fm.secrets[0].source, SecretSource::kCommand);
  ASSERT_EQ(fm.environments.size(), 2u);
  EXPECT_TRUE(result.runbook.FindEnvironment("production")->is_protected);
  EXPECT_EQ(result.runbook.steps[0].pos.line, 12);
}

TEST(Parser, FrontMatterSyntaxErrorPointsIntoTheFile) {
  auto result = Parse("---\ntitle: ok\nvars: [unclosed\n---\n## A\n```bash\nx\n```\n");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].severity, Severity::kError);
  EXPECT_EQ(result.diagnostics[0].pos.line, 4);
}

TEST(Parser, ActionsInsideNumberedListsAreFound) {
  auto result = Parse("## Deploy\n1. Build it\n   ```bash\n   make\n   ```\n2. Ship\n");
  ASSERT_EQ(result.runbook.steps.size(), 1u);
  EXPECT_EQ(result.runbook.steps[0].actions[0].block.pos.column, 4);
}

TEST(Parser, InterpreterFollowsTheLanguage) {
  auto result = Parse(
      "---\nshell: zsh\n---\n## A\n```shell\nx\n```\n```python\nprint(1)\n```\n```sh\ny\n```\n");
  const auto& actions = result.runbook.steps[0].actions;
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].block.interpreter, "zsh");
  EXPECT_EQ(actions[1].block.interpreter, "python3");
  EXPECT_EQ(actions[2].block.interpreter, "sh");
}

TEST(Parser, EveryBlockThatRunsGetsItsInterpreterFromTheParser) {
  auto result = Parse(
      "---\nshell: zsh\n---\n## A\n```console\n$ ls\n```\n**Verification:**\n```shell\n"
      "x\n```\n**Rollback:**\n```python\nprint(1)\n```\n");
  const auto& step = result.runbook.steps[0];
  ASSERT_EQ(step.actions.size(), 1u);
  EXPECT_EQ(step.actions[0].block.interpreter, "zsh");
  ASSERT_EQ(step.actions[0].verifications.size(), 1u);
  EXPECT_EQ(step.actions[0].verifications[0].interpreter, "zsh");
  ASSERT_EQ(step.compensation.size(), 1u);
  EXPECT_EQ(step.compensation[0].interpreter, "python3");
}

TEST(Parser, RollbackLabelEndsAtTheNextParagraph) {
  auto result = Parse(
      "## A\n```bash\nx\n```\n\n**Rollback:**\n\nRestore by hand.\n\nThen check the site.\n\n"
      "```bash\ncurl site\n```\n");
  const Step& step = result.runbook.steps[0];
  EXPECT_EQ(step.rollback_notes, std::vector<std::string>{"Restore by hand."});
  EXPECT_TRUE(step.compensation.empty());
  EXPECT_EQ(step.actions.size(), 2u);
  // Running what may have been meant as an undo deserves a warning.
  EXPECT_EQ(Messages(result),
            std::vector<std::string>{"12:1 warning: this block runs in the normal flow: the "
                                     "**Rollback:** label at line 6 was ended by the paragraph "
                                     "in between"});
}

TEST(Parser, TroubleshootingLabelDoesNotSwallowLaterBlocks) {
  auto result = Parse(
      "## A\n```bash\nx\n```\n\n**Troubleshooting:**\n\nRetry once.\n\nNow deploy:\n\n"
      "```bash\ndeploy\n```\n");
  const Step& step = result.runbook.steps[0];
  EXPECT_EQ(step.troubleshooting, "Retry once.");
  ASSERT_EQ(step.actions.size(), 2u);
  EXPECT_EQ(step.actions[1].block.text, "deploy\n");
}

TEST(Parser, RollbackLabelCoversTheListUnderItAndTheBlockAfter) {
  auto result = Parse(
      "## A\n```bash\nx\n```\n\n**Rollback:**\n- stop traffic\n- restore\n\n"
      "```bash\nundo\n```\n");
  const Step& step = result.runbook.steps[0];
  EXPECT_EQ(step.rollback_notes, (std::vector<std::string>{"stop traffic", "restore"}));
  ASSERT_EQ(step.compensation.size(), 1u);
  EXPECT_EQ(step.actions.size(), 1u);
}

TEST(Parser, InfoStringIsReadAsWrittenWithBackslashes) {
  auto result =
      Parse("## A\n```bash { capture=\"V:/v(\\d+\\.\\d+)/\" name=\"say \\\"hi\\\"\" }\nx\n```\n");
  ASSERT_EQ(result.runbook.steps.size(), 1u);
  const Attributes& attributes = result.runbook.steps[0].actions[0].attributes;
  ASSERT_TRUE(attributes.capture);
  EXPECT_EQ(attributes.capture->regex, "v(\\d+\\.\\d+)");
  EXPECT_EQ(attributes.name, "say \"hi\"");
}

TEST(Parser, UnquotedAttributeValuesStopAtCommas) {
  auto result = Parse("## A\n```bash { name=build, timeout=5m, retries=2 }\nx\n```\n");
  EXPECT_TRUE(Messages(result).empty()) << Messages(result)[0];
  const Attributes& attributes = result.runbook.steps[0].actions[0].attributes;
  EXPECT_EQ(attributes.name, "build");
  EXPECT_EQ(attributes.timeout, Millis(300'000));
  EXPECT_EQ(attributes.retries, 2);
}

TEST(Parser, IdempotentAndBackgroundAreInTheModel) {
  auto result = Parse(
      "## A\n```bash { idempotent background }\nx\n```\n## B\n<!-- stagecraft: idempotent -->\n"
      "```bash\ny\n```\n```bash { idempotent }\nz\n```\n");
  const auto& steps = result.runbook.steps;
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].actions[0].attributes.idempotent);
  EXPECT_TRUE(steps[0].actions[0].attributes.background);
  EXPECT_TRUE(steps[0].idempotent);  // its only action is idempotent
  EXPECT_TRUE(steps[1].idempotent);  // the directive covers the step
  auto partly = Parse("## A\n```bash { idempotent }\nx\n```\n```bash\ny\n```\n");
  EXPECT_FALSE(partly.runbook.steps[0].idempotent);
}

TEST(Parser, ClosedFenceInsideABlockQuoteIsClosed) {
  auto result = Parse("## A\n> ```bash\n> make\n> ```\n");
  EXPECT_TRUE(Messages(result).empty());
  ASSERT_EQ(result.runbook.steps.size(), 1u);
  EXPECT_EQ(result.runbook.steps[0].actions[0].block.text, "make\n");
}

// A block nested in `depth` block quotes, under a step's heading.
std::string QuotedBlock(int depth) {
  std::string quotes;
  for (int i = 0; i < depth; ++i)
    quotes += "> ";
  return "## Step\n\n" + quotes + "```bash\n" + quotes + "true\n" + quotes + "```\n";
}

TEST(Parser, NestingBeyondTheLimitIsAnErrorNotACrash) {
  std::string lists = "## Step\n\n";
  for (int i = 0; i < 150; ++i)
    lists += "- ";
  // The 101st level is the one too many; it sits at byte 201 of line 3.
  for (const std::string& markdown : {QuotedBlock(100'000), lists + "[ ] item\n"}) {
    auto result = Parse(markdown);
    EXPECT_TRUE(result.unusable);
    EXPECT_EQ(Messages(result),
              std::vector<std::string>{"3:201 error: nesting deeper than 100 levels"});
  }
}

TEST(Parser, NestingAtTheLimitIsAccepted) {
  auto result = Parse(QuotedBlock(100));
  EXPECT_FALSE(result.unusable);
  EXPECT_TRUE(Messages(result).empty());
  ASSERT_EQ(result.runbook.steps.size(), 1u);
  EXPECT_EQ(result.runbook.steps[0].actions.size(), 1u);
}

TEST(Parser, DeeplyNestedEmphasisInAHeadingDoesNotRecurse) {
  std::string stars(50'000, '*');
  auto result = Parse("# " + stars + "deep" + stars + "\n## A\n```bash\ntrue\n```\n");
  EXPECT_NE(result.runbook.title.find("deep"), std::string::npos);
}

// Everything of the model a reader could observe, one line per element.
std::string Describe(const ParseResult& result) {
  std::string out;
  for (const auto& phase : result.runbook.phases)
    out += fmt::format("phase {} @{}\n", phase.title, phase.pos.line);
  for (const auto& step : result.runbook.steps) {
    out +=
        fmt::format("step {} | {} @{}:{} phase {} kind {} checks {} undo {}\n", step.name,
                    step.title, step.pos.line, step.pos.column, step.phase,
                    static_cast<int>(step.kind), step.checklist.size(), step.compensation.size());
    for (const auto& action : step.actions)
      out += fmt::format("  action @{} [{} {}] expect {} {}", action.block.pos.line,
                         action.block.language, action.attributes.name.value_or(""),
                         action.expectations.size(), action.block.text);
  }
  for (const auto& d : result.diagnostics)
    out += fmt::format("diag {}:{} {}\n", d.pos.line, d.pos.column, d.message);
  return out;
}

// Large documents are parsed in pieces cut before headings; nothing that can hold a line
// starting with '#' may be cut through.
std::string LargeTrickyDocument() {
  std::string doc = "---\ntitle: Large\n---\n# Large\n\n";
  for (int i = 0; i < 1500; ++i) {
    std::string n = std::to_string(i);
    if (i % 10 == 0) doc += "## Phase " + n + " (5 minutes)\n\n";
    doc += "### Step " + n + "\n";
    if (i % 7 == 0) doc += "<!-- stagecraft: name=explicit-" + n + " -->\n";
    doc += "\nRuns part " + n + ".\n\n```bash { name=part-" + n + " timeout=5m }\n";
    doc += "# comment at the start of a line\n";
    doc +=
        "## also a comment\necho " + n + "\n```\n\n**Expected Output:**\n```\n" + n + "\n```\n\n";
    switch (i % 5) {
      case 0:
        doc += "<!--\n## a heading inside a comment\n-->\n\n";
        break;
      case 1:
        doc += "<div>\n## inside an HTML block\n</div>\n\n";
        break;
      case 2:
        doc += "| a | b |\n|---|---|\n| 1 | 2 |\n";  // the next heading ends the table
        break;
      case 3:
        doc += "- [ ] checked by hand\n- [ ] checked\n  ```bash\n  true\n  ```\n\n";
        break;
      default:
        doc += "**Rollback:**\n```bash\necho undo " + n + "\n```\n\n";
    }
    if (i == 700) {
      // One fence longer than a piece, full of lines that look like headings.
      doc += "```bash\n";
      for (int line = 0; line < 4000; ++line)
        doc += "# line " + std::to_string(line) + " of a long script\n";
      doc += "```\n\n";
    }
  }
  doc += "## Unclosed\n\n```bash\n# never closed\necho end\n";
  return doc;
}

TEST(Parser, DocumentParsedInPiecesEqualsTheWholeDocument) {
  std::string doc = LargeTrickyDocument();
  ASSERT_GT(doc.size(), 256u * 1024);
  ParseResult in_pieces = ParseRunbook("large.md", doc, 16 * 1024);
  ParseResult in_one = ParseRunbook("large.md", doc, SIZE_MAX);
  EXPECT_EQ(Describe(in_pieces), Describe(in_one));
  ASSERT_EQ(in_pieces.runbook.steps.size(), 1500u);
  const Action& action = in_pieces.runbook.steps[1234].actions.at(0);
  EXPECT_EQ(action.block.language, "bash");
  EXPECT_EQ(action.attributes.name.value_or(""), "part-1234");
  EXPECT_EQ(action.attributes.timeout, Millis(5 * 60 * 1000));
}

// A link reference definition applies to the whole document, so a document that may hold
// one is read whole: a later piece alone would leave the link in its heading unresolved.
TEST(Parser, LinkReferenceDefinitionKeepsTheDocumentWhole) {
  std::string doc = LargeTrickyDocument();
  doc.insert(doc.find("## Unclosed"), "## Deploy [the service]\n```bash\ntrue\n```\n\n");
  doc.insert(doc.find("# Large\n") + 8, "\n[the service]: https://example.invalid\n\n");
  ParseResult result = ParseRunbook("links.md", doc, 16 * 1024);
  ASSERT_EQ(result.runbook.steps.size(), 1501u);
  EXPECT_EQ(result.runbook.steps[1500].title, "Deploy the service");
}

}  // namespace
}  // namespace stagecraft::runbook
