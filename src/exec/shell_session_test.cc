#include "exec/shell_session.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "exec/shell_declarations.h"
#include "testing/temp_dir.h"

namespace stagecraft::exec {
namespace {

class StringSink : public OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    (stream == Stream::kStdout ? out : err).append(bytes);
  }
  std::string out;
  std::string err;
};

class ShellSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = dir_.path();
    std::filesystem::create_directories(base_ + "/root/deploy/app");
    std::filesystem::create_directories(base_ + "/state");
    ShellSessionOptions options;
    options.root_dir = base_ + "/root";
    options.state_dir = base_ + "/state";
    options.environment = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"SCOPE_VAR", "from-scope"}};
    session_ = std::make_unique<ShellSession>(options);
  }

  ProcessOutcome Run(const std::string& code, const std::string& interpreter = "bash") {
    sink_ = StringSink();
    BlockRequest request;
    request.interpreter = interpreter;
    request.code = code;
    request.sink = &sink_;
    request.timeout = Millis(10'000);
    return session_->Run(request);
  }

  stagecraft::testing::TempDir dir_;
  std::string base_;
  std::unique_ptr<ShellSession> session_;
  StringSink sink_;
};

TEST_F(ShellSessionTest, PlainAndExportedVariablesCarryToTheNextBlock) {
  ASSERT_TRUE(Run("PLAIN='two words'\nexport EXPORTED=yes\n").success());
  ASSERT_TRUE(Run("echo \"$PLAIN|$EXPORTED|$SCOPE_VAR\"").success()) << sink_.err;
  EXPECT_EQ(sink_.out, "two words|yes|from-scope\n");
}

TEST_F(ShellSessionTest, FunctionsCarry) {
  ASSERT_TRUE(Run("greet() { echo \"hello $1\"; }").success());
  ASSERT_TRUE(Run("greet world").success());
  EXPECT_EQ(sink_.out, "hello world\n");
}

TEST_F(ShellSessionTest, WorkingDirectoryCarries) {
  ASSERT_TRUE(Run("cd deploy").success());
  ASSERT_TRUE(Run("pwd").success());
  EXPECT_EQ(sink_.out, base_ + "/root/deploy\n");
  EXPECT_EQ(session_->cwd(), base_ + "/root/deploy");
}

TEST_F(ShellSessionTest, RelativeCdFallsBackToTheRootWithANotice) {
  ASSERT_TRUE(Run("cd deploy/app").success());
  ASSERT_TRUE(Run("cd deploy && pwd").success()) << sink_.err;
  EXPECT_EQ(sink_.out, base_ + "/root/deploy\n");
  EXPECT_EQ(sink_.err, "stagecraft: cd deploy: not found in " + base_ + "/root/deploy/app; using " +
                           base_ + "/root/deploy\n");
}

TEST_F(ShellSessionTest, CdIntoTheDirectoryTheShellIsInIsQuiet) {
  ASSERT_TRUE(Run("cd deploy/app").success());
  ASSERT_TRUE(Run("cd app && pwd && cd deploy/app/ && pwd").success()) << sink_.err;
  EXPECT_EQ(sink_.out, base_ + "/root/deploy/app\n" + base_ + "/root/deploy/app\n");
  EXPECT_EQ(sink_.err, "");
}

TEST_F(ShellSessionTest, RelativeCdLooksUpToTheTopOfTheWorkTree) {
  // base_ is the work tree (it has .git); the runbook root is base_/root.
  std::filesystem::create_directories(base_ + "/.git");
  std::filesystem::create_directories(base_ + "/services/api");
  ASSERT_TRUE(Run("cd services/api && pwd").success()) << sink_.err;
  EXPECT_EQ(sink_.out, base_ + "/services/api\n");
  EXPECT_EQ(sink_.err, "stagecraft: cd services/api: not found in " + base_ + "/root; using " +
                           base_ + "/services/api\n");
  // Never above it.
  EXPECT_EQ(Run("cd tmp").exit_code, 1);
}

TEST_F(ShellSessionTest, TheRunbookRootIsExported) {
  ASSERT_TRUE(Run("cd deploy && echo \"$STAGECRAFT_ROOT\"").success()) << sink_.err;
  EXPECT_EQ(sink_.out, base_ + "/root\n");
}

TEST_F(ShellSessionTest, MissingDirectoryFailsTheBlock) {
  auto outcome = Run("cd nowhere");
  EXPECT_EQ(outcome.kind, ProcessOutcome::Kind::kExited);
  EXPECT_EQ(outcome.exit_code, 1);
}

