#pragma once

// The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing
// fetched; a Content-Security-Policy forbids it too), readable on a phone and printable.
// Every piece of journaled text is escaped.
//
// Output: each attempt's output sits in a <details> disclosure (open for failures). A
// 10,000-step run can hold gigabytes of output, so what the page carries is capped: each
// attempt shows at most its last `LoadOptions::output_tail_bytes`, and once
// `max_output_bytes` have been shown in total, further attempts show their last lines
// only, with a pointer to `stagecraft logs`. Failed attempts are served first. In print,
// open disclosures (failures) show their output and closed ones their summary line: a
// page without scripts cannot open them for the printer.

#include <string>

#include "report/report_model.h"

namespace stagecraft::report {

struct HtmlOptions {
  size_t excerpt_lines = 20;
  size_t excerpt_line_bytes = 400;
  size_t max_output_bytes = 32 << 20;
};

std::string RenderHtml(const Report& report, const HtmlOptions& options = {});

}  // namespace stagecraft::report
