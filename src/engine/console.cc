#include "engine/console.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "base/text.h"

namespace stagecraft::engine {
namespace {

constexpr std::string_view kGreen = "32";
constexpr std::string_view kRed = "31";
constexpr std::string_view kYellow = "33";
constexpr std::string_view kBold = "1";
constexpr std::string_view kDim = "2";

// A step's output goes to the operator's terminal: a stray escape sequence could clear the
// screen or retitle the window, a NUL or an invalid byte garble the line. Control characters
// (tab excepted) and bytes that are not UTF-8 are shown as \xNN instead.
void AppendPrintable(std::string_view text, std::string& out) {
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out.push_back(c);
  }
}

std::string Printable(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF output
  std::string out;
  out.reserve(line.size());
  while (!line.empty()) {
    std::optional<size_t> bad = FindInvalidUtf8(line);
    AppendPrintable(line.substr(0, bad.value_or(line.size())), out);
    if (!bad) break;
    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(line[*bad]));
    line.remove_prefix(*bad + 1);
  }
  return out;
}

}  // namespace

Console::Console(std::FILE* out, ConsoleOptions options)
    : out_(out),
      options_(options),
      splitter_([this](exec::Stream stream, std::string_view line) {
        if (quiet()) return;
        std::string_view bar = stream == exec::Stream::kStderr ? "  ! " : "  | ";
        fmt::print(out_, "{}{}\n", Paint(kDim, bar), Printable(line));
        std::fflush(out_);
      }),
      output_sink_(splitter_) {}

std::string Console::Paint(std::string_view colour, std::string_view text) const {
  if (!options_.color || colour.empty()) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", colour, text);
}

void Console::Print(std::string_view colour, std::string_view marker, std::string_view text) {
  FlushOutput();
  fmt::print(out_, "{} {}\n", Paint(colour, marker), text);
  std::fflush(out_);
}

void Console::Heading(std::string_view text) {
  if (quiet()) return;
  FlushOutput();
  fmt::print(out_, "\n{}\n", Paint(kBold, text));
  std::fflush(out_);
}

void Console::Info(std::string_view text) {
  if (!quiet()) Print("", "  ", text);
}

void Console::Verbose(std::string_view text) {
  if (options_.verbosity == Verbosity::kVerbose) Print(kDim, "  ", text);
}

void Console::Pass(std::string_view text) {
  if (!quiet()) Print(kGreen, "  ok", text);
}

void Console::Fail(std::string_view text) {
  Print(kRed, "  FAILED", text);
}

void Console::Warn(std::string_view text) {
  Print(kYellow, "  warning:", text);
}

void Console::Detail(std::string_view text) {
  FlushOutput();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    fmt::print(out_, "      {}\n", text.substr(start, end - start));
    start = end + 1;
  }
  std::fflush(out_);
}

void Console::Summary(const std::vector<SummaryRow>& rows, std::string_view verdict, bool ok) {
  FlushOutput();
  size_t step_width = 4;
  for (const auto& row : rows)
    step_width = std::max(step_width, row.step.size());
  step_width = std::min<size_t>(step_width, 48);
  fmt::print(out_, "\n{:<{}}  {:<12} {:>9} {:>9} {:>8}\n", "STEP", step_width, "STATUS", "TIME",
             "BUDGET", "ATTEMPTS");
  for (const auto& row : rows) {
    std::string status = fmt::format("{:<12}", row.status);
    std::string colour(row.bad ? kRed : row.warn ? kYellow : kGreen);
    std::string step = row.step.size() > step_width ? row.step.substr(0, step_width) : row.step;
    fmt::print(out_, "{:<{}}  {} {:>9} {:>9} {:>8}\n", step, step_width, Paint(colour, status),
               row.duration, row.budget, row.attempts ? std::to_string(row.attempts) : "-");
  }
  fmt::print(out_, "\n{}\n", Paint(ok ? kGreen : kRed, verdict));
  std::fflush(out_);
}

}  // namespace stagecraft::engine
