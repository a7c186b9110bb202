#include "base/duration.h"

#include <gtest/gtest.h>

namespace stagecraft {
namespace {

TEST(ParseDuration, CompactForms) {
  EXPECT_EQ(ParseDuration("30s").value(), Millis(30'000));
  EXPECT_EQ(ParseDuration("5m").value(), Millis(300'000));
  EXPECT_EQ(ParseDuration("1h30m").value(), Millis(5'400'000));
  EXPECT_EQ(ParseDuration("250ms").value(), Millis(250));
  EXPECT_EQ(ParseDuration("1.5s").value(), Millis(1500));
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(ParseDuration("10").value(), Millis(10'000));
}

TEST(ParseDuration, UnknownUnitIsRejectedWithExample) {
  auto result = ParseDuration("5 parsecs");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "invalid duration '5 parsecs' (expected a number with a unit, e.g. 30s, 5m, 1h30m)");
}

TEST(ParseDuration, EmptyAndTrailingBareNumberAreRejected) {
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("1h30").ok());
  EXPECT_FALSE(ParseDuration("m").ok());
}

TEST(FindHeadingBudget, UpperBoundOfRangeIsTheBudget) {
  EXPECT_EQ(FindHeadingBudget("Step 2: Lambda Layer (2-3 minutes)"), Millis(180'000));
  EXPECT_EQ(FindHeadingBudget("Phase 1 (45 minutes)"), Millis(2'700'000));
  EXPECT_EQ(FindHeadingBudget("Window (1 hour)"), Millis(3'600'000));
  EXPECT_EQ(FindHeadingBudget("Window (1-2 hours)"), Millis(7'200'000));
  EXPECT_EQ(FindHeadingBudget("Quick (30 seconds)"), Millis(30'000));
}

TEST(FindHeadingBudget, ParenthesesWithoutUnitAreNotBudgets) {
  EXPECT_EQ(FindHeadingBudget("Step 3 (optional)"), std::nullopt);
  EXPECT_EQ(FindHeadingBudget("Deploy (v2)"), std::nullopt);
  EXPECT_EQ(FindHeadingBudget("Deploy (2 tables)"), std::nullopt);
}

TEST(FindHeadingBudget, ReportsWhereTheBudgetBegins) {
  size_t begin = 0;
  ASSERT_TRUE(FindHeadingBudget("Deploy (API) (5 minutes)", &begin));
  EXPECT_EQ(begin, 13u);
}

TEST(FormatDuration, ShortForms) {
  EXPECT_EQ(FormatDuration(Millis(250)), "250ms");
  EXPECT_EQ(FormatDuration(Millis(45'000)), "45s");
  EXPECT_EQ(FormatDuration(Millis(180'000)), "3m");
  EXPECT_EQ(FormatDuration(Millis(185'000)), "3m05s");
  EXPECT_EQ(FormatDuration(Millis(3'900'000)), "1h05m");
}

}  // namespace
}  // namespace stagecraft
