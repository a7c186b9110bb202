#include "engine/capture.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace stagecraft::engine {
namespace {

std::string Capture(std::string_view output, std::optional<std::string> regex = std::nullopt) {
  Result<std::string> value = ExtractCapture(output, regex);
  EXPECT_TRUE(value.ok()) << value.error();
  return value.ok() ? *value : "";
}

TEST(ExtractCapture, WithoutRegexStdoutIsTrimmed) {
  EXPECT_EQ(Capture("  arn:aws:lambda:us-east-1:123:layer:x:7\n"),
            "arn:aws:lambda:us-east-1:123:layer:x:7");
  EXPECT_EQ(Capture("line one\nline two\n\n"), "line one\nline two");
  EXPECT_EQ(Capture(""), "");
}

TEST(ExtractCapture, CaptureFirstGroup) {
  EXPECT_EQ(Capture("Publishing...\nLayerVersionArn: arn:aws:lambda:layer:7\n",
                    R"(LayerVersionArn: (\S+))"),
            "arn:aws:lambda:layer:7");
}

TEST(ExtractCapture, CaptureWholeMatchWithoutGroup) {
  EXPECT_EQ(Capture("created vpc-0abc123 in us-east-1\n", R"(vpc-[0-9a-f]+)"), "vpc-0abc123");
}

TEST(ExtractCapture, FirstMatchWins) {
  EXPECT_EQ(Capture("id=1\nid=2\n", R"(id=(\d))"), "1");
}

TEST(ExtractCapture, RegexIsMultiline) {
  EXPECT_EQ(Capture("header\nversion 7\nfooter\n", R"(^version (\d+)$)"), "7");
}

TEST(ExtractCapture, UnsetGroupGivesEmptyValue) {
  EXPECT_EQ(Capture("42\n", R"((v)?\d+)"), "");
}

TEST(ExtractCapture, CaptureNoMatchMessage) {
  Result<std::string> value = ExtractCapture("nothing here\n", std::string(R"(arn:(\S+))"));
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error(), R"(capture regex /arn:(\S+)/ did not match the output)");
}

TEST(ExtractCapture, InvalidRegexMessage) {
  Result<std::string> value = ExtractCapture("x", std::string("(x"));
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error(),
            "capture regex /(x/ is invalid: missing closing parenthesis at offset 2");
}

TEST(ExtractCapture, InvalidUtf8OutputIsTolerated) {
  EXPECT_EQ(Capture("\xFF\xFE id=9\n", R"(id=(\d))"), "9");
}

TEST(CaptureBuffer, CollectsStdoutOnly) {
  CaptureBuffer buffer;
  buffer.OnOutput(Stream::kStdout, "arn:");
  buffer.OnOutput(Stream::kStderr, "warning: deprecated\n");
  buffer.OnOutput(Stream::kStdout, "x\n");
  EXPECT_EQ(buffer.text(), "arn:x\n");
  EXPECT_FALSE(buffer.overflowed());
  Result<std::string> value = buffer.Extract(std::nullopt);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "arn:x");
}

TEST(CaptureBuffer, OutputOfExactlyTheLimitFits) {
  CaptureBuffer buffer(4);
  buffer.OnOutput(Stream::kStdout, "ab");
  buffer.OnOutput(Stream::kStdout, "cd");
  EXPECT_FALSE(buffer.overflowed());
  EXPECT_EQ(buffer.text(), "abcd");
}

TEST(CaptureBuffer, CaptureBufferOverflow) {
  CaptureBuffer buffer(4);
  buffer.OnOutput(Stream::kStdout, "abc");
  buffer.OnOutput(Stream::kStdout, "de");
  buffer.OnOutput(Stream::kStdout, "fgh");
  EXPECT_TRUE(buffer.overflowed());
  EXPECT_EQ(buffer.text(), "abcd");
  Result<std::string> value = buffer.Extract(std::string("(a)"));
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error(), "output too large to capture (over 4 bytes)");
}

TEST(CaptureBuffer, DefaultLimitIsSixteenMebibytes) {
  CaptureBuffer buffer;
  std::string chunk(1024 * 1024, 'x');
  for (int i = 0; i < 16; ++i)
    buffer.OnOutput(Stream::kStdout, chunk);
  EXPECT_FALSE(buffer.overflowed());
  buffer.OnOutput(Stream::kStdout, "!");
  EXPECT_TRUE(buffer.overflowed());
  EXPECT_EQ(buffer.text().size(), CaptureBuffer::kDefaultLimit);
  EXPECT_EQ(buffer.OverflowMessage(), "output too large to capture (over 16 MiB)");
}

}  // namespace
}  // namespace stagecraft::engine
