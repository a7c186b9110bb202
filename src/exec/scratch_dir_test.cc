#include "exec/scratch_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace stagecraft::exec {
namespace {

class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stagecraft-scratch-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    base_ = pattern;
    if (const char* old = std::getenv("TMPDIR")) old_tmpdir_ = old;
    setenv("TMPDIR", base_.c_str(), 1);
  }
  void TearDown() override {
    if (old_tmpdir_.empty())
      unsetenv("TMPDIR");
    else
      setenv("TMPDIR", old_tmpdir_.c_str(), 1);
    std::filesystem::remove_all(base_);
  }
  // A scratch directory as an engine with pid `pid` would have left it.
  std::string Leftover(pid_t pid) {
    std::string path = base_ + "/stagecraft-run-" + std::to_string(pid) + "-abc123";
    std::filesystem::create_directory(path);
    std::ofstream(path + "/block-1") << "echo hi\n";
    return path;
  }
  // A pid no process has: a child that has exited and been reaped.
  static pid_t DeadPid() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    return child;
  }

  std::string base_;
  std::string old_tmpdir_;
};

TEST_F(ScratchDirTest, LivesInTmpdirNamedAfterItsOwnerAndIsRemovedWithIt) {
  std::string path;
  {
    ScratchDir scratch;
    path = scratch.path();
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(path.rfind(base_ + "/stagecraft-run-" + std::to_string(getpid()) + "-", 0), 0u);
    // Its owner is alive: nobody else removes it.
    EXPECT_EQ(RemoveAbandonedScratchDirs(), 0);
    EXPECT_TRUE(std::filesystem::is_directory(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScratchDirTest, DirectoryOfADeadOwnerIsRemoved) {
  std::string path = Leftover(DeadPid());
  EXPECT_EQ(RemoveAbandonedScratchDirs(), 1);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScratchDirTest, DirectoryOfALiveProcessIsKept) {
  std::string path = Leftover(getppid());
  EXPECT_EQ(RemoveAbandonedScratchDirs(), 0);
  EXPECT_TRUE(std::filesystem::exists(path + "/block-1"));
}

TEST_F(ScratchDirTest, LockedDirectoryIsKeptEvenWhenItsPidIsUnknownHere) {
  // As seen from another PID namespace sharing $TMPDIR: the pid means nothing, the lock does.
  std::string path = Leftover(DeadPid());
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  EXPECT_EQ(RemoveAbandonedScratchDirs(), 0);
  EXPECT_TRUE(std::filesystem::exists(path));
  close(fd);
}

TEST_F(ScratchDirTest, OtherNamesAndSymlinksAreLeftAlone) {
  std::string target = Leftover(DeadPid());
  std::filesystem::create_directory_symlink(target, base_ + "/stagecraft-run-1999999-link01");
  std::filesystem::create_directory(base_ + "/stagecraft-run-abcdef");
  std::filesystem::create_directory(base_ + "/other-1-abc");
  EXPECT_EQ(RemoveAbandonedScratchDirs(), 1);  // only the real leftover
  EXPECT_TRUE(std::filesystem::is_symlink(base_ + "/stagecraft-run-1999999-link01"));
  EXPECT_TRUE(std::filesystem::exists(base_ + "/stagecraft-run-abcdef"));
  EXPECT_TRUE(std::filesystem::exists(base_ + "/other-1-abc"));
}

}  // namespace
}  // namespace stagecraft::exec
