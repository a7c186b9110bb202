// Lint's shell checks, one finding id at a time: each hazard it must catch, next to the
// look-alikes it must leave alone (in quotes, comments, here-documents, conditions).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/lint.h"
#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

using Strings = std::vector<std::string>;

// "line:column" of each finding with `id`.
Strings Spots(std::string_view markdown, std::string_view id) {
  ParseResult parsed = ParseRunbook("/srv/books/book.md", markdown);
  Diagnostics findings;
  Lint(parsed.runbook, markdown, findings);
  Strings spots;
  for (const Diagnostic& d : findings)
    if (d.id == id)
      spots.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column));
  return spots;
}

const Diagnostic* First(const Diagnostics& findings, std::string_view id) {
  for (const Diagnostic& d : findings)
    if (d.id == id) return &d;
  return nullptr;
}

Diagnostics LintOf(std::string_view markdown) {
  ParseResult parsed = ParseRunbook("/srv/books/book.md", markdown);
  Diagnostics findings;
  Lint(parsed.runbook, markdown, findings);
  return findings;
}

// A runbook with one bash block holding `code`, whose first line is line 3.
std::string Block(std::string_view code, std::string_view info = "bash") {
  return "## Step\n```" + std::string(info) + "\n" + std::string(code) + "\n```\n";
}

// --- grep-pipefail ------------------------------------------------------------------------

TEST(LintGrep, NoMatchInTheMiddleStopsTheBlock) {
  EXPECT_EQ(Spots(Block("aws s3 ls | grep staging\necho next"), "grep-pipefail"), Strings{"3:13"});
  EXPECT_EQ(Spots(Block("grep -i error app.log | tail -20\necho next"), "grep-pipefail"),
            Strings{"3:1"});
  EXPECT_EQ(Spots(Block("COUNT=$(grep -c x f)\necho $COUNT"), "grep-pipefail"), Strings{"3:9"});
}

TEST(LintGrep, LastCommandFailsTheStepWhenTheResultShouldBeEmpty) {
  EXPECT_EQ(Spots(Block("grep -i error app.log"), "grep-pipefail"), Strings{"3:1"});
  EXPECT_EQ(Spots(Block("kubectl get pods | grep -v Running"), "grep-pipefail"), Strings{"3:20"});
  EXPECT_EQ(Spots(Block("grep -i error app.log | tail -5"), "grep-pipefail"), Strings{"3:1"});
  auto findings = LintOf(Block("grep -i error app.log"));
  const Diagnostic* grep = First(findings, "grep-pipefail");
  ASSERT_NE(grep, nullptr);
  EXPECT_EQ(grep->message,
            "grep exits 1 when nothing matches, so finding no 'error' fails the step");
  EXPECT_NE(grep->hint.find("|| true"), std::string::npos);
}

TEST(LintGrep, ChecksTestsAndGuardedGrepsAreFine) {
  for (const char* code : {
           "aws s3 ls | grep staging-reports",   // the last command: a check
           "grep -q ready status.txt\necho ok",  // -q: a test
           "grep error app.log || true\necho ok", "if grep -q error app.log; then exit 1; fi",
           "! grep -q error app.log", "grep error app.log && echo found\necho ok",
           "echo \"$(grep -c error app.log) errors\"",     // an argument: its status is dropped
           "echo 'grep error app.log'\necho ok",           // inside quotes
           "# grep error app.log\necho ok",                // a comment
           "cat <<EOF\ngrep error app.log\nEOF\necho ok",  // a here-document body
       })
    EXPECT_EQ(Spots(Block(code), "grep-pipefail"), Strings{}) << code;
}

TEST(LintGrep, InTheRollbackAFinalGrepThatFindsNothingFails) {
  std::string book =
      "## Deploy\n```bash\necho deploy\n```\n"
      "## Rollback\n```bash\naws s3 rb s3://x\naws s3 ls | grep staging\n```\n";
  EXPECT_EQ(Spots(book, "grep-pipefail"), Strings{"8:13"});
}

// --- hidden-failure -------------------------------------------------------------------------

