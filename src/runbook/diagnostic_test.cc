#include "runbook/diagnostic.h"

#include <gtest/gtest.h>

#include <string>

namespace stagecraft::runbook {
namespace {

TEST(SourceLines, FindsEveryLineAcrossTheIndexStride) {
  std::string source;
  for (int i = 1; i <= 300; ++i)
    source += "line " + std::to_string(i) + (i % 7 == 0 ? "\r\n" : "\n");
  SourceLines lines(source);
  for (int i = 1; i <= 300; ++i)
    EXPECT_EQ(lines.Line(i), "line " + std::to_string(i)) << i;
  EXPECT_EQ(lines.Line(301), "");  // after the last newline
  EXPECT_EQ(lines.Line(302), "");
  EXPECT_EQ(lines.Line(0), "");
}

TEST(SourceLines, LastLineWithoutNewline) {
  SourceLines lines("a\nb");
  EXPECT_EQ(lines.Line(1), "a");
  EXPECT_EQ(lines.Line(2), "b");
  EXPECT_EQ(lines.Line(3), "");
}

}  // namespace
}  // namespace stagecraft::runbook
