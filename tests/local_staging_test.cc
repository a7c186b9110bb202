// End-to-end tests of examples/local-staging: the real release against a throwaway
// PostgreSQL cluster and HTTP service on 127.0.0.1, the BREAK=smoke failure with its
// rollback, and the teardown. They check the console, the exit code and the real state
// left behind (database rows, processes, ports), each in a fresh staging directory.

#include <arpa/inet.h>
#include <glob.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

constexpr char kPassword[] = "staging-test-pw-7f3a91";

std::string ExampleFile(const std::string& name) {
  return TestsDir() + "/../examples/local-staging/" + name;
}

bool OnPath(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

bool PostgresInstalled() {
  glob_t found{};
  bool any = glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found) == 0;
  globfree(&found);
  return any;
}

// Runs a shell command and returns what it printed on stdout, trailing newline removed.
std::string Shell(const std::string& command) {
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
      out.append(buffer, n);
    pclose(pipe);
  }
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

// True while process `pid` runs; a zombie (exited, not yet reaped) counts as gone.
bool ProcessRuns(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("State:")) return line.find('Z') == std::string::npos;
  return false;
}

bool PortAcceptsConnections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

int FirstNumberIn(const std::string& path) {
  std::ifstream file(path);
  int value = -1;
  file >> value;
  return value;
}

class LocalStaging : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresInstalled() || !OnPath("curl") || !OnPath("python3") || !OnPath("psql"))
      GTEST_SKIP() << "needs Debian's postgresql, curl and python3 (scripts/setup.sh)";
    // As root the cluster runs as the postgres account, which must be able to enter the
    // test's directory (mkdtemp makes it private).
    chmod(dir_.path().c_str(), 0755);
    staging_ = dir_.File("staging");
    setenv("STAGING_DB_PASSWORD", kPassword, 1);
  }

  void TearDown() override {
    // Also after a failed assertion: no cluster or service may outlive the test.
    if (!staging_.empty() && std::filesystem::exists(staging_)) Teardown();
  }

  // The release as its guide says: the run waits for the db-owner at the migration (exit 4),
  // whoever runs it approves (they hold the role; self-approval is allowed in this staging),
  // and the resumed run goes on. The result is the resumed run's, its output after the
  // first run's.
  CommandResult Deploy(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run",   ExampleFile("deploy.md"), "--yes", "--no-color",
                                     "--var", "STAGING_DIR=" + staging_};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult run = RunStagecraft(args, dir_.path());
    if (run.exit_code != 4) return run;
    EXPECT_NE(run.out.find("waiting for approval: db-owner ("), std::string::npos) << run.out;
    std::string id = run.out.substr(run.out.find("run ") + 4, 22);
    CommandResult approve =
        RunStagecraft({"approve", id, "migrate-v2", "--comment", "backup checked"}, dir_.path());
    EXPECT_EQ(approve.exit_code, 0) << approve.out << approve.err;
    CommandResult resumed = RunStagecraft({"resume", id, "--yes", "--no-color"}, dir_.path());
    resumed.out = run.out + resumed.out;
    resumed.err = run.err + resumed.err;
    return resumed;
  }

  CommandResult Teardown() {
    return RunStagecraft(
        {"run", ExampleFile("teardown.md"), "--no-color", "--var", "STAGING_DIR=" + staging_},
        dir_.path());
  }

  // The ports deploy.md picked, from the file it leaves for teardown.md.
  std::map<std::string, std::string> StagingEnv() const {
    std::map<std::string, std::string> values;
    std::ifstream file(staging_ + "/staging.env");
    std::string line;
    while (std::getline(file, line))
      if (auto eq = line.find('='); eq != std::string::npos)
        values[line.substr(0, eq)] = line.substr(eq + 1);
    return values;
  }

  // Asks the staging database directly, bypassing the service under test.
  std::string Query(const std::string& sql) const {
    return Shell("PGPASSWORD='" + std::string(kPassword) + "' psql -X -tA -h 127.0.0.1 -p " +
                 StagingEnv().at("PG_PORT") + " -U shelf -d shelf -c \"" + sql + "\" 2>&1");
  }

  std::string Get(const std::string& path) const {
    return Shell("curl -sS --max-time 5 http://127.0.0.1:" + StagingEnv().at("APP_PORT") + path +
                 " 2>&1");
  }

  TempDir dir_;
  std::string staging_;
};

