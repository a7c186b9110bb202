#include "report/github_summary.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "report/markdown.h"
#include "report/report_model.h"

namespace stagecraft::report {
namespace {

// The fence (with its indentation) of a code block still open at the end of `markdown`,
// or "" when none is. The renderer writes fences as an indent, backticks and an info
// string, and closes them with the same indent and backticks.
std::string OpenFence(const std::string& markdown) {
  std::string open;
  size_t start = 0;
  while (start < markdown.size()) {
    size_t end = markdown.find('\n', start);
    if (end == std::string::npos) end = markdown.size();
    std::string_view line(markdown.data() + start, end - start);
    size_t indent = line.find_first_not_of(' ');
    if (indent != std::string_view::npos && line.substr(indent, 3) == "```") {
      size_t ticks = line.find_first_not_of('`', indent);
      std::string fence(line.substr(0, ticks == std::string_view::npos ? line.size() : ticks));
      if (open.empty())
        open = fence;
      else if (fence == open && ticks == std::string_view::npos)
        open.clear();
    }
    start = end + 1;
  }
  return open;
}

}  // namespace

Status AppendGithubSummary(journal::Journal& journal, const std::string& run_id) {
  const char* path = std::getenv("GITHUB_STEP_SUMMARY");
  if (!path || !*path) return Status::Ok();
  return AppendGithubSummaryTo(journal, run_id, path);
}

Status AppendGithubSummaryTo(journal::Journal& journal, const std::string& run_id,
                             const std::string& path) {
  LoadOptions load;
  load.output_tail_bytes = 8 * 1024;  // the last 20 lines
  load.output_tail_lines = 20;
  Result<Report> report = LoadReport(journal, run_id, load);
  if (!report.ok()) return report.status();
  MarkdownOptions options;
  options.summary = true;
  std::string markdown = RenderMarkdown(*report, options);
  if (markdown.size() > kGithubSummaryLimit) {
    // Cut at a line so no table row or fence is left half-written, then close any fence
    // left open by the cut.
    std::string note = fmt::format(
        "\n\n_Summary cut at {} KiB; the full report is report.md in the run directory._\n",
        kGithubSummaryLimit / 1024);
    size_t cut = markdown.rfind('\n', kGithubSummaryLimit - note.size() - 1024);
    markdown.resize(cut == std::string::npos ? 0 : cut);
    std::string open = OpenFence(markdown);
    if (!open.empty()) markdown += "\n" + open;
    markdown += note;
  }
  FILE* file = std::fopen(path.c_str(), "ab");
  if (!file)
    return Status::Error(fmt::format("report: cannot append to $GITHUB_STEP_SUMMARY ({}): {}", path,
                                     std::strerror(errno)));
  bool ok = std::fwrite(markdown.data(), 1, markdown.size(), file) == markdown.size();
  int saved = errno;
  ok = std::fclose(file) == 0 && ok;
  if (!ok)
    return Status::Error(fmt::format("report: cannot append to $GITHUB_STEP_SUMMARY ({}): {}", path,
                                     std::strerror(saved)));
  return Status::Ok();
}

}  // namespace stagecraft::report
