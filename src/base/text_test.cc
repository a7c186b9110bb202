#include "base/text.h"

#include <gtest/gtest.h>

namespace stagecraft {
namespace {

TEST(Slugify, DropsPunctuationAndEmoji) {
  EXPECT_EQ(Slugify("Step 2: Lambda Layer Deployment"), "step-2-lambda-layer-deployment");
  EXPECT_EQ(Slugify("\xF0\x9F\x94\x84 ROLLBACK PROCEDURE"), "rollback-procedure");
  EXPECT_EQ(Slugify("  "), "");
}

TEST(FindInvalidUtf8, AcceptsMultibyteText) {
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE2\x9C\x85 \xF0\x9F\x9A\x80"), std::nullopt);
}

TEST(FindInvalidUtf8, PointsAtTheBadByte) {
  EXPECT_EQ(FindInvalidUtf8("ok\xFFrest"), 2u);
  EXPECT_EQ(FindInvalidUtf8("ab\xC3"), 2u);        // truncated sequence at end
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0u);      // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);  // UTF-16 surrogate
}

TEST(LocateOffset, CountsLinesAndColumnsFromOne) {
  auto where = LocateOffset("ab\ncd\nef", 7);
  EXPECT_EQ(where.line, 3);
  EXPECT_EQ(where.column, 2);
}

TEST(ClosestMatch, FindsTyposButNotUnrelatedWords) {
  std::vector<std::string> keys = {"timeout", "retries", "capture"};
  EXPECT_EQ(ClosestMatch("timout", keys), "timeout");
  EXPECT_EQ(ClosestMatch("retry", keys), "retries");
  EXPECT_EQ(ClosestMatch("colour", keys), std::nullopt);
}

TEST(SplitLines, TrailingNewlineAddsNoEmptyLine) {
  auto lines = SplitLines("a\n\nb\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "");
}

TEST(LineReader, GivesTheLinesSplitLinesGives) {
  for (std::string_view text : {"", "\n", "a", "a\n", "a\n\nb\n", "\n\nlast", "x\r\ny"}) {
    std::vector<std::string_view> read;
    LineReader reader(text);
    for (std::string_view line; reader.Next(line);)
      read.push_back(line);
    EXPECT_EQ(read, SplitLines(text)) << "text: " << text;
  }
}

TEST(TextCase, LowerAndTrimAreAsciiOnly) {
  EXPECT_EQ(ToLower("MiXed ÄÖ 123"), "mixed ÄÖ 123");
  EXPECT_EQ(TrimView("\t\v\f\r\n word \n"), "word");
  // A non-breaking space (UTF-8 C2 A0) is text, not space.
  EXPECT_EQ(TrimView("\xc2\xa0word\xc2\xa0"), "\xc2\xa0word\xc2\xa0");
  EXPECT_EQ(Slugify("Deploy Ünïcode v2.1"), "deploy-n-code-v2-1");
}

TEST(IsShellIdentifier, Rules) {
  EXPECT_TRUE(IsShellIdentifier("LAYER_ARN"));
  EXPECT_TRUE(IsShellIdentifier("_x1"));
  EXPECT_FALSE(IsShellIdentifier("1X"));
  EXPECT_FALSE(IsShellIdentifier("LAYER-ARN"));
  EXPECT_FALSE(IsShellIdentifier(""));
}

TEST(DecodeUtf8, DecodesEachLengthAndRefusesMalformedBytes) {
  EXPECT_EQ(DecodeUtf8("a", 0)->code, 0x61u);
  EXPECT_EQ(DecodeUtf8("\xC3\xA9", 0)->code, 0xE9u);
  EXPECT_EQ(DecodeUtf8("\xE2\x82\xAC", 0)->length, 3u);
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x9A\x80", 0)->code, 0x1F680u);
  EXPECT_FALSE(DecodeUtf8("\x80", 0));              // stray continuation byte
  EXPECT_FALSE(DecodeUtf8("\xE2\x82", 0));          // truncated
  EXPECT_FALSE(DecodeUtf8("\xC0\xAF", 0));          // overlong '/'
  EXPECT_FALSE(DecodeUtf8("\xED\xA0\x80", 0));      // surrogate
  EXPECT_FALSE(DecodeUtf8("\xF4\x90\x80\x80", 0));  // past U+10FFFF
  EXPECT_FALSE(DecodeUtf8("", 0));
}

TEST(TerminalSafe, ShowsControlsAndInvalidBytesAsHex) {
  EXPECT_EQ(TerminalSafe("plain text, caf\xC3\xA9 \xF0\x9F\x9A\x80\tand\nlines"),
            "plain text, caf\xC3\xA9 \xF0\x9F\x9A\x80\tand\nlines");
  EXPECT_EQ(TerminalSafe("\x1b]0;title\x07\x1b[2J"), "\\x1b]0;title\\x07\\x1b[2J");
  EXPECT_EQ(TerminalSafe(std::string("a\0b\rc\x7f", 6)), "a\\x00b\\x0dc\\x7f");
  EXPECT_EQ(TerminalSafe("csi \xC2\x9B 2J"), "csi \\xc2\\x9b 2J");  // C1 control U+009B
  EXPECT_EQ(TerminalSafe("bad \xff\xC3"), "bad \\xff\\xc3");
}

TEST(TerminalSafe, SaysWhenTextNeedsNoEscaping) {
  EXPECT_FALSE(NeedsTerminalEscaping("Deploy \xE2\x80\x94 staging\n\tok"));
  EXPECT_TRUE(NeedsTerminalEscaping("x\x1b"));
  EXPECT_TRUE(NeedsTerminalEscaping("\xC2\x85"));
  EXPECT_TRUE(NeedsTerminalEscaping("\xE2\x82"));
}

}  // namespace
}  // namespace stagecraft