TEST_F(LocalStaging, ReleaseSucceedsAndServesTheNewVersion) {
  CommandResult run = Deploy();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("succeeded: all steps passed (exit 0)"), std::string::npos);
  EXPECT_NE(run.out.find("captured BASELINE_BOOKS=12"), std::string::npos);
  EXPECT_NE(run.out.find("captured APP_VERSION=2.0.0"), std::string::npos);
  EXPECT_NE(run.out.find("approved by"), std::string::npos) << "the migration is a gate";
  // The secret is masked wherever the runbook prints it.
  EXPECT_NE(run.out.find("connection: postgresql://shelf:***@127.0.0.1:"), std::string::npos);
  EXPECT_EQ(run.out.find(kPassword), std::string::npos);
  EXPECT_EQ(run.err.find(kPassword), std::string::npos);
  std::string report_md = ReadFile(ReportFile(run, dir_.path(), "md"));
  EXPECT_NE(report_md.find("✅ succeeded"), std::string::npos) << report_md.substr(0, 2000);
  EXPECT_NE(report_md.find("postgresql://shelf:***@127.0.0.1:"), std::string::npos);
  EXPECT_EQ(report_md.find(kPassword), std::string::npos);
  EXPECT_EQ(ReadFile(ReportFile(run, dir_.path(), "html")).find(kPassword), std::string::npos);

  EXPECT_EQ(Query("SELECT count(*) FROM books JOIN authors ON authors.id = books.author_id"), "12");
  EXPECT_EQ(Query("SELECT count(*) FROM loans"), "3");
  EXPECT_EQ(Query("SELECT max(version) FROM schema_migrations"), "2");
  EXPECT_EQ(Get("/health"), R"({"status": "ok", "version": "2.0.0", "schema": 2})");
  EXPECT_TRUE(ProcessRuns(FirstNumberIn(staging_ + "/run/shelf.pid")));
}