TEST(LintHiddenFailure, OrEchoHidesAnyFailure) {
  auto findings = LintOf(Block("curl -s http://localhost:8125 || echo \"Monitoring active\""));
  const Diagnostic* hidden = First(findings, "hidden-failure");
  ASSERT_NE(hidden, nullptr);
  EXPECT_EQ(hidden->pos.line, 3);
  EXPECT_EQ(hidden->pos.column, 31);
  EXPECT_EQ(hidden->message,
            "'|| echo' hides a failure of 'curl -s http://localhost:8125': the message is printed "
            "and the block goes on as if it had worked");
}

TEST(LintHiddenFailure, OrTrueHidesOnlyFailuresThatMatter) {
  EXPECT_EQ(Spots(Block("npm ci --production || true"), "hidden-failure"), Strings{"3:21"});
  EXPECT_EQ(Spots(Block("./deploy.sh || :"), "hidden-failure"), Strings{"3:13"});
  for (const char* code : {"systemctl stop app || true", "rm -f stale.pid || true",
                           "kubectl delete pod x || true", "curl -fsS http://x/health || true"})
    EXPECT_EQ(Spots(Block(code), "hidden-failure"), Strings{}) << code;
}

TEST(LintHiddenFailure, AndEchoBeforeTheEndIgnoresTheFailure) {
  EXPECT_EQ(
      Spots(Block("curl -s http://x/ | grep -q Dashboard && echo ok\necho next"), "hidden-failure"),
      Strings{"3:39"});
  // The last list: a failure of the check still fails the block.
  EXPECT_EQ(Spots(Block("echo first\ncurl -s http://x/ | grep -q Dashboard && echo ok"),
                  "hidden-failure"),
            Strings{});
  EXPECT_EQ(Spots(Block("[ -f x ] && echo 'x is there'\necho next"), "hidden-failure"), Strings{});
}

TEST(LintHiddenFailure, MessagesThatStopAreFine) {
  for (const char* code :
       {"make || { echo 'build failed' >&2; exit 1; }", "make || (echo failed; false)",
        "make || fallback-build", "echo 'make || echo failed'", "# make || echo failed\nmake",
        "grep -q '^export A' ~/.bashrc || echo 'export A=1' >> ~/.bashrc"})
    EXPECT_EQ(Spots(Block(code), "hidden-failure"), Strings{}) << code;
}

TEST(LintHiddenFailure, ExportOfASubstitutionDropsItsStatus) {
  auto findings = LintOf(Block("export DB_PASSWORD=$(aws secretsmanager get-secret-value)"));
  const Diagnostic* hidden = First(findings, "hidden-failure");
  ASSERT_NE(hidden, nullptr);
  EXPECT_EQ(hidden->pos.column, 8);
  EXPECT_EQ(hidden->hint, "assign first, then export: DB_PASSWORD=$(...); export DB_PASSWORD");
  EXPECT_EQ(Spots(Block("DB_PASSWORD=$(cat pw)\nexport DB_PASSWORD"), "hidden-failure"), Strings{});
}

TEST(LintHiddenFailure, ASubstitutionBeforeACommandDropsItsStatus) {
  auto findings = LintOf(Block("PGPASSWORD=$(vault read -field=pw db) psql -c 'select 1'"));
  const Diagnostic* hidden = First(findings, "hidden-failure");
  ASSERT_NE(hidden, nullptr);
  EXPECT_EQ(hidden->pos.column, 1);
  EXPECT_EQ(hidden->message,
            "'PGPASSWORD=$(...) psql' hides a failure of the command: psql runs anyway, with "
            "PGPASSWORD perhaps empty");
  EXPECT_EQ(Spots(Block("PGPASSWORD=secret psql -c 'select 1'"), "hidden-failure"), Strings{});
}

// --- absolute-cd ----------------------------------------------------------------------------

