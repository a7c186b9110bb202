#include "runbook/inputs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

using Strings = std::vector<std::string>;

Strings Names(std::string_view code) {
  Strings names;
  for (const InputUse& use : FindInputUses(code))
    names.push_back(use.name);
  return names;
}

std::string Filled(std::string_view code, const std::map<std::string, std::string>& values) {
  return SubstituteInputs(code, FindInputUses(code), values);
}

TEST(Inputs, EachShapeIsNamedAsAVariable) {
  EXPECT_EQ(Names("aws ecs stop-task --task <TASK_ARN> --cluster prod"), Strings{"TASK_ARN"});
  EXPECT_EQ(Names("git checkout <revision>"), Strings{"REVISION"});
  EXPECT_EQ(Names("terraform state rm <resource_address>"), Strings{"RESOURCE_ADDRESS"});
  EXPECT_EQ(Names("terraform state rm '<resource address>'"), Strings{"RESOURCE_ADDRESS"});
  EXPECT_EQ(Names("aws iam get-role --role-arn arn:aws:iam::YOUR_ACCOUNT_ID:role/x"),
            Strings{"ACCOUNT_ID"});
  EXPECT_EQ(Names("mail -s hi your-email@example.com"), Strings{"EMAIL_ADDRESS"});
  EXPECT_EQ(Names("export DB_PASSWORD=[from-secrets-manager]"), Strings{"DB_PASSWORD"});
  EXPECT_EQ(Names("curl -H 'X-Key: xxx' localhost"), Strings{"VALUE"});
  EXPECT_EQ(Names("echo $TASK_ARN \"$HOME\" [ -f x ]"), Strings{});
}

TEST(Inputs, RedirectionShapeIsMarked) {
  std::vector<InputUse> uses = FindInputUses("stop <TASK_ARN> now \"<revision>\"");
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_TRUE(uses[0].redirect);
  EXPECT_EQ(uses[0].written, "<TASK_ARN>");
  EXPECT_FALSE(uses[1].redirect);
  EXPECT_TRUE(uses[1].angled);
  EXPECT_EQ(uses[1].quoting, InputQuoting::kDouble);
}

TEST(Inputs, ValuesAreQuotedForWhereTheyStand) {
  const std::map<std::string, std::string> values = {{"TASK_ARN", "arn:aws:ecs:task/1"},
                                                     {"REVISION", "it's $HOME `x` \"q\""}};
  EXPECT_EQ(Filled("stop <TASK_ARN> now", values), "stop arn:aws:ecs:task/1 now");
  EXPECT_EQ(Filled("echo <revision>|x", values), "echo <revision>|x");  // not a placeholder
  EXPECT_EQ(Filled("git checkout <revision> -q", values),
            "git checkout 'it'\\''s $HOME `x` \"q\"' -q");
  EXPECT_EQ(Filled("echo \"rev: <revision>\"", values),
            "echo \"rev: it's \\$HOME \\`x\\` \\\"q\\\"\"");
  EXPECT_EQ(Filled("echo 'rev: <revision>'", values), "echo 'rev: it'\\''s $HOME `x` \"q\"'");
  EXPECT_EQ(Filled("cat <<EOF\nrev <revision>\nEOF", values),
            "cat <<EOF\nrev it's \\$HOME \\`x\\` \"q\"\nEOF");
  EXPECT_EQ(Filled("cat <<'EOF'\nrev <revision>\nEOF", values),
            "cat <<'EOF'\nrev it's $HOME `x` \"q\"\nEOF");
}

