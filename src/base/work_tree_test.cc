#include "base/work_tree.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace stagecraft {
namespace {

namespace fs = std::filesystem;

class WorkTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stagecraft-worktree-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(WorkTreeTest, TheNearestFolderWithAGitEntryIsTheTop) {
  fs::create_directories(root_ / "repo/.git");
  fs::create_directories(root_ / "repo/docs/guides");
  EXPECT_EQ(WorkTreeTop((root_ / "repo/docs/guides").string()), (root_ / "repo").string());
  EXPECT_EQ(WorkTreeTop((root_ / "repo/docs/guides/../..").string()), (root_ / "repo").string());
  // A worktree or submodule has a .git file.
  fs::create_directories(root_ / "repo/vendor/lib");
  std::ofstream(root_ / "repo/vendor/.git") << "gitdir: ../.git/modules/vendor\n";
  EXPECT_EQ(WorkTreeTop((root_ / "repo/vendor/lib").string()), (root_ / "repo/vendor").string());
}

TEST_F(WorkTreeTest, OutsideAWorkTreeThereIsNone) {
  fs::create_directories(root_ / "plain/sub");
  EXPECT_EQ(WorkTreeTop((root_ / "plain/sub").string()), std::nullopt);
}

}  // namespace
}  // namespace stagecraft