TEST(LintAbsoluteCd, OutsideTheRunbooksDirectory) {
  EXPECT_EQ(Spots(Block("cd /home/runner/work/app"), "absolute-cd"), Strings{"3:4"});
  EXPECT_EQ(Spots(Block("make && cd /opt/app && ls"), "absolute-cd"), Strings{"3:12"});
  // The runbook lives in /srv/books.
  for (const char* code : {"cd /srv/books/infra", "cd /tmp/build", "cd infra/terraform",
                           "cd \"$APP_DIR\"", "echo 'cd /opt/app'", "cd ~"})
    EXPECT_EQ(Spots(Block(code), "absolute-cd"), Strings{}) << code;
}

TEST(LintAbsoluteCd, TheFrontMatterRootCounts) {
  EXPECT_EQ(Spots("---\nroot: ../app\n---\n" + Block("cd /srv/app/db"), "absolute-cd"), Strings{});
}

// --- destructive, rm-empty-variable ---------------------------------------------------------

TEST(LintDestructive, UngatedInTheNormalFlow) {
  EXPECT_EQ(Spots(Block("terraform destroy -auto-approve"), "destructive"), Strings{"3:1"});
  EXPECT_EQ(Spots(Block("kubectl delete namespace staging"), "destructive"), Strings{"3:1"});
  EXPECT_EQ(Spots(Block("aws s3 rb s3://bucket --force"), "destructive"), Strings{"3:1"});
  EXPECT_EQ(Spots(Block("sudo -u postgres dropdb orders"), "destructive"), Strings{"3:18"});
  EXPECT_EQ(Spots(Block("psql -c 'DROP TABLE orders'"), "destructive"), Strings{"3:10"});
  EXPECT_EQ(Spots(Block("psql <<SQL\ndrop database orders;\nSQL"), "destructive"), Strings{"4:1"});
  EXPECT_EQ(Spots(Block("rm -rf \"$BUILD_DIR\""), "destructive"), Strings{"3:8"});
}

TEST(LintDestructive, GatesManualStepsAndTheRollbackAreWhereItBelongs) {
  EXPECT_EQ(Spots(Block("terraform destroy", "bash { confirm }"), "destructive"), Strings{});
  EXPECT_EQ(Spots("## Tear down\n<!-- stagecraft: manual -->\n```bash\nterraform destroy\n```\n",
                  "destructive"),
            Strings{});
  EXPECT_EQ(
      Spots("## Deploy\n```bash\nterraform apply x.tfplan\n```\n\n**Rollback:**\n```bash\n"
            "terraform destroy -auto-approve\n```\n## Rollback\n```bash\ndropdb orders\n```\n",
            "destructive"),
      Strings{});
  for (const char* code : {"rm -rf build/", "echo 'terraform destroy'", "terraform plan -destroy",
                           "kubectl delete pod web-1", "psql -c 'select 1 from drops'"})
    EXPECT_EQ(Spots(Block(code), "destructive"), Strings{}) << code;
}

TEST(LintRmEmptyVariable, APathThatStartsWithAVariableIsAnError) {
  auto findings = LintOf(Block("rm -rf $DEPLOY_DIR/*"));
  const Diagnostic* rm = First(findings, "rm-empty-variable");
  ASSERT_NE(rm, nullptr);
  EXPECT_EQ(rm->severity, Severity::kError);
  EXPECT_EQ(rm->pos.column, 8);
  EXPECT_EQ(rm->message, "'rm -rf $DEPLOY_DIR/*' deletes from / when DEPLOY_DIR is empty or unset");
  EXPECT_EQ(rm->hint, "write \"${DEPLOY_DIR:?}\"/* so an empty variable stops the block instead");
  EXPECT_EQ(First(findings, "destructive"), nullptr);  // one finding for one command
  // Everywhere: an operator approving a gate does not see the variable's value.
  EXPECT_EQ(Spots(Block("rm -rf \"${DIR}\"/cache", "bash { confirm }"), "rm-empty-variable"),
            Strings{"3:8"});
}

