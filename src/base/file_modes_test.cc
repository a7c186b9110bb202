#include "base/file_modes.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace stagecraft {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class FileModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stagecraft-modes-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    // Modes are set exactly: a umask that would take the group's write away changes nothing.
    old_umask_ = umask(027);
  }
  void TearDown() override {
    umask(old_umask_);
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  mode_t old_umask_ = 0;
};

TEST(ModesBeneath, CarryTheGroupsReadAndWriteButNeverTheWorlds) {
  EXPECT_EQ(ModesBeneath(mode_t{0700}).file, 0600u);
  EXPECT_EQ(ModesBeneath(mode_t{0700}).directory, 0700u);
  EXPECT_EQ(ModesBeneath(mode_t{02770}).file, 0660u);
  EXPECT_EQ(ModesBeneath(mode_t{02770}).directory, 02770u);
  EXPECT_EQ(ModesBeneath(mode_t{0755}).file, 0640u);
  EXPECT_EQ(ModesBeneath(mode_t{0755}).directory, 0750u);
  EXPECT_EQ(ModesBeneath(mode_t{0777}).file, 0660u);
}

TEST_F(FileModesTest, PrivateDirectoriesAre0700WithTheirParents) {
  ASSERT_TRUE(CreatePrivateDirectories(dir_ + "/a/b").ok());
  EXPECT_EQ(ModeOf(dir_ + "/a"), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/a/b"), 0700u);
  EXPECT_TRUE(CreatePrivateDirectories(dir_ + "/a/b").ok());  // already there
}

TEST_F(FileModesTest, DirectoriesBeneathTakeTheirModeFromTheExistingAncestor) {
  ASSERT_EQ(chmod(dir_.c_str(), 02770), 0);
  ASSERT_TRUE(CreateDirectoriesBeneath(dir_ + "/runs/1").ok());
  EXPECT_EQ(ModeOf(dir_ + "/runs"), 02770u);
  EXPECT_EQ(ModeOf(dir_ + "/runs/1"), 02770u);
  int fd = OpenWithMode(dir_ + "/runs/1/f", O_WRONLY | O_CREAT, ModesBeneath(dir_).file);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EQ(ModeOf(dir_ + "/runs/1/f"), 0660u);
}

TEST_F(FileModesTest, CreatingADirectoryUnderAFileFailsWithItsName) {
  int fd = OpenWithMode(dir_ + "/file", O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EQ(CreatePrivateDirectories(dir_ + "/file/state").message(),
            "cannot create directory " + dir_ + "/file/state: Not a directory");
}

}  // namespace
}  // namespace stagecraft