TEST_F(ShellSessionTest, FailedCdIsReportedAtTheBlocksOwnLine) {
  EXPECT_EQ(Run("echo one\n\ncd nowhere\necho not reached").exit_code, 1);
  EXPECT_EQ(sink_.err, base_ + "/state/block-1: line 3: cd: nowhere: No such file or directory\n");
  // Also once the wrapper comes back from the carried function definitions.
  EXPECT_EQ(Run("cd /nonexistent-dir").exit_code, 1);
  EXPECT_EQ(sink_.err, base_ +
                           "/state/block-2: line 1: cd: /nonexistent-dir: No such file or "
                           "directory\n");
}

TEST_F(ShellSessionTest, ErrexitAndPipefailAreOn) {
  EXPECT_EQ(Run("false\necho not reached").exit_code, 1);
  EXPECT_EQ(sink_.out, "");
  EXPECT_EQ(Run("false | true").exit_code, 1);
}

TEST_F(ShellSessionTest, ExitCodeIsKeptAndStateStillSaved) {
  auto outcome = Run("KEPT=1\nexit 3");
  EXPECT_EQ(outcome.exit_code, 3);
  ASSERT_TRUE(Run("echo $KEPT").success());
  EXPECT_EQ(sink_.out, "1\n");
}

TEST_F(ShellSessionTest, MultiLineValuesAndArraysSurvive) {
  ASSERT_TRUE(Run("TEXT=$'line one\\nline \"two\" $x'\nLIST=(a 'b c')\n").success());
  ASSERT_TRUE(Run("printf '%s\\n' \"$TEXT\" \"${LIST[1]}\" \"${#LIST[@]}\"").success());
  EXPECT_EQ(sink_.out, "line one\nline \"two\" $x\nb c\n2\n");
}

TEST_F(ShellSessionTest, ReadonlyAndShellInternalsAreNotCarried) {
  ASSERT_TRUE(Run("readonly FIXED=1\nBASH_ENV_LIKE=1").success());
  auto outcome = Run("echo \"${FIXED:-unset}\"");
  ASSERT_TRUE(outcome.success()) << sink_.err;
  EXPECT_EQ(sink_.out, "unset\n");
  EXPECT_EQ(session_->state().find("PPID"), std::string::npos);
}

TEST_F(ShellSessionTest, CapturedVariablesAreExportedToLaterBlocks) {
  session_->SetVariable("LAYER_ARN", "arn:aws:x:1 'quoted'");
  ASSERT_TRUE(Run("echo \"$LAYER_ARN\"; printenv LAYER_ARN").success());
  EXPECT_EQ(sink_.out, "arn:aws:x:1 'quoted'\narn:aws:x:1 'quoted'\n");
}

TEST_F(ShellSessionTest, SecretsReachBlocksButNeverTheState) {
  session_->SetSecret("DB_PASSWORD", "hunter22");
  ASSERT_TRUE(Run("export DB_PASSWORD\necho \"$DB_PASSWORD\"").success());
  EXPECT_EQ(sink_.out, "hunter22\n");
  EXPECT_EQ(session_->state().find("hunter22"), std::string::npos);
  ASSERT_TRUE(Run("echo \"$DB_PASSWORD\"").success());
  EXPECT_EQ(sink_.out, "hunter22\n");
}

TEST_F(ShellSessionTest, NoSecretOrValueBuiltFromOneIsEverInTheScratchDirectory) {
  session_->SetSecret("DB_PASSWORD", "hunter22");
  session_->SetVariable("CAPTURED", "captured-hunter22");
  ASSERT_TRUE(Run("export DB_URL=\"pg://u:$DB_PASSWORD@h\"").success());
  // While a block runs, the scratch directory holds all it ever holds.
  // (The pattern is split so that the block's own code does not hold it.)
  ASSERT_TRUE(Run("grep -rl hunter\"22\" \"$(dirname \"$__SC_BLOCK\")\" || true").success());
  EXPECT_EQ(sink_.out, "");
  ASSERT_TRUE(Run("echo \"$DB_URL $CAPTURED\"").success());
  EXPECT_EQ(sink_.out, "pg://u:hunter22@h captured-hunter22\n");
}

TEST_F(ShellSessionTest, BlocksMayUseTheDescriptorsTheStateTravelsOn) {
  ASSERT_TRUE(Run("exec 3>" + base_ + "/three 4>" + base_ + "/four 5>" + base_ +
                  "/five\nKEPT=yes\necho x >&4\necho y >&5")
                  .success());
  ASSERT_TRUE(Run("echo \"$KEPT\"").success());
  EXPECT_EQ(sink_.out, "yes\n");
}