TEST(LintRmEmptyVariable, AVariableGivenAValueFirstIsFine) {
  for (const std::string& book : Strings{
           Block("rm -rf \"${DIR:?}\"/cache"),
           Block("DIR=/srv/app\nrm -rf $DIR/cache"),
           Block("for d in a b; do rm -rf $d/tmp; done"),
           "---\nvars:\n  DIR: /srv/app\n---\n" + Block("rm -rf $DIR/cache"),
           "## A\n```bash\nROOT=\"$PWD\"\n```\n**Rollback:**\n```bash\nrm -rf "
           "\"$ROOT/build\"\n```\n",
           "## A\n```bash { capture=DIR }\nmktemp -d\n```\n## B\n```bash\nrm -rf $DIR/x\n```\n",
           Block("rm -f $DIR/x.pid"),  // not recursive
           Block("rm -rf $HOME/.cache/app"),
       })
    EXPECT_EQ(Spots(book, "rm-empty-variable"), Strings{}) << book;
}

// --- never-ends -----------------------------------------------------------------------------

TEST(LintNeverEnds, FollowersAndWatchers) {
  EXPECT_EQ(Spots(Block("aws logs tail /aws/lambda/x \\\n  --since 5m --follow"), "never-ends"),
            Strings{"3:1"});
  for (const char* code : {"tail -f /var/log/app.log", "tail -n 100 -F app.log",
                           "docker logs -f web", "kubectl logs -f deploy/web", "journalctl -fu app",
                           "docker compose -f compose.yml up", "docker-compose logs -tf web",
                           "watch kubectl get pods", "ping db.internal", "kubectl get pods -w"})
    EXPECT_EQ(Spots(Block(code), "never-ends"), Strings{"3:1"}) << code;
  auto findings = LintOf(Block("tail -f /var/log/app.log"));
  EXPECT_EQ(First(findings, "never-ends")->message,
            "'tail -f /var/log/app.log' never ends; a run stops it after its stream window (30s)");
}

TEST(LintNeverEnds, BoundedOnesAreFine) {
  for (const char* code :
       {"tail -n 100 app.log", "docker logs --tail 50 web", "ping -c 3 db",
        "timeout 60 tail -f app.log", "tail -f app.log &", "tail -f app.log | grep -m1 ready",
        "echo 'tail -f app.log'", "# tail -f app.log\nls", "journalctl -u app -n 50 --no-pager",
        "kubectl rollout status deploy/web --watch=true",
        "docker compose -f compose.yml logs --tail 20", "docker compose up -d",
        "kubectl get pods --watch=false"})
    EXPECT_EQ(Spots(Block(code), "never-ends"), Strings{}) << code;
}

// --- needs-terminal -------------------------------------------------------------------------

TEST(LintNeedsTerminal, InteractivePrograms) {
  for (const char* code :
       {"vim config.yml", "nano .env", "less app.log", "read -p 'Continue? ' answer",
        "psql -h db -U app orders", "mysql -u root", "ssh deploy@web-1", "terraform apply",
        "terraform destroy -var-file=staging.tfvars", "docker run -it ubuntu bash", "git commit",
        "aws configure", "kubectl edit deploy/web"})
    EXPECT_EQ(Spots(Block(code), "needs-terminal"), Strings{"3:1"}) << code;
  auto findings = LintOf(Block("terraform apply"));
  EXPECT_EQ(First(findings, "needs-terminal")->message,
            "'terraform apply' needs a terminal (it asks for approval): a run gives it the "
            "operator's terminal, and without one (CI) the block becomes a manual step");
}

TEST(LintNeedsTerminal, InputGivenOrATerminalAskedFor) {
  for (const char* code :
       {"psql -h db -c 'select 1'", "psql -f migrate.sql", "psql <<SQL\nselect 1;\nSQL",
        "gunzip -c dump.gz | psql orders", "mysql -e 'select 1'", "ssh web-1 uptime",
        "terraform apply plan.tfplan", "terraform apply -auto-approve",
        "terraform destroy -auto-approve", "terraform show plan | less", "git commit -m 'msg'",
        "docker run --rm ubuntu true", "aws configure set region eu-west-1", "echo 'vim x'",
        "kubectl exec web -- ls -lt"})
    EXPECT_EQ(Spots(Block(code), "needs-terminal"), Strings{}) << code;
  EXPECT_EQ(Spots(Block("psql -h db", "bash { interactive }"), "needs-terminal"), Strings{});
}

