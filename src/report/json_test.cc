#include "report/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/test_util.h"

namespace stagecraft::report {
namespace {

TEST(JsonTest, FailedRunMatchesGolden) {
  testing::RecordedRun run;
  std::string json = RenderJson(run.Load());
  EXPECT_EQ(testing::CompareWithGolden("failed-run.json", json), "");
  // The streamed text is what nlohmann would print for the same document.
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(json);
  EXPECT_EQ(parsed.dump(2) + "\n", json);
}

TEST(JsonTest, NamesItsSchemaAndKeepsMarkupAsText) {
  testing::RecordedRun run;
  nlohmann::json json = nlohmann::json::parse(RenderJson(run.Load()));
  EXPECT_EQ(json["schema"], "stagecraft.report/v1");
  const nlohmann::json& build = json["steps"][1]["items"][0];
  EXPECT_EQ(build["key"], "build-image/1");
  ASSERT_EQ(build["attempts"].size(), 2u);
  EXPECT_EQ(build["attempts"][1]["output"]["excerpt"],
            "Step 1/4 : FROM debian:12\n<script>alert(1)</script>\nTom &amp; Jerry\n"
            "Successfully built 0a1b2c3d\n");
}

TEST(JsonTest, UnreachedStepsHaveNoTimes) {
  testing::RecordedRun run;
  nlohmann::json json = nlohmann::json::parse(RenderJson(run.Load()));
  const nlohmann::json& traffic = json["steps"][5];
  EXPECT_EQ(traffic["key"], "switch-traffic");
  EXPECT_EQ(traffic["mark"], "not_reached");
  EXPECT_TRUE(traffic["started_at"].is_null());
  EXPECT_TRUE(traffic["duration_ms"].is_null());
  EXPECT_EQ(traffic["budget_ms"], 120000);
}

}  // namespace
}  // namespace stagecraft::report
