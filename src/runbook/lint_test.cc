#include "runbook/lint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/parser.h"
#include "runbook/test_util.h"

namespace stagecraft::runbook {
namespace {

// Parses and lints; returns only what Lint added, so parser warnings (duplicate names and
// the like) do not leak into these expectations.
Diagnostics LintOnly(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("book.md", markdown);
  Diagnostics findings;
  Lint(parsed.runbook, markdown, findings);
  return findings;
}

std::string Warning(int line, int column, std::string_view message) {
  return std::to_string(line) + ":" + std::to_string(column) + " warning: " + std::string(message);
}

const char kNoRollback[] =
    "step 'deploy' changes things but has no rollback, and the runbook has no rollback section";
const char kCommentExpectation[] = "expectation written as a comment is not checked";
const char kOnlyComments[] = "block holds only comments; nothing runs";

// --- LooksMutating ------------------------------------------------------------------------

struct MutationCase {
  const char* script;
  bool mutates;
};

// Pairs of a command that changes something and its read-only sibling: the heuristic is
// only useful if it tells them apart.
const MutationCase kMutationCases[] = {
    {"rm -rf /tmp/build", true},
    {"ls -la /tmp/build", false},
    {"cp app.tar.gz /srv/releases/", true},
    {"cat /srv/releases/VERSION", false},
    {"echo ok | tee /etc/app/flag", true},
    {"echo ok | grep ok", false},
    // Redirects: into a file changes it; into /dev/null or another descriptor does not.
    {"echo ok > /etc/app/flag", true},
    {"echo ok >> /var/log/app.log", true},
    {"date 2>err.log", true},
    {"curl -fsS http://localhost/health > /dev/null", false},
    {"curl -fsS http://localhost/health 2>&1", false},
    {"curl -fsS http://localhost/health >/dev/null 2>&1", false},
    {"echo oops >&2", false},
    {"echo oops > /dev/stderr", false},
    {"echo \"a > b\"", false},  // quoted: text, not a redirect
    {"sed -i 's/old/new/' /etc/app.conf", true},
    {"sed 's/old/new/' /etc/app.conf", false},
    {"git checkout release-4.2", true},
    {"git status --short", false},
    {"terraform apply plan.bin", true},
    {"terraform plan -out plan.bin", false},
    {"kubectl apply -f deploy.yaml", true},
    {"kubectl get pods -n app", false},
    {"aws s3 cp build.zip s3://artifacts/", true},
    {"aws s3 ls s3://artifacts/", false},
    {"aws lambda publish-layer-version --layer-name deps --zip-file fileb://layer.zip", true},
    {"aws sts get-caller-identity", false},
    {"systemctl restart nginx", true},
    {"systemctl status nginx", false},
    {"psql -h db -c \"create table rewards (id int)\"", true},
    {"psql -h db -c \"select count(*) from rewards\"", false},
    {"psql -h db -f migrations/0042.sql", true},
    {"curl -X POST https://api.internal/deploy", true},
    {"curl -d '{\"v\":1}' https://api.internal/deploy", true},
    {"curl -X GET https://api.internal/status", false},
    {"curl -fsS https://api.internal/status", false},
    // Command substitutions and backticks run commands of their own.
    {"echo \"removed: $(rm -v /tmp/lock)\"", true},
    {"echo \"today: $(date +%F)\"", false},
    {"echo `rm /tmp/lock`", true},
    // A continued line is one command.
    {"kubectl \\\n  apply -f deploy.yaml", true},
    {"kubectl get \\\n  pods -n app", false},
    // sudo, env and VAR=value prefixes do not hide the command.
    {"sudo systemctl restart nginx", true},
    {"sudo systemctl status nginx", false},
    {"KUBECONFIG=/etc/kube/prod kubectl delete pod web-0", true},
    {"KUBECONFIG=/etc/kube/prod kubectl get pod web-0", false},
    {"env TF_LOG=debug terraform apply", true},
    // Separators split commands; any one that mutates counts.
    {"cd /srv && make install", true},
    {"cd /srv; ls", false},
    // Comments are not commands.
    {"# rm -rf /tmp/build\nls /tmp/build", false},
    {"  # terraform apply\n  terraform plan", false},
    {"", false},
};

class LooksMutatingTest : public testing::TestWithParam<MutationCase> {};

TEST_P(LooksMutatingTest, Classifies) {
  EXPECT_EQ(LooksMutating(GetParam().script), GetParam().mutates) << GetParam().script;
}

INSTANTIATE_TEST_SUITE_P(Lint, LooksMutatingTest, testing::ValuesIn(kMutationCases));

TEST(LooksMutating, AnyMutatingLineCountsInAMultiLineScript) {
  EXPECT_TRUE(LooksMutating("kubectl get pods\nkubectl rollout restart deploy/web\n"));
  EXPECT_FALSE(LooksMutating("kubectl get pods\nkubectl describe deploy/web\n"));
}

// --- findings, as "line:column severity: message" ------------------------------------------

TEST(Lint, MutatingStepWithoutAnyRollbackWarnsAtTheStep) {
  auto findings = LintOnly("# Book\n\n## Deploy\n\n```bash\nsystemctl restart app\n```\n");
  EXPECT_EQ(Messages(findings), std::vector<std::string>{Warning(3, 1, kNoRollback)});
  EXPECT_FALSE(findings.empty() || findings[0].hint.empty());
}

TEST(Lint, CommentExpectationPhrasings) {
  for (const char* comment :
       {"# expected output: 3 rows", "#Expected 200", "# should show 3 pods", "# Should return OK",
        "# should print done", "# Check the pods - should show 3 running"}) {
    auto findings =
        LintOnly(std::string("## Check\n```bash\nkubectl get pods\n") + comment + "\n```\n");
    ASSERT_EQ(findings.size(), 1u) << comment;
    EXPECT_EQ(findings[0].message, kCommentExpectation) << comment;
  }
  // Ordinary comments are fine.
  EXPECT_TRUE(LintOnly("## Check\n```bash\n# list the pods\nkubectl get pods\n```\n").empty());
  EXPECT_TRUE(
      LintOnly("## Check\n```bash\n# pods - expected to be few\nkubectl get pods\n```\n").empty())
      << "after a dash only 'should ...' reads as an expectation";
}

struct LintCase {
  const char* name;
  std::string markdown;
  std::vector<std::string> findings;
};

class LintFindings : public testing::TestWithParam<LintCase> {};

TEST_P(LintFindings, AreReportedAtTheirPositions) {
  EXPECT_EQ(Messages(LintOnly(GetParam().markdown)), GetParam().findings);
}

INSTANTIATE_TEST_SUITE_P(
    Lint, LintFindings,
    testing::Values(
        LintCase{"RollbackBlockAfterTheStepSilencesCoverage",
                 "## Deploy\n```bash\nsystemctl restart app\n```\n"
                 "**Rollback:**\n```bash\nsystemctl restart app@previous\n```\n"},
        LintCase{"RollbackProseSilencesCoverage",
                 "## Deploy\n```bash\nsystemctl restart app\n```\n"
                 "**Rollback:** restart the previous unit by hand.\n"},
        LintCase{"RollbackSectionCoversEveryStep",
                 "## Deploy\n```bash\nsystemctl restart app\n```\n"
                 "## Migrate\n```bash\npsql -f up.sql\n```\n"
                 "## Rollback\n```bash\nsystemctl restart app@previous\n```\n"},
        LintCase{"ReadOnlyStepNeedsNoRollback",
                 "## Check\n```bash\nkubectl get pods\ncurl -fsS http://x/health\n```\n"},
        LintCase{"ManualSkippedAndSkipBlockStepsNeedNoRollback",
                 "## Announce\n<!-- stagecraft: manual -->\n```bash\nrm -f /tmp/lock\n```\n"
                 "## Legacy\n<!-- stagecraft: skip -->\n```bash\nrm -f /tmp/lock\n```\n"
                 "## Later\n```bash { skip }\nrm -f /tmp/lock\n```\n"},
        LintCase{"OnlyTheUncoveredStepWarns",
                 "## Deploy\n```bash\ncp a /srv/a\n```\n**Rollback:**\n```bash\nrm /srv/a\n```\n"
                 "## Restart\n```bash\nsystemctl restart app\n```\n",
                 {Warning(9, 1,
                          "step 'restart' changes things but has no rollback, and the runbook "
                          "has no rollback section")}},
        LintCase{"CommentExpectationPointsAtTheHash",
                 "## Check\n```bash\ncurl -fsS http://x/health\n# Expected: {\"status\":\"ok\"}\n"
                 "```\n",
                 {Warning(4, 1, kCommentExpectation)}},
        // cmark strips the fence's indentation from the block text; the column must still be
        // the '#' in the file.
        LintCase{"CommentExpectationColumnInsideAnIndentedList",
                 "## Preflight\n- [ ] API answers\n  ```bash\n  curl -fsS http://x/health\n"
                 "  # should print ok\n    # Expected: ok, indented\n  ```\n",
                 {Warning(5, 3, kCommentExpectation), Warning(6, 5, kCommentExpectation)}},
        LintCase{"CommentExpectationInsideANestedChecklistItem",
                 "## Preflight\n- [ ] **Hosts**\n  - [ ] Primary\n    ```bash\n"
                 "    ping -c1 primary\n    # expected: 1 received\n    ```\n",
                 {Warning(6, 5, kCommentExpectation)}},
        LintCase{"BlockOfOnlyCommentsWarnsAtTheFence",
                 "## Notes\n\n```bash\n# run this by hand later\n\n# and this\n```\n",
                 {Warning(3, 1, kOnlyComments)}},
        LintCase{"SkippedCommentOnlyBlockIsQuiet", "## Notes\n```bash { skip }\n# later\n```\n"},
        LintCase{"FindingsComeOutInSourceOrder",
                 "## Deploy\n```bash\n# only a comment\n```\n```bash\nrm -f /tmp/lock\n"
                 "# expected: nothing\n```\n",
                 {Warning(1, 1, kNoRollback), Warning(2, 1, kOnlyComments),
                  Warning(7, 1, kCommentExpectation)}}),
    [](const testing::TestParamInfo<LintCase>& info) { return info.param.name; });

TEST(Lint, TranscriptOutputLinesDoNotLookMutating) {
  const char* markdown =
      "## Check\n```console\n$ ls /srv\nrm -rf old\ncp a b\n$ cat log\nkill 3\n```\n";
  auto result = ParseRunbook("book.md", markdown);
  Lint(result.runbook, markdown, result.diagnostics);
  EXPECT_TRUE(result.diagnostics.empty()) << result.diagnostics[0].message;
}

TEST(Lint, BackgroundAttributeWarnsThatItIsNotSupported) {
  const char* markdown = "## A\n```bash { background }\nls\n```\n";
  auto result = ParseRunbook("book.md", markdown);
  Lint(result.runbook, markdown, result.diagnostics);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "'background' is not supported yet: the block runs in the foreground and the step "
            "waits for it");
}

}  // namespace
}  // namespace stagecraft::runbook
