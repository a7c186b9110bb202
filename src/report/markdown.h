#pragma once

// The Markdown report: the runbook's structure with evidence, for reading on a forge, in
// a terminal, or as the GitHub step summary.

#include <string>

#include "report/report_model.h"

namespace stagecraft::report {

struct MarkdownOptions {
  size_t excerpt_lines = 20;        // output lines shown per attempt
  size_t excerpt_line_bytes = 400;  // longer lines are cut with "…"
  // The short form for $GITHUB_STEP_SUMMARY: header, step table, failures with their
  // output, rollback and sign-off; no per-item detail of what passed.
  bool summary = false;
};

std::string RenderMarkdown(const Report& report, const MarkdownOptions& options = {});

}  // namespace stagecraft::report
