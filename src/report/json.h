#pragma once

// The JSON report for tools: schema "stagecraft.report/v1", documented in
// docs/report-schema.md. Output is shown as excerpts (the last lines of each attempt);
// `stagecraft logs` has the full output.
//
// Written as a stream rather than built as a document: a 10,000-step run would otherwise
// allocate a node per field and spend most of its time in the allocator. The text is
// pretty-printed with two spaces, as nlohmann::json::dump(2) would print it.

#include <string>

#include "report/report_model.h"

namespace stagecraft::report {

inline constexpr const char* kReportSchema = "stagecraft.report/v1";

struct JsonOptions {
  size_t excerpt_lines = 20;
  size_t excerpt_line_bytes = 400;
};

// The document followed by a newline.
std::string RenderJson(const Report& report, const JsonOptions& options = {});

}  // namespace stagecraft::report