TEST_F(LocalStaging, BrokenReleaseIsRolledBackWithoutLosingARecord) {
  CommandResult run = Deploy({"--var", "BREAK=smoke"});
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("curl: (22) The requested URL returned error: 500"), std::string::npos);
  EXPECT_NE(run.out.find("rolled back: step smoke-books FAILED"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("after rollback: 12 books, 3 loans, schema 1 (before the release: 12 "
                         "books)"),
            std::string::npos);
  EXPECT_EQ(run.out.find("FAILED rollback"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find(kPassword), std::string::npos);
  auto report = nlohmann::json::parse(ReadFile(ReportFile(run, dir_.path(), "json")));
  EXPECT_EQ(report["run"]["status"], "rolled_back");
  bool smoke_failed = false;
  for (const auto& step : report["steps"])
    smoke_failed |= step["key"] == "smoke-books" && step["status"] == "failed";
  EXPECT_TRUE(smoke_failed) << report["steps"].dump(1).substr(0, 3000);
  ASSERT_FALSE(report["rollback"].empty());
  for (const auto& block : report["rollback"])
    EXPECT_EQ(block["status"], "succeeded") << block.dump(1);

  // The database is the backup's again: schema 1, every book and loan, no authors table.
  EXPECT_EQ(Query("SELECT count(*) FROM books"), "12");
  EXPECT_EQ(Query("SELECT count(*) FROM loans"), "3");
  EXPECT_EQ(Query("SELECT max(version) FROM schema_migrations"), "1");
  EXPECT_EQ(Query("SELECT to_regclass('authors') IS NULL"), "t");
  // And 1.4.0 serves it.
  EXPECT_EQ(Get("/health"), R"({"status": "ok", "version": "1.4.0", "schema": 1})");
  EXPECT_EQ(Get("/stats"), R"({"books": 12, "loans": 3})");
}

TEST_F(LocalStaging, TeardownLeavesNoProcessOrPortBehind) {
  CommandResult run = Deploy();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  int shelf_pid = FirstNumberIn(staging_ + "/run/shelf.pid");
  int postgres_pid = FirstNumberIn(staging_ + "/pg/data/postmaster.pid");
  int app_port = std::stoi(StagingEnv().at("APP_PORT"));
  int pg_port = std::stoi(StagingEnv().at("PG_PORT"));
  ASSERT_TRUE(ProcessRuns(shelf_pid));
  ASSERT_TRUE(ProcessRuns(postgres_pid));
  ASSERT_TRUE(PortAcceptsConnections(app_port));
  ASSERT_TRUE(PortAcceptsConnections(pg_port));

  CommandResult teardown = Teardown();
  ASSERT_EQ(teardown.exit_code, 0) << teardown.out << teardown.err;
  EXPECT_FALSE(ProcessRuns(shelf_pid)) << teardown.out;
  EXPECT_FALSE(ProcessRuns(postgres_pid)) << teardown.out;
  EXPECT_FALSE(PortAcceptsConnections(app_port)) << teardown.out;
  EXPECT_FALSE(PortAcceptsConnections(pg_port)) << teardown.out;
  EXPECT_FALSE(std::filesystem::exists(staging_));

  // A second teardown finds nothing to do and still succeeds.
  CommandResult again = Teardown();
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("Shelf is not running"), std::string::npos);
  EXPECT_NE(again.out.find("PostgreSQL is not running"), std::string::npos);
}

// `make demo`: the release waits for the db-owner, is approved as the guide says, goes on,
// and the demo's receiver got each notification, the approve command included.
TEST_F(LocalStaging, DemoApprovesTheMigrationAndShowsTheNotifications) {
  std::string out =
      Shell("STAGING_DIR='" + staging_ + "' NO_COLOR=1 '" + std::string(STAGECRAFT_SOURCE_DIR) +
            "/scripts/demo.sh' '" + std::string(STAGECRAFT_BINARY) + "' 2>&1; echo \"exit $?\"");
  EXPECT_NE(out.find("==> The migration waits for the db-owner (exit 4)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("approved step migrate-v2 of run "), std::string::npos) << out;
  EXPECT_NE(out.find("succeeded: all steps passed (exit 0)"), std::string::npos) << out;
  size_t received = out.find(
      "==> Notifications the receiver got\nstarted     -            started\n"
      "waiting     migrate-v2   waiting for approval: db-owner (");
  EXPECT_NE(received, std::string::npos) << out;
  EXPECT_NE(out.find("started     -            resumed\nsucceeded   -            succeeded: all "
                     "steps passed\n",
                     received),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("exit 0"), std::string::npos) << out;
}

TEST_F(LocalStaging, MissingPasswordStopsBeforeAnythingRuns) {
  unsetenv("STAGING_DB_PASSWORD");
  CommandResult run = Deploy();
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE((run.out + run.err).find("environment variable STAGING_DB_PASSWORD is not set"),
            std::string::npos)
      << run.out << run.err;
  EXPECT_FALSE(std::filesystem::exists(staging_));
}

TEST_F(LocalStaging, LeftoverEnvironmentStopsThePreflight) {
  std::filesystem::create_directory(staging_);
  CommandResult run = Deploy();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find(staging_ + " already exists: run teardown.md first"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("nothing was changed, so nothing is rolled back"), std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("Rolling back"), std::string::npos);
}

}  // namespace
}  // namespace stagecraft::testing
