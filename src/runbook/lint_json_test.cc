#include "runbook/lint_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace stagecraft::runbook {
namespace {

TEST(LintJson, FindingsWithTheirIdsAndCounts) {
  Diagnostics findings = {
      {Severity::kError, {5, 11}, "invalid value 'many' for retries", ""},
      {Severity::kWarning,
       {7, 1},
       "'tail -f x' never ends; a run stops it after its stream window (30s)",
       "bound it",
       "never-ends"},
  };
  std::string text = RenderLintJson("deploy.md", findings, 2);
  nlohmann::json json = nlohmann::json::parse(text);
  // Written the way nlohmann writes it, as the plan is.
  EXPECT_EQ(json.dump(2) + "\n", text);
  EXPECT_EQ(json["schema"], "stagecraft.lint/v1");
  EXPECT_EQ(json["file"], "deploy.md");
  EXPECT_EQ(json["errors"], 1);
  EXPECT_EQ(json["warnings"], 1);
  EXPECT_EQ(json["silenced"], 2);
  ASSERT_EQ(json["findings"].size(), 2u);
  EXPECT_EQ(json["findings"][0],
            nlohmann::json::parse(R"({"column": 11, "file": "deploy.md", "hint": null,
              "id": "format", "line": 5, "message": "invalid value 'many' for retries",
              "severity": "error"})"));
  EXPECT_EQ(json["findings"][1]["id"], "never-ends");
  EXPECT_EQ(json["findings"][1]["hint"], "bound it");
}

TEST(LintJson, NoFindings) {
  EXPECT_EQ(RenderLintJson("ok.md", {}, 0),
            "{\n  \"errors\": 0,\n  \"file\": \"ok.md\",\n  \"findings\": [],\n  \"schema\": "
            "\"stagecraft.lint/v1\",\n  \"silenced\": 0,\n  \"warnings\": 0\n}\n");
}

}  // namespace
}  // namespace stagecraft::runbook