TEST(Inputs, PromptEnvExportsAreInputsWithTheirWrittenValue) {
  const std::string code =
      "export REGION=\"eu-west-1\"\nexport PLAIN=plain\nexport EMPTY=\n"
      "export HOME_DIR=\"$HOME\"\nexport EMAIL=\"your-email@example.com\"\n";
  auto described = [&](PromptEnv mode) {
    Strings out;
    for (const InputUse& use : FindInputUses(code, mode))
      out.push_back(use.name +
                    (use.exported ? "=" + *use.exported : std::string(" (placeholder)")));
    return out;
  };
  EXPECT_EQ(described(PromptEnv::kAuto),
            (Strings{"REGION=eu-west-1", "EMPTY=", "EMAIL (placeholder)"}));
  EXPECT_EQ(described(PromptEnv::kAlways),
            (Strings{"REGION=eu-west-1", "PLAIN=plain", "EMPTY=", "EMAIL (placeholder)"}));
  EXPECT_EQ(described(PromptEnv::kNever), (Strings{"EMAIL (placeholder)"}));
  EXPECT_EQ(SubstituteInputs("export REGION=\"eu-west-1\"\n",
                             FindInputUses("export REGION=\"eu-west-1\"\n", PromptEnv::kAuto),
                             {{"REGION", "us east"}}),
            "export REGION='us east'\n");
}

TEST(Inputs, PromptEnvIsTheBlocksElseAutoInARunmeNotebook) {
  auto mode = [](const std::string& book) {
    ParseResult result = ParseRunbook("book.md", book);
    return result.runbook.PromptEnvOf(result.runbook.steps.at(0).actions.at(0).attributes);
  };
  const std::string block = "## A\n```bash { promptEnv=MODE }\nexport X=\"1\"\n```\n";
  auto with = [&](const std::string& value) {
    std::string text = block;
    return text.replace(text.find("MODE"), 4, value);
  };
  EXPECT_EQ(mode("## A\n```bash\nexport X=\"1\"\n```\n"), PromptEnv::kNever);
  EXPECT_EQ(mode("---\nrunme:\n  id: x\n---\n## A\n```bash\nexport X=\"1\"\n```\n"),
            PromptEnv::kAuto);
  EXPECT_EQ(mode(with("auto")), PromptEnv::kAuto);
  EXPECT_EQ(mode(with("yes")), PromptEnv::kAlways);
  EXPECT_EQ(mode(with("never")), PromptEnv::kNever);
  EXPECT_EQ(mode(with("false")), PromptEnv::kNever);
}

TEST(Inputs, WithoutAValueThePlaceholderStays) {
  EXPECT_EQ(Filled("stop <TASK_ARN>", {}), "stop <TASK_ARN>");
}

TEST(Inputs, ShellReadsTheValueAsGiven) {
  // What bash would print for each quoting, through the same rules as a real run.
  EXPECT_EQ(QuoteInput("", InputQuoting::kNone), "''");
  EXPECT_EQ(QuoteInput("a b", InputQuoting::kNone), "'a b'");
  EXPECT_EQ(QuoteInput("plain-1.2/x", InputQuoting::kNone), "plain-1.2/x");
  EXPECT_EQ(QuoteInput("a'b", InputQuoting::kSingle), "a'\\''b");
  EXPECT_EQ(QuoteInput("$x", InputQuoting::kLiteralDocument), "$x");
}

TEST(Inputs, ListedPerStepAndForTheRun) {
  std::string book =
      "---\ninputs:\n  REGION:\n    default: eu-west-1\n  REVISION:\n---\n"
      "## Stop\n```bash\naws ecs stop-task --task <TASK_ARN>\n```\n"
      "## Deploy\n```bash\ngit checkout <revision>\n```\n"
      "## Notes\n```bash { skip }\necho <SKIPPED>\n```\n";
  ParseResult parsed = ParseRunbook("book.md", book);
  InputList inputs = ListInputs(parsed.runbook);
  EXPECT_EQ(inputs.all, (Strings{"REGION", "REVISION", "TASK_ARN"}));
  ASSERT_EQ(parsed.runbook.steps.size(), 3u);
  EXPECT_EQ(inputs.by_step[&parsed.runbook.steps[0]], Strings{"TASK_ARN"});
  EXPECT_EQ(inputs.by_step[&parsed.runbook.steps[1]], Strings{"REVISION"});
  EXPECT_EQ(inputs.by_step.count(&parsed.runbook.steps[2]), 0u);
  ASSERT_NE(FindInputSpec(parsed.runbook, "REGION"), nullptr);
  EXPECT_EQ(*FindInputSpec(parsed.runbook, "REGION")->default_value, "eu-west-1");
}

}  // namespace
}  // namespace stagecraft::runbook
