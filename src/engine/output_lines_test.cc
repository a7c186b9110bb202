#include "engine/output_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace stagecraft::engine {
namespace {

// Records every line with the stream it came from ("out:" / "err:" prefix).
struct Recorder {
  std::vector<std::string> lines;
  LineSplitter::Callback callback() {
    return [this](Stream stream, std::string_view line) {
      lines.push_back((stream == Stream::kStdout ? "out:" : "err:") + std::string(line));
    };
  }
};

using Lines = std::vector<std::string>;

TEST(LineSplitter, CompleteLinesArePassedAsTheyArrive) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "one\ntwo\nthr");
  EXPECT_EQ(r.lines, (Lines{"out:one", "out:two"}));
  EXPECT_EQ(splitter.buffered(Stream::kStdout), 3u);
}

TEST(LineSplitter, LineSplitterJoinsChunks) {
  Recorder r;
  LineSplitter splitter(r.callback());
  for (std::string_view chunk : {"Succ", "ess! ", "The config", "uration is valid.", "\n"})
    splitter.OnOutput(Stream::kStdout, chunk);
  EXPECT_EQ(r.lines, (Lines{"out:Success! The configuration is valid."}));
}

TEST(LineSplitter, StreamsAreSplitSeparately) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "hel");
  splitter.OnOutput(Stream::kStderr, "warn");
  splitter.OnOutput(Stream::kStdout, "lo\n");
  splitter.OnOutput(Stream::kStderr, "ing\n");
  EXPECT_EQ(r.lines, (Lines{"out:hello", "err:warning"}));
}

TEST(LineSplitter, CrlfLineEndingsAreRemoved) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "dos\r\nsplit\r");
  splitter.OnOutput(Stream::kStdout, "\nunix\n");
  EXPECT_EQ(r.lines, (Lines{"out:dos", "out:split", "out:unix"}));
}

TEST(LineSplitter, CarriageReturnInsideALineIsKept) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "10%\r50%\r100%\n");
  EXPECT_EQ(r.lines, (Lines{"out:10%\r50%\r100%"}));
}

TEST(LineSplitter, EmptyLinesArePassed) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "\n\r\na\n");
  EXPECT_EQ(r.lines, (Lines{"out:", "out:", "out:a"}));
}

TEST(LineSplitter, FlushPassesUnterminatedLastLines) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStderr, "no newline");
  splitter.OnOutput(Stream::kStdout, "done\npartial");
  splitter.Flush();
  EXPECT_EQ(r.lines, (Lines{"out:done", "out:partial", "err:no newline"}));
  EXPECT_EQ(splitter.buffered(Stream::kStdout), 0u);
}

TEST(LineSplitter, FlushAfterNewlineAddsNothing) {
  Recorder r;
  LineSplitter splitter(r.callback());
  splitter.OnOutput(Stream::kStdout, "done\n");
  splitter.Flush();
  EXPECT_EQ(r.lines, (Lines{"out:done"}));
}

TEST(LineSplitter, LineOfExactlyTheLimitIsOneLine) {
  Recorder r;
  LineSplitter splitter(r.callback());
  std::string line(LineSplitter::kMaxLineBytes, 'x');
  splitter.OnOutput(Stream::kStdout, line);
  splitter.OnOutput(Stream::kStdout, "\r\n");
  splitter.OnOutput(Stream::kStdout, line + "\n");
  splitter.OnOutput(Stream::kStdout, line + "\r\n");
  ASSERT_EQ(r.lines.size(), 3u);
  for (const std::string& got : r.lines)
    EXPECT_EQ(got, "out:" + line);
}

TEST(LineSplitter, LongLineIsPassedInPieces) {
  Recorder r;
  LineSplitter splitter(r.callback());
  constexpr size_t kMax = LineSplitter::kMaxLineBytes;
  std::string line = std::string(kMax, 'a') + std::string(kMax, 'b') + "cc";
  // Byte by byte for the first part exercises the buffered path, then the rest in one go.
  for (size_t i = 0; i < 10; ++i)
    splitter.OnOutput(Stream::kStdout, std::string_view(line).substr(i, 1));
  splitter.OnOutput(Stream::kStdout, std::string_view(line).substr(10));
  splitter.OnOutput(Stream::kStdout, "\r\n");
  EXPECT_EQ(r.lines,
            (Lines{"out:" + std::string(kMax, 'a'), "out:" + std::string(kMax, 'b'), "out:cc"}));
}