// --- placeholder, placeholder-redirect ------------------------------------------------------

TEST(LintPlaceholder, AngleBracketsInCodeAreRedirections) {
  auto findings = LintOf(Block("git checkout <revision>\naws s3 cp x s3://<BUCKET>/x"));
  ASSERT_EQ(
      Spots(Block("git checkout <revision>\naws s3 cp x s3://<BUCKET>/x"), "placeholder-redirect"),
      (Strings{"3:14", "4:18"}));
  const Diagnostic* error = First(findings, "placeholder-redirect");
  EXPECT_EQ(error->severity, Severity::kError);
  EXPECT_EQ(error->message,
            "'<revision>' is a placeholder, but bash reads it as redirections: input from a file "
            "named 'revision'");
  EXPECT_EQ(error->hint,
            "declare REVISION under the front matter's inputs: (a run then takes --var "
            "REVISION=... or asks for it), or write \"$REVISION\" here and give it a value");
}

TEST(LintPlaceholder, NamedInputs) {
  std::string book = Block(
      "aws sts assume-role --role-arn arn:aws:iam::YOUR_ACCOUNT_ID:role/deploy\n"
      "aws sns subscribe --notification-endpoint your-email@example.com\n"
      "cat > .env <<'EOF'\nDB_PASSWORD=[from-secrets-manager]\nAPI_KEY=xxxx\nEOF\n"
      "echo \"<revision>\"");
  EXPECT_EQ(Spots(book, "placeholder"), (Strings{"3:45", "4:43", "6:13", "7:9", "9:7"}));
  std::vector<Diagnostic> placeholders;
  for (const Diagnostic& d : LintOf(book))
    if (d.id == "placeholder") placeholders.push_back(d);
  ASSERT_EQ(placeholders.size(), 5u);
  EXPECT_EQ(placeholders[0].message,
            "'YOUR_ACCOUNT_ID' is a placeholder for the account id: the block would run with it "
            "as written");
  EXPECT_EQ(placeholders[0].hint,
            "declare ACCOUNT_ID under the front matter's inputs: (a run then takes --var "
            "ACCOUNT_ID=... or asks for it), or write \"$ACCOUNT_ID\" here and give it a value");
  EXPECT_EQ(placeholders[1].message,
            "'your-email@example.com' is a placeholder for the email address: the block would "
            "run with it as written");
  EXPECT_EQ(placeholders[2].message,
            "'[from-secrets-manager]' is a placeholder for DB_PASSWORD: the block would run with "
            "it as written");
  EXPECT_EQ(placeholders[3].message,
            "'xxxx' is a placeholder for API_KEY: the block would run with it as written");
  EXPECT_EQ(placeholders[4].message,
            "'<revision>' is a placeholder for the revision: the block would run with it as "
            "written");
}

TEST(LintPlaceholder, DeclaredInputsAreNotFindings) {
  std::string declared =
      "---\ninputs:\n  REVISION:\n    default: \"42\"\n  ACCOUNT_ID:\n---\n" +
      Block(
          "git checkout <revision>\naws iam get-role --role-arn arn:aws:iam::YOUR_ACCOUNT_ID:x\n"
          "echo xxx");
  EXPECT_EQ(Spots(declared, "placeholder-redirect"), Strings{});
  // Only the undeclared one is left: xxx stands for VALUE.
  EXPECT_EQ(Spots(declared, "placeholder"), Strings{"11:6"});
}

TEST(LintPlaceholder, ShellSyntaxAndRealValuesAreNot) {
  for (const char* code :
       {"sort <in.txt >out.txt", "[ -f x ] && [[ $a == [a-z]* ]]", "echo ${arr[idx]}",
        "echo \"$YOUR_TOKEN\"", "aws sts get-caller-identity --query Account", "tar -xvf app.tar",
        "echo '<b>bold</b>'", "# replace <revision> first\nls", "grep -E '[A-Za-z0-9_-]+' f",
        "echo arn:aws:iam::210987654321:role/x", "curl -d @payload.json https://api.internal",
        "cat > README.md <<EOF\nSee [the run book](runbook.md).\nEOF",
        "cat > my.cnf <<EOF\n[client-settings]\nuser=app\nEOF"})
    EXPECT_EQ(Spots(Block(code), "placeholder").size() +
                  Spots(Block(code), "placeholder-redirect").size(),
              0u)
        << code;
}

