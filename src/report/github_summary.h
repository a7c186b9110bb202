#pragma once

// The GitHub Actions job summary: when $GITHUB_STEP_SUMMARY names a file, the short
// Markdown report (markdown.h, summary form) is appended to it. The engine calls this at
// the end of every run.

#include <string>

#include "base/status.h"
#include "journal/journal.h"

namespace stagecraft::report {

// GitHub refuses summaries over 1 MiB per step; longer ones are cut with a note.
inline constexpr size_t kGithubSummaryLimit = 1000 * 1024;

// Appends the summary of `run_id` to the file named by $GITHUB_STEP_SUMMARY. Does nothing
// (and returns OK) when the variable is unset or empty.
Status AppendGithubSummary(journal::Journal& journal, const std::string& run_id);

// The same, to an explicit path: for tests and callers that read the variable themselves.
Status AppendGithubSummaryTo(journal::Journal& journal, const std::string& run_id,
                             const std::string& path);

}  // namespace stagecraft::report
