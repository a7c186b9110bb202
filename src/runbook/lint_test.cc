#include "runbook/lint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/parser.h"

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

std::vector<std::string> Messages(const Diagnostics& diagnostics) {
  std::vector<std::string> messages;
  for (const auto& d : diagnostics)
    messages.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
                       (d.severity == Severity::kError ? "error: " : "warning: ") + d.message);
  return messages;
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

// --- rollback coverage ---------------------------------------------------------------------

TEST(Lint, MutatingStepWithoutAnyRollbackWarnsAtTheStep) {
  auto findings = LintOnly("# Book\n\n## Deploy\n\n```bash\nsystemctl restart app\n```\n");
  ASSERT_EQ(findings.size(), 1u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_EQ(findings[0].message, kNoRollback);
  EXPECT_EQ(findings[0].pos.line, 3);
  EXPECT_EQ(findings[0].pos.column, 1);
  EXPECT_FALSE(findings[0].hint.empty());
}

TEST(Lint, RollbackBlockAfterTheStepSilencesCoverage) {
  auto findings = LintOnly(
      "## Deploy\n```bash\nsystemctl restart app\n```\n"
      "**Rollback:**\n```bash\nsystemctl restart app@previous\n```\n");
  EXPECT_TRUE(findings.empty()) << testing::PrintToString(Messages(findings));
}

TEST(Lint, RollbackProseSilencesCoverage) {
  auto findings = LintOnly(
      "## Deploy\n```bash\nsystemctl restart app\n```\n"
      "**Rollback:** restart the previous unit by hand.\n");
  EXPECT_TRUE(findings.empty()) << testing::PrintToString(Messages(findings));
}

TEST(Lint, RollbackSectionCoversEveryStep) {
  auto findings = LintOnly(
      "## Deploy\n```bash\nsystemctl restart app\n```\n"
      "## Migrate\n```bash\npsql -f up.sql\n```\n"
      "## Rollback\n```bash\nsystemctl restart app@previous\n```\n");
  EXPECT_TRUE(findings.empty()) << testing::PrintToString(Messages(findings));
}

TEST(Lint, ReadOnlyStepNeedsNoRollback) {
  auto findings = LintOnly("## Check\n```bash\nkubectl get pods\ncurl -fsS http://x/health\n```\n");
  EXPECT_TRUE(findings.empty()) << testing::PrintToString(Messages(findings));
}

TEST(Lint, ManualSkippedAndSkipBlockStepsNeedNoRollback) {
  auto findings = LintOnly(
      "## Announce\n<!-- stagecraft: manual -->\n```bash\nrm -f /tmp/lock\n```\n"
      "## Legacy\n<!-- stagecraft: skip -->\n```bash\nrm -f /tmp/lock\n```\n"
      "## Later\n```bash { skip }\nrm -f /tmp/lock\n```\n");
  EXPECT_TRUE(findings.empty()) << testing::PrintToString(Messages(findings));
}

TEST(Lint, OnlyTheUncoveredStepWarns) {
  auto findings = LintOnly(
      "## Deploy\n```bash\ncp a /srv/a\n```\n**Rollback:**\n```bash\nrm /srv/a\n```\n"
      "## Restart\n```bash\nsystemctl restart app\n```\n");
  ASSERT_EQ(findings.size(), 1u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].message,
            "step 'restart' changes things but has no rollback, and the runbook has no rollback "
            "section");
  EXPECT_EQ(findings[0].pos.line, 9);
}

// --- expectations written as comments ------------------------------------------------------

TEST(Lint, CommentExpectationPointsAtTheHash) {
  auto findings = LintOnly(
      "## Check\n"                         // 1
      "```bash\n"                          // 2
      "curl -fsS http://x/health\n"        // 3
      "# Expected: {\"status\":\"ok\"}\n"  // 4
      "```\n");
  ASSERT_EQ(findings.size(), 1u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].message, kCommentExpectation);
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_EQ(findings[0].pos.line, 4);
  EXPECT_EQ(findings[0].pos.column, 1);
}

TEST(Lint, CommentExpectationPhrasings) {
  for (const char* comment : {"# expected output: 3 rows", "#Expected 200", "# should show 3 pods",
                              "# Should return OK", "# should print done"}) {
    auto findings =
        LintOnly(std::string("## Check\n```bash\nkubectl get pods\n") + comment + "\n```\n");
    ASSERT_EQ(findings.size(), 1u) << comment;
    EXPECT_EQ(findings[0].message, kCommentExpectation) << comment;
  }
  // Ordinary comments are fine.
  EXPECT_TRUE(LintOnly("## Check\n```bash\n# list the pods\nkubectl get pods\n```\n").empty());
}

TEST(Lint, CommentExpectationColumnInsideAnIndentedList) {
  // cmark strips the fence's indentation from the block text; the column must still be the
  // '#' in the file.
  auto findings = LintOnly(
      "## Preflight\n"                  // 1
      "- [ ] API answers\n"             // 2
      "  ```bash\n"                     // 3
      "  curl -fsS http://x/health\n"   // 4
      "  # should print ok\n"           // 5
      "    # Expected: ok, indented\n"  // 6
      "  ```\n");
  ASSERT_EQ(findings.size(), 2u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].pos.line, 5);
  EXPECT_EQ(findings[0].pos.column, 3);
  EXPECT_EQ(findings[1].pos.line, 6);
  EXPECT_EQ(findings[1].pos.column, 5);
}

TEST(Lint, CommentExpectationInsideANestedChecklistItem) {
  auto findings = LintOnly(
      "## Preflight\n"                // 1
      "- [ ] **Hosts**\n"             // 2
      "  - [ ] Primary\n"             // 3
      "    ```bash\n"                 // 4
      "    ping -c1 primary\n"        // 5
      "    # expected: 1 received\n"  // 6
      "    ```\n");
  ASSERT_EQ(findings.size(), 1u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].pos.line, 6);
  EXPECT_EQ(findings[0].pos.column, 5);
}

// --- blocks that run nothing ---------------------------------------------------------------

TEST(Lint, BlockOfOnlyCommentsWarnsAtTheFence) {
  auto findings = LintOnly(
      "## Notes\n"                  // 1
      "\n"                          // 2
      "```bash\n"                   // 3
      "# run this by hand later\n"  // 4
      "\n"                          // 5
      "# and this\n"                // 6
      "```\n");
  ASSERT_EQ(findings.size(), 1u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(findings[0].message, kOnlyComments);
  EXPECT_EQ(findings[0].pos.line, 3);
  EXPECT_EQ(findings[0].pos.column, 1);
}

TEST(Lint, SkippedCommentOnlyBlockIsQuiet) {
  EXPECT_TRUE(LintOnly("## Notes\n```bash { skip }\n# later\n```\n").empty());
}

TEST(Lint, FindingsComeOutInSourceOrder) {
  auto findings = LintOnly(
      "## Deploy\n"            // 1
      "```bash\n"              // 2
      "# only a comment\n"     // 3
      "```\n"                  // 4
      "```bash\n"              // 5
      "rm -f /tmp/lock\n"      // 6
      "# expected: nothing\n"  // 7
      "```\n");
  ASSERT_EQ(findings.size(), 3u) << testing::PrintToString(Messages(findings));
  EXPECT_EQ(Messages(findings), (std::vector<std::string>{
                                    std::string("1:1 warning: ") + kNoRollback,
                                    std::string("2:1 warning: ") + kOnlyComments,
                                    std::string("7:1 warning: ") + kCommentExpectation,
                                }));
}

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
