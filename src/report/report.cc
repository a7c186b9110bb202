#include "report/report.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/file_modes.h"
#include "report/html.h"
#include "report/json.h"
#include "report/junit.h"
#include "report/markdown.h"
#include "report/report_model.h"

namespace stagecraft::report {
namespace {

std::string Render(const Report& report, Format format) {
  switch (format) {
    case Format::kMarkdown:
      return RenderMarkdown(report);
    case Format::kHtml:
      return RenderHtml(report);
    case Format::kJson:
      return RenderJson(report);
    case Format::kJunit:
      return RenderJunit(report);
  }
  return "";
}

// Output kept per attempt: only the HTML shows more than the last lines.
LoadOptions LoadOptionsFor(std::optional<Format> format) {
  LoadOptions options;
  // The other formats show the last 20 lines of at most 400 bytes each.
  if (format && *format != Format::kHtml) {
    options.output_tail_bytes = 8 * 1024;
    options.output_tail_lines = 40;  // JUnit shows 40, the others 20
  }
  return options;
}

Status WriteFileAtomically(const std::string& path, const std::string& contents, mode_t mode) {
  std::string temporary = path + ".tmp";
  std::remove(temporary.c_str());  // a crash's leftover would keep its own mode
  int fd = OpenWithMode(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  FILE* file = fd >= 0 ? fdopen(fd, "wb") : nullptr;
  if (fd >= 0 && !file) close(fd);
  if (!file)
    return Status::Error(
        fmt::format("report: cannot write {}: {}", temporary, std::strerror(errno)));
  bool ok = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  int saved = errno;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::remove(temporary.c_str());
    return Status::Error(fmt::format("report: cannot write {}: {}", path, std::strerror(saved)));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    saved = errno;
    std::remove(temporary.c_str());
    return Status::Error(fmt::format("report: cannot write {}: {}", path, std::strerror(saved)));
  }
  return Status::Ok();
}

}  // namespace

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "html") return Format::kHtml;
  if (name == "json") return Format::kJson;
  if (name == "junit" || name == "xml") return Format::kJunit;
  return std::nullopt;
}

std::string_view ReportFileName(Format format) {
  switch (format) {
    case Format::kMarkdown:
      return "report.md";
    case Format::kHtml:
      return "report.html";
    case Format::kJson:
      return "report.json";
    case Format::kJunit:
      return "report.junit.xml";
  }
  return "report";
}

Status RenderReport(journal::Journal& journal, const std::string& run_id, Format format,
                    std::string& out) {
  Result<Report> report = LoadReport(journal, run_id, LoadOptionsFor(format));
  if (!report.ok()) return report.status();
  out = Render(*report, format);
  return Status::Ok();
}

Result<std::vector<std::string>> WriteRunReports(journal::Journal& journal,
                                                 const std::string& run_id,
                                                 const std::string& dir) {
  Result<Report> report = LoadReport(journal, run_id, LoadOptionsFor(std::nullopt));
  if (!report.ok()) return report.status();
  // Reports go under the state directory, with the modes it gives (base/file_modes.h).
  if (Status created = CreateDirectoriesBeneath(dir); !created.ok())
    return Status::Error("report: " + created.message());
  mode_t mode = ModesBeneath(dir).file;
  std::vector<std::string> paths;
  for (Format format : {Format::kMarkdown, Format::kHtml, Format::kJson, Format::kJunit}) {
    std::string path = (std::filesystem::path(dir) / ReportFileName(format)).string();
    Status written = WriteFileAtomically(path, Render(*report, format), mode);
    if (!written.ok()) return written;
    paths.push_back(std::move(path));
  }
  return paths;
}

}  // namespace stagecraft::report
