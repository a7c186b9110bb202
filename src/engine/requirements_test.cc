#include "engine/requirements.h"

#include <gtest/gtest.h>

#include <utility>

namespace stagecraft::engine {
namespace {

// Banners of real tools and what is read from them.
TEST(ExtractVersion, FirstDottedNumberOfTheBanner) {
  const std::pair<const char*, const char*> banners[] = {
      {"aws-cli/2.15.3 Python/3.11.6 Linux/6.1", "2.15.3"},
      {"Terraform v1.6.2\non linux_amd64", "1.6.2"},                  // a leading v
      {"psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "15.18"},  // stops at the suffix
      {"jq-1.6", "1.6"},                                              // after a hyphened name
      {"git version 2.39.5", "2.39.5"},
      {"curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1", "7.88.1"},  // the first wins
      {"v20.20.2", "20.20.2"},
      {"GNU bash, version 5.2.15(1)-release", "5.2.15"},
      {"tool for x86_64, build 12: 3.4", "3.4"},  // a number without a dot is skipped
      {"version 1.2.", "1.2"},                    // a trailing dot is not part of it
  };
  for (auto [banner, version] : banners)
    EXPECT_EQ(ExtractVersion(banner), version) << banner;
}

TEST(ExtractVersion, NothingVersionLooking) {
  EXPECT_EQ(ExtractVersion("no version here, build 42"), std::nullopt);
  EXPECT_EQ(ExtractVersion(""), std::nullopt);
  EXPECT_EQ(ExtractVersion("1. 2"), std::nullopt);
}

TEST(CompareVersions, MissingComponentsAreZero) {
  EXPECT_EQ(CompareVersions("2.0", "2"), 0);
  EXPECT_EQ(CompareVersions("2", "2.0.0"), 0);
  EXPECT_LT(CompareVersions("2", "2.0.1"), 0);
}

TEST(CompareVersions, ComponentsAreNumeric) {
  EXPECT_GT(CompareVersions("1.10", "1.9"), 0);
  EXPECT_LT(CompareVersions("1.9", "1.10"), 0);
  EXPECT_EQ(CompareVersions("1.01", "1.1"), 0);
}

TEST(CompareVersions, LeadingVIsIgnored) {
  EXPECT_EQ(CompareVersions("v1.6.2", "1.6.2"), 0);
}

TEST(CompareVersions, SuffixIsIgnored) {
  EXPECT_EQ(CompareVersions("1.2.3-rc1", "1.2.3"), 0);
}

TEST(CompareVersions, HugeComponentsDoNotOverflow) {
  EXPECT_GT(CompareVersions("1.123456789012345678901234567890", "1.99999999999999999999"), 0);
}

TEST(SatisfiesRequirement, EachOperator) {
  EXPECT_TRUE(SatisfiesRequirement("2.15.3", ">=", "2.0"));
  EXPECT_TRUE(SatisfiesRequirement("2.0", ">=", "2"));
  EXPECT_FALSE(SatisfiesRequirement("1.9", ">=", "2.0"));
  EXPECT_TRUE(SatisfiesRequirement("2.0.1", ">", "2"));
  EXPECT_FALSE(SatisfiesRequirement("2.0", ">", "2"));
  EXPECT_TRUE(SatisfiesRequirement("1.6", "=", "1.6.0"));
  EXPECT_TRUE(SatisfiesRequirement("1.6", "==", "1.6"));
  EXPECT_FALSE(SatisfiesRequirement("1.6.1", "=", "1.6"));
  EXPECT_TRUE(SatisfiesRequirement("1.9", "<=", "1.10"));
  EXPECT_TRUE(SatisfiesRequirement("1.10", "<=", "1.10"));
  EXPECT_TRUE(SatisfiesRequirement("1.9", "<", "1.10"));
  EXPECT_FALSE(SatisfiesRequirement("1.10", "<", "1.10"));
}

TEST(SatisfiesRequirement, EmptyOperatorOnlyNeedsPresence) {
  EXPECT_TRUE(SatisfiesRequirement("0.1", "", ""));
}

TEST(SatisfiesRequirement, UnknownOperatorIsFalse) {
  EXPECT_FALSE(SatisfiesRequirement("2.0", "~>", "2.0"));
}

}  // namespace
}  // namespace stagecraft::engine