TEST(LineSplitter, CrlfAfterAFullPieceAddsNoEmptyLine) {
  Recorder r;
  LineSplitter splitter(r.callback());
  constexpr size_t kMax = LineSplitter::kMaxLineBytes;
  std::string line(2 * kMax, 'z');
  splitter.OnOutput(Stream::kStdout, line + "\r");
  splitter.OnOutput(Stream::kStdout, "\nnext\n");
  EXPECT_EQ(r.lines,
            (Lines{"out:" + std::string(kMax, 'z'), "out:" + std::string(kMax, 'z'), "out:next"}));
}

TEST(LineSplitter, VeryLongLineIsBounded) {
  size_t pieces = 0;
  size_t bytes = 0;
  LineSplitter splitter([&](Stream, std::string_view line) {
    ++pieces;
    bytes += line.size();
    EXPECT_LE(line.size(), LineSplitter::kMaxLineBytes);
  });
  // 1 GiB without a newline, in chunks that do not line up with the piece size.
  std::string chunk(1024 * 1024 + 7, 'y');
  size_t total = 0;
  while (total < 1024u * 1024 * 1024) {
    splitter.OnOutput(Stream::kStdout, chunk);
    total += chunk.size();
    ASSERT_LE(splitter.buffered(Stream::kStdout), LineSplitter::kMaxLineBytes);
  }
  splitter.Flush();
  EXPECT_EQ(bytes, total);
  EXPECT_EQ(pieces, (total + LineSplitter::kMaxLineBytes - 1) / LineSplitter::kMaxLineBytes);
}

TEST(TailBuffer, KeepsTheLastLinesInOrder) {
  TailBuffer tail(3);
  for (std::string_view line : {"1", "2", "3", "4", "5"})
    tail.Add(line);
  EXPECT_EQ(tail.Lines(), (Lines{"3", "4", "5"}));
  EXPECT_EQ(tail.Text(), "3\n4\n5\n");
  EXPECT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail.total_lines(), 5u);
}

TEST(TailBuffer, FewerLinesThanCapacity) {
  TailBuffer tail;
  tail.Add("only");
  EXPECT_EQ(tail.Lines(), (Lines{"only"}));
  EXPECT_EQ(tail.Text(), "only\n");
}

TEST(TailBuffer, EmptyTailHasNoText) {
  TailBuffer tail;
  EXPECT_TRUE(tail.empty());
  EXPECT_EQ(tail.Text(), "");
  EXPECT_TRUE(tail.Lines().empty());
}

TEST(TailBuffer, DefaultKeepsFiftyLines) {
  TailBuffer tail;
  for (int i = 1; i <= 120; ++i)
    tail.Add(std::to_string(i));
  Lines lines = tail.Lines();
  ASSERT_EQ(lines.size(), 50u);
  EXPECT_EQ(lines.front(), "71");
  EXPECT_EQ(lines.back(), "120");
}

TEST(TailBuffer, LongLinesAreShortenedAtACharacterBoundary) {
  TailBuffer tail(2, 5);
  tail.Add("abcd\xC3\xA9xyz");  // "abcdé..." : the cut at 5 would split the é
  tail.Add("short");
  EXPECT_EQ(tail.Lines(), (Lines{"abcd […]", "short"}));
}

TEST(TailBuffer, ZeroLinesKeepsNothing) {
  TailBuffer tail(0);
  tail.Add("x");
  EXPECT_TRUE(tail.empty());
  EXPECT_EQ(tail.total_lines(), 1u);
}

TEST(Utf8Prefix, CutsBeforeASplitCharacter) {
  EXPECT_EQ(Utf8Prefix("h\xE2\x9C\x93!", 2), "h");
  EXPECT_EQ(Utf8Prefix("h\xE2\x9C\x93!", 4), "h\xE2\x9C\x93");
  EXPECT_EQ(Utf8Prefix("short", 10), "short");
  // Not UTF-8 at all: cut where asked rather than eat the whole text.
  EXPECT_EQ(Utf8Prefix("\x80\x80\x80\x80\x80\x80", 5), "\x80\x80\x80\x80\x80");
}

}  // namespace
}  // namespace stagecraft::engine
