#include "engine/inputs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/test_util.h"
#include "runbook/parser.h"

namespace stagecraft::engine {
namespace {

using testing::EngineTest;
using testing::ScriptedPrompter;

const char kBook[] =
    "---\n"
    "inputs:\n"
    "  TASK_ARN:\n"
    "    description: the task to stop\n"
    "  REVISION:\n"
    "    default: \"42\"\n"
    "  ACCOUNT_ID:\n"
    "    command: echo 123456789012\n"
    "---\n"
    "## Stop\n"
    "```bash\n"
    "aws ecs stop-task --task <TASK_ARN> --revision <revision> --account YOUR_ACCOUNT_ID\n"
    "```\n";

struct Resolver {
  runbook::ParseResult parsed = runbook::ParseRunbook("book.md", kBook);
  ScriptedPrompter prompter;
  std::vector<std::string> commands;
  InputSources Sources() {
    InputSources sources;
    sources.prompter = &prompter;
    sources.run_command = [this](const std::string& command,
                                 const std::map<std::string, std::string>& vars) {
      commands.push_back(
          command + (vars.count("REVISION") ? " REVISION=" + vars.at("REVISION") : std::string()));
      return Result<std::string>(std::string("123456789012"));
    };
    return sources;
  }
  Result<ResolvedInputs> Resolve(const std::map<std::string, std::string>& scope) {
    return ResolveInputs(parsed.runbook, "book.md", kBook, scope, Sources());
  }
};

TEST(ResolveInputs, DefaultsAndCommandsFillWhatTheScopeLacks) {
  Resolver resolver;
  auto resolved = resolver.Resolve({{"TASK_ARN", "arn:1"}});
  ASSERT_TRUE(resolved.ok()) << resolved.error();
  EXPECT_EQ(resolved.value().values, (std::map<std::string, std::string>{
                                         {"ACCOUNT_ID", "123456789012"}, {"REVISION", "42"}}));
  EXPECT_EQ(resolved.value().derived, (std::set<std::string>{"ACCOUNT_ID", "REVISION"}));
  // The command sees the inputs resolved before it.
  EXPECT_EQ(resolver.commands, std::vector<std::string>{"echo 123456789012 REVISION=42"});
}

TEST(ResolveInputs, GivenValuesWin) {
  Resolver resolver;
  auto resolved =
      resolver.Resolve({{"TASK_ARN", "arn:1"}, {"REVISION", "7"}, {"ACCOUNT_ID", "210987654321"}});
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved.value().values.empty());
  EXPECT_TRUE(resolver.commands.empty());
}

TEST(ResolveInputs, WithoutATerminalTheFirstMissingInputIsNamed) {
  Resolver resolver;
  auto resolved = resolver.Resolve({});
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error(),
            "book.md:12:26: error: step 'stop' needs input TASK_ARN, which has no value: pass "
            "--var TASK_ARN=VALUE, or give it a default or a command under inputs: in the front "
            "matter");
}

TEST(ResolveInputs, AtATerminalTheOperatorIsAsked) {
  Resolver resolver;
  resolver.prompter.available_ = true;
  resolver.prompter.answers = {"arn:typed"};
  auto resolved = resolver.Resolve({});
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value().values.at("TASK_ARN"), "arn:typed");
  EXPECT_EQ(resolved.value().derived.count("TASK_ARN"), 0u);
  EXPECT_EQ(resolver.prompter.questions,
            std::vector<std::string>{"Value for TASK_ARN (the task to stop): "});
  EXPECT_TRUE(resolver.prompter.hidden_questions.empty());
}

TEST(ResolveInputs, ASecretLookingInputIsTypedUnseen) {
  const char book[] = "## Call\n```bash\ncurl -H \"Authorization: <API_TOKEN>\" api\n```\n";
  runbook::ParseResult parsed = runbook::ParseRunbook("book.md", book);
  ScriptedPrompter prompter;
  prompter.available_ = true;
  prompter.answers = {"s3cret"};
  InputSources sources;
  sources.prompter = &prompter;
  auto resolved = ResolveInputs(parsed.runbook, "book.md", book, {}, sources);
  ASSERT_TRUE(resolved.ok()) << resolved.error();
  EXPECT_EQ(resolved.value().values.at("API_TOKEN"), "s3cret");
  EXPECT_EQ(prompter.hidden_questions, std::vector<std::string>{"Value for API_TOKEN: "});
}

TEST(ResolveInputs, SkipPromptsNeverAsks) {
  Resolver resolver;
  resolver.parsed.runbook.front_matter.skip_prompts = true;
  resolver.prompter.available_ = true;
  resolver.prompter.answers = {"arn:typed"};
  EXPECT_FALSE(resolver.Resolve({}).ok());
  EXPECT_TRUE(resolver.prompter.questions.empty());
}

TEST(ResolveInputs, AFailingCommandIsReportedAtItsDeclaration) {
  Resolver resolver;
  InputSources sources = resolver.Sources();
  sources.run_command = [](const std::string&, const std::map<std::string, std::string>&) {
    return Result<std::string>(Status::Error("exit 3"));
  };
  auto resolved =
      ResolveInputs(resolver.parsed.runbook, "book.md", kBook, {{"TASK_ARN", "arn:1"}}, sources);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error(), "book.md:7:3: error: input ACCOUNT_ID: its command failed: exit 3");
}

TEST(RunInputCommand, StdoutWithoutTrailingNewlines) {
  auto value =
      RunInputCommand("printf '%s\\n\\n' \"$GREETING\"", {{"GREETING", "hello there"}}, "/");
  ASSERT_TRUE(value.ok()) << value.error();
  EXPECT_EQ(value.value(), "hello there");
  EXPECT_FALSE(RunInputCommand("exit 3", {}, "/").ok());
}

// --- the engine fills placeholders in ----------------------------------------------------

TEST_F(EngineTest, PlaceholdersAreReplacedByTheirValues) {
  EngineOptions options;
  options.cli_vars = {{"TASK_ARN", "arn:aws:ecs:task/1"}, {"REVISION", "a b"}};
  auto result =
      RunBook("## Stop\n```bash\nstop <TASK_ARN> \"<revision>\" <revision>\n```\n", options);
  EXPECT_EQ(result.status, RunStatus::kSucceeded);
  EXPECT_EQ(Calls(), std::vector<std::string>{"stop arn:aws:ecs:task/1 \"a b\" 'a b'"});
  EXPECT_EQ(runner_.variables.at("TASK_ARN"), "arn:aws:ecs:task/1");
}

TEST_F(EngineTest, APlaceholderWithoutAValueNeverReachesTheShell) {
  auto result = RunBook("## Stop\n```bash\nstop <TASK_ARN>\n```\n");
  EXPECT_TRUE(Calls().empty());
  ASSERT_EQ(result.steps.size(), 1u);
  EXPECT_EQ(result.steps[0].status, StepStatus::kFailed);
  EXPECT_EQ(result.steps[0].message,
            "not started: input TASK_ARN has no value (pass --var TASK_ARN=VALUE)");
}

}  // namespace
}  // namespace stagecraft::engine
