#pragma once

// The JSON report for tools: schema "stagecraft.report/v1", documented in
// docs/report-schema.md. Output is shown as excerpts (the last lines of each attempt);
// `stagecraft logs` has the full output.

#include <nlohmann/json.hpp>

#include "report/report_model.h"

namespace stagecraft::report {

inline constexpr const char* kReportSchema = "stagecraft.report/v1";

struct JsonOptions {
  size_t excerpt_lines = 20;
  size_t excerpt_line_bytes = 400;
};

nlohmann::ordered_json RenderJson(const Report& report, const JsonOptions& options = {});

}  // namespace stagecraft::report