// --- read-before-write ----------------------------------------------------------------------

TEST(LintReadBeforeWrite, ReadInAnEarlierBlock) {
  std::string book =
      "## A\n```bash\naws ce get-cost --filter file://cost-filter.json\n```\n"
      "## B\n```bash\ncat > cost-filter.json <<'EOF'\n{}\nEOF\n```\n";
  EXPECT_EQ(Spots(book, "read-before-write"), Strings{"3:33"});
  auto findings = LintOf(book);
  EXPECT_EQ(First(findings, "read-before-write")->message,
            "'cost-filter.json' is read here, but only written later, at line 7");
  EXPECT_EQ(Spots(Block("source ./env.sh\necho x > env.sh"), "read-before-write"), Strings{"3:8"});
  EXPECT_EQ(
      Spots(Block("kubectl apply -f app.yaml\ncp template.yaml app.yaml"), "read-before-write"),
      Strings{"3:18"});
}

TEST(LintReadBeforeWrite, FollowsTheWorkingDirectory) {
  EXPECT_EQ(Spots(Block("cat ../shared/app.env\ncd deploy\necho x > ../../shared/app.env"),
                  "read-before-write"),
            Strings{"3:5"});
  EXPECT_EQ(Spots("## A\n```bash { cwd=deploy }\ncat app.env\n```\n## B\n```bash\n"
                  "cd deploy/.\necho x > ./app.env\n```\n",
                  "read-before-write"),
            Strings{"3:5"});
}

TEST(LintReadBeforeWrite, ConservativeAboutWhatItCannotKnow) {
  for (const std::string& book : Strings{
           Block("echo x > env.sh\nsource env.sh"),              // written first
           Block("sort data > data"),                            // one command
           Block("cat \"$F\"\necho x > \"$F\""),                 // a variable
           Block("cat /etc/app.conf\necho x > /etc/app.conf"),   // absolute
           Block("cat *.json\necho x > a.json"),                 // a glob
           Block("cat app.yaml\ncd deploy\necho x > app.yaml"),  // another directory
           Block("echo 'cat notes.txt'\necho x > notes.txt"),
           "## A\n```bash\nmv site/current site/old\n```\n**Rollback:**\n```bash\n"
           "mv site/old site/current\n```\n",  // the rollback writes it back, later
       })
    EXPECT_EQ(Spots(book, "read-before-write"), Strings{}) << book;
}

// --- which blocks are read ------------------------------------------------------------------

TEST(LintShell, TranscriptsAreReadCommandByCommandAtTheirPositions) {
  EXPECT_EQ(Spots("## A\n```console\n$ tail -f app.log\nline\n$ cd /opt/app\n```\n", "never-ends"),
            Strings{"3:3"});
  EXPECT_EQ(Spots("## A\n```console\n$ tail -f app.log\nline\n$ cd /opt/app\n```\n", "absolute-cd"),
            Strings{"5:6"});
}

TEST(LintShell, IndentedBlocksInListsPointAtTheCommand) {
  EXPECT_EQ(Spots("## A\n- [ ] Logs\n  ```bash\n  tail -f app.log\n  ```\n", "never-ends"),
            Strings{"4:3"});
}

TEST(LintShell, BlocksThatNeverRunAreNotRead) {
  for (const std::string& book : Strings{
           Block("tail -f app.log", "bash { skip }"),
           Block("tail -f app.log", "text"),
           Block("import os\nos.system('tail -f x')", "python"),
           "## A\n<!-- stagecraft: skip -->\n```bash\ntail -f app.log\n```\n",
           "## Troubleshooting\n```bash\ntail -f app.log\n```\n",
       })
    EXPECT_EQ(Spots(book, "never-ends"), Strings{}) << book;
}

}  // namespace
}  // namespace stagecraft::runbook
