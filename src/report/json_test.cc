#include "report/json.h"

#include <gtest/gtest.h>

#include "report/test_util.h"

namespace stagecraft::report {
namespace {

TEST(JsonTest, FailedRunMatchesGolden) {
  testing::RecordedRun run;
  std::string json = RenderJson(run.Load()).dump(2) + "\n";
  EXPECT_EQ(testing::CompareWithGolden("failed-run.json", json), "");
}

TEST(JsonTest, NamesItsSchemaAndKeepsMarkupAsText) {
  testing::RecordedRun run;
  nlohmann::ordered_json json = RenderJson(run.Load());
  EXPECT_EQ(json["schema"], "stagecraft.report/v1");
  const nlohmann::ordered_json& build = json["steps"][1]["items"][0];
  EXPECT_EQ(build["key"], "build-image/1");
  ASSERT_EQ(build["attempts"].size(), 2u);
  EXPECT_EQ(build["attempts"][1]["output"]["excerpt"],
            "Step 1/4 : FROM debian:12\n<script>alert(1)</script>\nTom &amp; Jerry\n"
            "Successfully built 0a1b2c3d\n");
}

TEST(JsonTest, UnreachedStepsHaveNoTimes) {
  testing::RecordedRun run;
  nlohmann::ordered_json json = RenderJson(run.Load());
  const nlohmann::ordered_json& traffic = json["steps"][5];
  EXPECT_EQ(traffic["key"], "switch-traffic");
  EXPECT_EQ(traffic["mark"], "not_reached");
  EXPECT_TRUE(traffic["started_at"].is_null());
  EXPECT_TRUE(traffic["duration_ms"].is_null());
  EXPECT_EQ(traffic["budget_ms"], 120000);
}

}  // namespace
}  // namespace stagecraft::report
