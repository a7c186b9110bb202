// End-to-end tests of what stagecraft does with files and paths: the permissions of the
// state directory's contents, and one lock per runbook however it is reached.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "support/binary_runner.h"

namespace stagecraft::testing {
namespace {

// Every entry under `root`, by path relative to it, with its permission bits (setgid
// included).
std::map<std::string, mode_t> ModesUnder(const std::string& root) {
  std::map<std::string, mode_t> modes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    struct stat info {};
    EXPECT_EQ(lstat(entry.path().c_str(), &info), 0) << entry.path();
    modes[std::filesystem::relative(entry.path(), root).string()] = info.st_mode & 07777;
  }
  return modes;
}

// A run that writes a side file (more than 1 MiB of output) and prints the modes of the
// journal's -wal and -shm files, which exist only while the journal is open.
void WriteBulkRunbook(const std::string& path, const std::string& state) {
  WriteFile(path,
            "# Modes\n## Bulk\n```bash\nseq 1 300000\n```\n## Wal\n```bash\nstat -c "
            "'mode %a %n' " +
                state + "/journal.db-wal " + state + "/journal.db-shm\n```\n");
}

TEST(FileModes, NewStateDirectoryIsPrivate) {
  TempDir dir;
  WriteBulkRunbook(dir.File("book.md"), dir.File("state"));
  auto run = RunStagecraft({"run", "book.md", "--state", "state"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("mode 600 " + dir.File("state/journal.db-wal")), std::string::npos)
      << run.out.substr(run.out.size() > 2000 ? run.out.size() - 2000 : 0);
  EXPECT_NE(run.out.find("mode 600 " + dir.File("state/journal.db-shm")), std::string::npos);

  struct stat state {};
  ASSERT_EQ(stat(dir.File("state").c_str(), &state), 0);
  EXPECT_EQ(state.st_mode & 07777, 0700u);
  auto modes = ModesUnder(dir.File("state"));
  int side_files = 0;
  int reports = 0;
  for (const auto& [path, mode] : modes) {
    bool directory = std::filesystem::is_directory(dir.File("state/" + path));
    EXPECT_EQ(mode, directory ? 0700u : 0600u) << path;
    side_files += path.starts_with("output/") && path.ends_with(".log");
    reports += path.starts_with("runs/") && path.ends_with("/report.html");
  }
  EXPECT_EQ(side_files, 1);
  EXPECT_EQ(reports, 1);
  EXPECT_TRUE(modes.count("journal.db"));
}

TEST(FileModes, GroupSharedStateDirectoryGivesTheGroupAccessAndTheWorldNone) {
  TempDir dir;
  std::string state = dir.File("shared");
  ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
  ASSERT_EQ(chmod(state.c_str(), 02770), 0);
  WriteBulkRunbook(dir.File("book.md"), state);
  auto run = RunStagecraft({"run", "book.md", "--state", "shared"}, dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("mode 660 " + state + "/journal.db-wal"), std::string::npos);
  EXPECT_NE(run.out.find("mode 660 " + state + "/journal.db-shm"), std::string::npos);

  auto modes = ModesUnder(state);
  ASSERT_TRUE(modes.count("journal.db"));
  ASSERT_TRUE(modes.count("output"));
  ASSERT_TRUE(modes.count("runs"));
  for (const auto& [path, mode] : modes) {
    bool directory = std::filesystem::is_directory(state + "/" + path);
    EXPECT_EQ(mode, directory ? 02770u : 0660u) << path;
  }
  // The administrator's directory is left as it was.
  struct stat info {};
  ASSERT_EQ(stat(state.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 02770u);
}

// --- one lock per runbook, by whatever path it is run ---

// Runs `first` and `second` of the same slow runbook at once: exactly one runs, the other
// is refused with the lock-held message.
void ExpectOneRunsAndTheOtherIsLockedOut(const TempDir& dir, const std::string& first,
                                         const std::string& second) {
  std::vector<std::string> args = {"run", first, "--var", "MARKS=" + dir.File("marks")};
  RunningStagecraft holder(args, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("marks"), 10));
  args[1] = second;
  auto refused = RunStagecraft(args, dir.path());
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("is locked by run"), std::string::npos) << refused.err;
  EXPECT_EQ(holder.Wait().exit_code, 0);
  EXPECT_EQ(ReadFile(dir.File("marks")), "started\n");
}

void WriteSlowRunbook(const std::string& path) {
  WriteFile(path,
            "# Slow change\n\n## Hold\n\n```bash\necho started >> \"$MARKS\"\nsleep 2\n```\n");
}

TEST(RunbookLock, SymbolicLinkToARunbookIsTheSameLock) {
  TempDir dir;
  WriteSlowRunbook(dir.File("l.md"));
  std::filesystem::create_symlink("l.md", dir.File("link.md"));
  ExpectOneRunsAndTheOtherIsLockedOut(dir, "l.md", "link.md");
}

TEST(RunbookLock, LockOfASymbolicallyLinkedRunbookNamesTheRealFile) {
  TempDir dir;
  WriteSlowRunbook(dir.File("l.md"));
  std::filesystem::create_symlink("l.md", dir.File("link.md"));
  std::vector<std::string> args = {"run", "link.md", "--var", "MARKS=" + dir.File("marks")};
  RunningStagecraft holder(args, dir.path());
  ASSERT_TRUE(WaitForFile(dir.File("marks"), 10));
  args[1] = "l.md";
  auto refused = RunStagecraft(args, dir.path());
  EXPECT_EQ(refused.err.rfind(
                "stagecraft: error: " + std::filesystem::canonical(dir.File("l.md")).string() +
                    " is locked by run ",
                0),
            0u)
      << refused.err;
  EXPECT_EQ(holder.Wait().exit_code, 0);
}

TEST(RunbookLock, HardLinkToARunbookIsTheSameLock) {
  TempDir dir;
  WriteSlowRunbook(dir.File("l.md"));
  std::filesystem::create_hard_link(dir.File("l.md"), dir.File("hard.md"));
  ExpectOneRunsAndTheOtherIsLockedOut(dir, "l.md", "hard.md");
}

TEST(RunbookLock, HardLinkedRunbookIsLockedByEitherName) {
  TempDir dir;
  WriteSlowRunbook(dir.File("l.md"));
  std::filesystem::create_hard_link(dir.File("l.md"), dir.File("hard.md"));
  ExpectOneRunsAndTheOtherIsLockedOut(dir, "hard.md", "l.md");
  // Once the holder is gone, its locks are too: the next run of either name runs.
  std::filesystem::remove(dir.File("marks"));
  auto again = RunStagecraft({"run", "l.md", "--var", "MARKS=" + dir.File("marks")}, dir.path());
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace
}  // namespace stagecraft::testing
