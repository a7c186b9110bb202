#include "journal/output_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using ::stagecraft::journal::testing::TempDir;

std::string Read(OutputFileReader& reader, int64_t attempt_id, int64_t offset, int64_t length) {
  std::string out = "stale";
  Status status = reader.Read(attempt_id, offset, length, out);
  EXPECT_TRUE(status.ok()) << status.message();
  return out;
}

// The offset the pieces were appended at, or -1 after a failure.
int64_t AppendOrFail(OutputFileWriter& writer, int64_t attempt_id,
                     const std::vector<std::string_view>& pieces) {
  Result<int64_t> at = writer.Append(attempt_id, pieces);
  EXPECT_TRUE(at.ok()) << at.error();
  return at.ok() ? *at : -1;
}

int64_t Size(const std::string& path) {
  return static_cast<int64_t>(std::filesystem::file_size(path));
}

TEST(OutputFilesTest, AppendsFollowEachOtherAndReadBackByOffset) {
  TempDir dir;
  OutputFileWriter writer(dir.path(), 0, false);
  EXPECT_EQ(AppendOrFail(writer, 7, {"hello ", "", "world\n"}), 0);
  EXPECT_EQ(AppendOrFail(writer, 7, {std::string_view("a\0b", 3)}), 12);
  EXPECT_EQ(AppendOrFail(writer, 8, {"other attempt"}), 0);
  EXPECT_EQ(OutputFilePath(dir.path(), 7), dir.path() + "/output/7.log");
  EXPECT_EQ(Size(OutputFilePath(dir.path(), 7)), 15);

  OutputFileReader reader(dir.path());
  EXPECT_EQ(Read(reader, 7, 6, 6), "world\n");
  EXPECT_EQ(Read(reader, 7, 12, 3), std::string("a\0b", 3));
  EXPECT_EQ(Read(reader, 8, 0, 5), "other");
  EXPECT_EQ(Read(reader, 7, 0, 5), "hello");
  EXPECT_TRUE(writer.Sync().ok());
}

TEST(OutputFilesTest, ALaterWriterAppendsAfterWhatIsThere) {
  TempDir dir;
  {
    OutputFileWriter writer(dir.path(), 0, false);
    EXPECT_EQ(AppendOrFail(writer, 3, {"0123456789"}), 0);
  }
  OutputFileWriter writer(dir.path(), 0, true);
  EXPECT_EQ(AppendOrFail(writer, 3, {"abc"}), 10);
  EXPECT_TRUE(writer.Sync().ok());
  writer.Close(3);
  EXPECT_EQ(AppendOrFail(writer, 3, {"def"}), 13);
}

TEST(OutputFilesTest, RewindGivesBackTheBytesOfAnUncommittedAppend) {
  TempDir dir;
  OutputFileWriter writer(dir.path(), 0, false);
  EXPECT_EQ(AppendOrFail(writer, 1, {"kept"}), 0);
  writer.Rewind(1, AppendOrFail(writer, 1, {"not committed"}));
  EXPECT_EQ(Size(OutputFilePath(dir.path(), 1)), 4);
  EXPECT_EQ(AppendOrFail(writer, 1, {"next"}), 4);
}

TEST(OutputFilesTest, TheCapFailsLikeAFullDiskAndWritesNothing) {
  TempDir dir;
  OutputFileWriter writer(dir.path(), 10, false);
  EXPECT_EQ(AppendOrFail(writer, 1, {"12345"}), 0);
  Result<int64_t> at = writer.Append(1, {"123", "456"});
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.error(), "journal: disk full writing " + OutputFilePath(dir.path(), 1));
  EXPECT_EQ(Size(OutputFilePath(dir.path(), 1)), 5);
  EXPECT_EQ(AppendOrFail(writer, 1, {"12345"}), 5);
}

TEST(OutputFilesTest, WritingWhereTheDirectoryCannotBeIsAnErrorNamingThePath) {
  TempDir dir;
  std::ofstream(dir.File("output")) << "a file where the directory should be";
  OutputFileWriter writer(dir.path(), 0, false);
  Result<int64_t> at = writer.Append(1, {"x"});
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.error(),
            "journal: cannot write " + OutputFilePath(dir.path(), 1) + ": Not a directory");
}

TEST(OutputFilesTest, ReadsClipToWhatAShortOrMissingFileHolds) {
  TempDir dir;
  OutputFileWriter writer(dir.path(), 0, false);
  EXPECT_EQ(AppendOrFail(writer, 1, {"0123456789"}), 0);
  OutputFileReader reader(dir.path());
  EXPECT_EQ(Read(reader, 1, 8, 100), "89");
  EXPECT_EQ(Read(reader, 1, 10, 5), "");
  EXPECT_EQ(Read(reader, 1, 50, 5), "");
  EXPECT_EQ(Read(reader, 1, -1, 5), "");
  // A damaged length must not make the reader allocate it.
  EXPECT_EQ(Read(reader, 1, 0, int64_t{1} << 60), "0123456789");
  EXPECT_EQ(Read(reader, 2, 0, 5), "");  // no such file
  // Bytes appended while the reader holds the file open are seen.
  EXPECT_EQ(AppendOrFail(writer, 1, {"abc"}), 10);
  EXPECT_EQ(Read(reader, 1, 10, 3), "abc");
}

TEST(OutputFilesTest, AFileThatCannotBeReadIsAnErrorNamingThePath) {
  TempDir dir;
  std::filesystem::create_directories(OutputFilePath(dir.path(), 3));  // not a file
  OutputFileReader reader(dir.path());
  std::string out = "stale";
  Status status = reader.Read(3, 0, 10, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "journal: cannot read " + OutputFilePath(dir.path(), 3) + ": Is a directory");
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace stagecraft::journal
