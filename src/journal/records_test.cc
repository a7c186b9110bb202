#include "journal/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

namespace stagecraft::journal {
namespace {

using ::testing::MatchesRegex;

TEST(RecordsTest, RunIdIsUtcTimeAndRandomSuffix) {
  // 2026-11-22 15:30:12.345 UTC
  std::string id = NewRunId(1'795'361'412'345);
  EXPECT_THAT(id, MatchesRegex("20261122-153012-[0-9a-f]{6}"));
}

TEST(RecordsTest, RunIdsSortByStartTimeAsText) {
  EXPECT_LT(NewRunId(1'795'361'412'000), NewRunId(1'795'361'413'000));
  EXPECT_LT(NewRunId(1'795'361'412'000), NewRunId(1'795'447'812'000));  // next day
}

TEST(RecordsTest, IdsInTheSameSecondDiffer) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i)
    ids.insert(NewRunId(1'795'361'412'000));
  EXPECT_GT(ids.size(), 95u);  // 24 random bits: a collision in 100 is ~0.03%
  EXPECT_THAT(NewLockId(), MatchesRegex("[0-9a-f]{12}"));
  EXPECT_NE(NewLockId(), NewLockId());
}

TEST(RecordsTest, DumpJsonReplacesInvalidUtf8) {
  EXPECT_EQ(DumpJson(nlohmann::json{{"k", std::string("a\xff")}}), "{\"k\":\"a\xEF\xBF\xBD\"}");
}

TEST(RecordsTest, CurrentIdentityIsThisProcess) {
  ProcessIdentity me = CurrentIdentity();
  EXPECT_EQ(me.pid, getpid());
  EXPECT_FALSE(me.user.empty());
  EXPECT_FALSE(me.host.empty());
}

}  // namespace
}  // namespace stagecraft::journal