TEST_F(ShellSessionTest, OtherInterpretersSeeExportsAndCwd) {
  ASSERT_TRUE(Run("export REGION=eu-west-1\ncd deploy").success());
  auto outcome = Run("import os\nprint(os.environ['REGION'], os.getcwd())\n", "python3");
  ASSERT_TRUE(outcome.success()) << sink_.err;
  EXPECT_EQ(sink_.out, "eu-west-1 " + base_ + "/root/deploy\n");
  ASSERT_TRUE(Run("echo \"$REGION\" \"$PWD\"", "sh").success());
  EXPECT_EQ(sink_.out, "eu-west-1 " + base_ + "/root/deploy\n");
}

TEST_F(ShellSessionTest, MissingInterpreterFailsClearly) {
  auto outcome = Run("x", "no-such-interpreter");
  EXPECT_FALSE(outcome.success());
  EXPECT_EQ(outcome.exit_code, 127);
  EXPECT_NE(sink_.err.find("no-such-interpreter"), std::string::npos) << sink_.err;
}

TEST_F(ShellSessionTest, CwdAttributeMovesOnlyThatBlock) {
  sink_ = StringSink();
  BlockRequest request;
  request.interpreter = "bash";
  request.code = "pwd";
  request.cwd = "deploy/app";
  request.sink = &sink_;
  ASSERT_TRUE(session_->Run(request).success());
  EXPECT_EQ(sink_.out, base_ + "/root/deploy/app\n");
  EXPECT_EQ(session_->cwd(), base_ + "/root");
}

TEST_F(ShellSessionTest, NonexistentCwdAttributeSpawnsNothing) {
  BlockRequest request;
  request.interpreter = "bash";
  request.code = "touch marker";
  request.cwd = "missing";
  auto outcome = session_->Run(request);
  EXPECT_EQ(outcome.kind, ProcessOutcome::Kind::kSpawnFailed);
  EXPECT_NE(outcome.error.find("missing"), std::string::npos) << outcome.error;
}

TEST_F(ShellSessionTest, ExportedVariablesAreReadBack) {
  ASSERT_TRUE(Run("export DB_PASSWORD=$'s3cr\"et'\nLOCAL=1").success());
  auto exported = session_->ExportedVariables();
  EXPECT_EQ(exported["DB_PASSWORD"], "s3cr\"et");
  EXPECT_EQ(exported.count("LOCAL"), 0u);
}

TEST(ShellDeclarations, ParsesMultiLineStatements) {
  auto declarations = ParseDeclarations(
      "declare -- A=\"1\"\ndeclare -x B=\"two\nlines\"\ndeclare -a C=([0]=\"x\" [1]=\"y\")\n"
      "declare -r D=\"ro\"\ndeclare -- E\n");
  ASSERT_EQ(declarations.size(), 5u);
  EXPECT_EQ(declarations[1].name, "B");
  EXPECT_TRUE(declarations[1].exported());
  EXPECT_EQ(DeclaredValue(declarations[1]), "two\nlines");
  EXPECT_EQ(declarations[2].name, "C");
  EXPECT_TRUE(IsSessionLocal(declarations[3]));
  EXPECT_EQ(declarations[4].name, "E");
}

TEST_F(ShellSessionTest, PersistableStateKeepsWhatBlocksChangedButNoSecretsOrInheritedEnv) {
  ASSERT_TRUE(Run("PLAIN=kept\nexport DB_PASSWORD=hunter22\nexport SCOPE_VAR=changed\n"
                  "greet() { echo hi; }\n")
                  .success())
      << sink_.err;
  std::string state = session_->PersistableState();
  EXPECT_NE(state.find("PLAIN=\"kept\""), std::string::npos) << state;
  EXPECT_NE(state.find("SCOPE_VAR=\"changed\""), std::string::npos) << state;
  EXPECT_NE(state.find("greet ()"), std::string::npos) << state;
  EXPECT_EQ(state.find("hunter22"), std::string::npos) << state;
  EXPECT_EQ(state.find("PATH="), std::string::npos) << "inherited unchanged: " << state;
}

TEST_F(ShellSessionTest, RestoredStateCarriesVariablesAndFunctions) {
  ASSERT_TRUE(Run("PLAIN=kept\ngreet() { echo \"hi $PLAIN\"; }\ncd deploy\n").success());
  std::string state = session_->PersistableState();
  std::string cwd = session_->cwd();
  ShellSessionOptions options;
  options.root_dir = base_ + "/root";
  options.state_dir = base_ + "/state";
  options.environment = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  session_ = std::make_unique<ShellSession>(options);
  session_->RestoreState(state, cwd);
  ASSERT_TRUE(Run("greet; pwd").success()) << sink_.err;
  EXPECT_EQ(sink_.out, "hi kept\n" + base_ + "/root/deploy\n");
}

}  // namespace
}  // namespace stagecraft::exec
