#pragma once

// What the engine and the CLI call: render one run's report from the journal.
//
//   report::WriteRunReports(journal, run_id, run_dir)   // end of every run
//   report::RenderReport(journal, run_id, Format::kHtml, out)   // `stagecraft report`
//
// Thread-safety: as safe as the journal passed in; nothing here keeps state.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "journal/journal.h"

namespace stagecraft::report {

enum class Format { kMarkdown, kHtml, kJson, kJunit };

// "md", "html", "json", "junit" (also "markdown", "xml").
std::optional<Format> ParseFormat(std::string_view name);
// The file name WriteRunReports uses: "report.md", "report.html", "report.json",
// "report.junit.xml".
std::string_view ReportFileName(Format format);

// Renders one format into `out` (replacing its contents).
Status RenderReport(journal::Journal& journal, const std::string& run_id, Format format,
                    std::string& out);

// Writes report.md, report.html, report.json and report.junit.xml into `dir` (created if
// missing), loading the journal once. Returns the paths written, in that order. Each file
// is written to a temporary name and renamed, so a reader never sees half a report.
Result<std::vector<std::string>> WriteRunReports(journal::Journal& journal,
                                                 const std::string& run_id, const std::string& dir);

}  // namespace stagecraft::report
