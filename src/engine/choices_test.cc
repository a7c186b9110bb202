// Alternatives in the normal flow: one of a group runs, the others are recorded as not run,
// and at a terminal the operator picks (runbook/alternatives.h).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/test_util.h"

namespace stagecraft::engine {
namespace {

class ChoicesTest : public testing::EngineTest {
 protected:
  // "name status message" for each step of the flow.
  std::vector<std::string> Steps(const RunResult& result) {
    std::vector<std::string> rows;
    for (const StepResult& step : result.steps)
      rows.push_back(step.step->name + " " + std::string(ConsoleWord(step.status, step.refusal)) +
                     (step.message.empty() ? "" : " " + step.message));
    return rows;
  }
};

constexpr const char* kUpload =
    "# Upload the site\n"
    "## Upload\n"
    "### Option A: sync the bucket\n"
    "```bash\naws s3 sync site/ s3://bucket\n```\n"
    "### Option B: copy by hand (alternative)\n"
    "```bash\nrsync -a site/ web:/srv\n```\n"
    "## Check\n"
    "```bash\ncurl -sf https://example.test\n```\n";

TEST_F(ChoicesTest, TheFirstAlternativeRunsAndTheOtherIsRecordedAsNotRun) {
  auto result = RunBook(kUpload);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(Calls(), (std::vector<std::string>{"aws s3 sync site/ s3://bucket",
                                               "curl -sf https://example.test"}));
  EXPECT_EQ(Steps(result), (std::vector<std::string>{
                               "option-a-sync-the-bucket passed",
                               "option-b-copy-by-hand-alternative skipped not run: alternative to "
                               "option-a-sync-the-bucket",
                               "check passed"}));
}

TEST_F(ChoicesTest, ChooseRunsAnotherAlternativeInstead) {
  EngineOptions options;
  options.choose = {"option-b-copy-by-hand-alternative"};
  auto result = RunBook(kUpload, options);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"rsync -a site/ web:/srv", "curl -sf https://example.test"}));
  EXPECT_EQ(Steps(result)[0],
            "option-a-sync-the-bucket skipped not run: alternative to "
            "option-b-copy-by-hand-alternative");
}

TEST_F(ChoicesTest, AFallbackRunsOnlyWhenChosen) {
  const std::string book =
      "## Deploy\n"
      "### Run the deploy script\n```bash\n./deploy.sh\n```\n"
      "### If the script fails\n```bash\nkubectl apply -f manifests/\n```\n";
  auto result = RunBook(book);
  EXPECT_EQ(Calls(), std::vector<std::string>{"./deploy.sh"});
  EXPECT_EQ(Steps(result)[1],
            "if-the-script-fails skipped not run: alternative to run-the-deploy-script");
  runner_.calls.clear();
  EngineOptions options;
  options.choose = {"if-the-script-fails"};
  RunBook(book, options);
  EXPECT_EQ(Calls(), std::vector<std::string>{"kubectl apply -f manifests/"});
}

TEST_F(ChoicesTest, AtATerminalTheOperatorPicksByNumber) {
  prompter_.available_ = true;
  prompter_.answers = {"2"};
  auto result = RunBook(kUpload);
  EXPECT_EQ(result.exit_code, 0) << console_text_;
  ASSERT_EQ(prompter_.questions.size(), 1u);
  EXPECT_EQ(prompter_.questions[0],
            "  ? 2 alternatives, one of which runs:\n"
            "      1. option-a-sync-the-bucket (default)\n"
            "      2. option-b-copy-by-hand-alternative\n"
            "    Which one? [1] ");
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"rsync -a site/ web:/srv", "curl -sf https://example.test"}));
}

TEST_F(ChoicesTest, EnterTakesTheDefaultAndANonsenseAnswerIsAskedAgain) {
  prompter_.available_ = true;
  prompter_.answers = {"7", ""};
  RunBook(kUpload);
  ASSERT_EQ(prompter_.questions.size(), 2u);
  EXPECT_EQ(prompter_.questions[1], "    Type a number from 1 to 2, or a name: [1] ");
  EXPECT_EQ(Calls(), (std::vector<std::string>{"aws s3 sync site/ s3://bucket",
                                               "curl -sf https://example.test"}));
}

TEST_F(ChoicesTest, NothingIsAskedWithYesOrAChoiceOrARestoredOne) {
  prompter_.available_ = true;
  EngineOptions yes;
  yes.yes = true;
  RunBook(kUpload, yes);
  EngineOptions chosen;
  chosen.choose = {"option-a-sync-the-bucket"};
  RunBook(kUpload, chosen);
  EngineOptions restored;
  restored.restored_choices = {"option-b-copy-by-hand-alternative"};
  runner_.calls.clear();
  RunBook(kUpload, restored);
  EXPECT_TRUE(prompter_.questions.empty());
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"rsync -a site/ web:/srv", "curl -sf https://example.test"}));
}

TEST_F(ChoicesTest, ChooseOnResumeWinsOverTheRestoredChoice) {
  EngineOptions options;
  options.choose = {"option-a-sync-the-bucket"};
  options.restored_choices = {"option-b-copy-by-hand-alternative"};
  RunBook(kUpload, options);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"aws s3 sync site/ s3://bucket",
                                               "curl -sf https://example.test"}));
}

TEST_F(ChoicesTest, OnResumeTheSkippedAlternativeIsNeitherDoneNorUndone) {
  // The earlier session ran option A and journaled option B as skipped; both count as
  // completed for the resume.
  const std::string book =
      "## Upload\n"
      "### Option A: sync\n```bash\naws s3 sync site/ s3://bucket\n```\n"
      "**Rollback:**\n```bash\naws s3 rm --recursive s3://bucket\n```\n"
      "### Option B: copy\n```bash\nrsync -a site/ web:/srv\n```\n"
      "**Rollback:**\n```bash\nssh web rm -rf /srv\n```\n"
      "## Check\n```bash\ncurl -sf https://example.test\n```\n";
  runner_.On({"curl -sf https://example.test", 1});
  prompter_.available_ = true;
  EngineOptions options;
  options.completed_steps = {"option-a-sync", "option-b-copy"};
  auto result = RunBook(book, options);
  EXPECT_EQ(result.exit_code, 1) << console_text_;
  EXPECT_TRUE(prompter_.questions.empty()) << "the earlier session chose already";
  EXPECT_EQ(Calls(), (std::vector<std::string>{"curl -sf https://example.test",
                                               "aws s3 rm --recursive s3://bucket"}));
  EXPECT_EQ(result.steps[1].message, "not run: alternative to option-a-sync");
}

}  // namespace
}  // namespace stagecraft::engine
