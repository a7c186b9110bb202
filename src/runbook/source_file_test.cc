#include "runbook/source_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace stagecraft::runbook {
namespace {

using Hold = SourceFile::Hold;

class SourceFileTest : public ::testing::TestWithParam<Hold> {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = temp_.File(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  stagecraft::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_P(SourceFileTest, HoldsTheFilesBytes) {
  std::string text = "# Deploy\n\n```bash\necho \xc3\xa9t\xc3\xa9\n```\n";
  auto file = SourceFile::Load(Write("book.md", text), GetParam());
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file.value().text(), text);
  // Moving keeps the bytes valid, mapped or not.
  SourceFile moved = std::move(file.value());
  EXPECT_EQ(moved.text(), text);
}

TEST_P(SourceFileTest, RefusesAFileOverTheLimit) {
  std::string path = Write("huge.md", "# T\n");
  ASSERT_EQ(truncate(path.c_str(), off_t{65} << 20), 0);
  EXPECT_EQ(SourceFile::Load(path, GetParam()).error(),
            path + ": error: runbook is too large (65.0 MiB; the limit is 64 MiB)");
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(SourceFile::kMaxBytes) + 1), 0);
  EXPECT_NE(SourceFile::Load(path, GetParam()).error().find("too large"), std::string::npos);
  // At the limit the file is read (and refused for what it holds: the NULs of the hole).
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(SourceFile::kMaxBytes)), 0);
  EXPECT_NE(SourceFile::Load(path, GetParam()).error().find("NUL byte"), std::string::npos);
}

TEST_P(SourceFileTest, EmptyFileIsEmptyText) {
  auto file = SourceFile::Load(Write("empty.md", ""), GetParam());
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file.value().text(), "");
}

TEST_P(SourceFileTest, RefusesWhatIsNotARunbook) {
  auto missing = SourceFile::Load(dir_ + "/missing.md", GetParam());
  EXPECT_EQ(missing.error(),
            dir_ + "/missing.md: error: cannot read runbook: No such file or directory");
  auto directory = SourceFile::Load(dir_, GetParam());
  EXPECT_EQ(directory.error(), dir_ + ": error: is a directory, not a runbook file");
  std::string fifo = dir_ + "/fifo.md";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(SourceFile::Load(fifo, GetParam()).error(),
            fifo + ": error: not a regular file (a FIFO)");
  EXPECT_EQ(SourceFile::Load("/dev/null", GetParam()).error(),
            "/dev/null: error: not a regular file (a character device)");
  std::string nul = Write("nul.md", std::string("# T\nab\0c\n", 9));
  EXPECT_EQ(SourceFile::Load(nul, GetParam()).error(),
            nul + ":2:3: error: file contains a NUL byte; a runbook must be Markdown text");
  std::string latin1 = Write("latin1.md", "# T\n\ncaf\xe9\n");
  EXPECT_EQ(SourceFile::Load(latin1, GetParam()).error(),
            latin1 + ":3:4: error: invalid UTF-8 (byte 0xe9); save the runbook as UTF-8");
}

INSTANTIATE_TEST_SUITE_P(Holds, SourceFileTest, ::testing::Values(Hold::kMapped, Hold::kCopied));

}  // namespace
}  // namespace stagecraft::runbook
