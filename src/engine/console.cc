#include "engine/console.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "base/duration.h"
#include "base/text.h"

namespace stagecraft::engine {
namespace {

constexpr std::string_view kGreen = "32";
constexpr std::string_view kRed = "31";
constexpr std::string_view kYellow = "33";
constexpr std::string_view kBold = "1";
constexpr std::string_view kDim = "2";

// A step's output goes to the operator's terminal; see TerminalSafe.
std::string Printable(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF output
  return TerminalSafe(line);
}

}  // namespace

Console::Console(std::FILE* out, ConsoleOptions options)
    : out_(out),
      options_(options),
      splitter_([this](Stream stream, std::string_view line) {
        if (quiet()) return;
        std::string_view bar = stream == Stream::kStderr ? "  ! " : "  | ";
        Write(fmt::format("{}{}\n", Paint(kDim, bar), Printable(line)));
      }),
      output_sink_(splitter_) {
  if (options_.live_status && options_.tick.count() > 0) ticker_ = std::thread([this] { Tick(); });
}

Console::~Console() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  ClearStatus();
}

void Console::Tick() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.tick);
    if (!stopping_ && status_) DrawStatusLocked();
  }
}

void Console::Write(std::string_view lines) {
  std::lock_guard<std::mutex> lock(mu_);
  // "\r\x1b[K" returns to the start of the status line and erases it; the text takes its
  // place and the status line is drawn again underneath.
  if (status_drawn_) fmt::print(out_, "\r\x1b[K");
  status_drawn_ = false;
  std::fwrite(lines.data(), 1, lines.size(), out_);
  if (status_) DrawStatusLocked();
  std::fflush(out_);
}

std::string Console::RenderStatusLocked() const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto elapsed = duration_cast<milliseconds>(std::chrono::steady_clock::now() - status_start_);
  // Whole seconds: the line is redrawn once a second.
  elapsed = duration_cast<std::chrono::seconds>(elapsed);
  std::string time = FormatDuration(elapsed);
  if (status_->budget) time += " / " + FormatDuration(*status_->budget);
  std::string text = fmt::format("> [{}/{}] {}{}  {}", status_->number, status_->total,
                                 status_->phase.empty() ? "" : Printable(status_->phase) + " > ",
                                 Printable(status_->step), time);
  if (status_->attempt > 1) text += fmt::format("  attempt {}", status_->attempt);
  size_t width = options_.width > 1 ? static_cast<size_t>(options_.width - 1) : 79;
  if (text.size() > width) text = text.substr(0, width);
  bool over = status_->budget && elapsed > *status_->budget;
  return Paint(over ? kYellow : kBold, text);
}

void Console::DrawStatusLocked() {
  fmt::print(out_, "\r\x1b[K{}", RenderStatusLocked());
  status_drawn_ = true;
  std::fflush(out_);
}

void Console::SetStatus(StatusLine status) {
  if (!options_.live_status) return;
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(status);
  status_start_ = std::chrono::steady_clock::now();
  DrawStatusLocked();
}

void Console::SetAttempt(int attempt) {
  if (!options_.live_status) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!status_) return;
  status_->attempt = attempt;
  DrawStatusLocked();
}

void Console::ClearStatus() {
  if (!options_.live_status) return;
  std::lock_guard<std::mutex> lock(mu_);
  status_.reset();
  if (status_drawn_) fmt::print(out_, "\r\x1b[K");
  status_drawn_ = false;
  std::fflush(out_);
}

std::string Console::Paint(std::string_view colour, std::string_view text) const {
  if (!options_.color || colour.empty()) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", colour, text);
}

void Console::Print(std::string_view colour, std::string_view marker, std::string_view text) {
  FlushOutput();
  Write(fmt::format("{} {}\n", Paint(colour, marker), TerminalSafe(text)));
}

void Console::Heading(std::string_view text) {
  if (quiet()) return;
  FlushOutput();
  Write(fmt::format("\n{}\n", Paint(kBold, TerminalSafe(text))));
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
  std::string indented;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    indented += fmt::format("      {}\n", Printable(text.substr(start, end - start)));
    start = end + 1;
  }
  Write(indented);
}

void Console::Summary(const std::vector<SummaryRow>& rows, std::string_view verdict, bool ok) {
  FlushOutput();
  ClearStatus();
  size_t step_width = 4;
  for (const auto& row : rows)
    step_width = std::max(step_width, row.step.size());
  step_width = std::min<size_t>(step_width, 48);
  fmt::print(out_, "\n{:<{}}  {:<12} {:>9} {:>9} {:>8}\n", "STEP", step_width, "STATUS", "TIME",
             "BUDGET", "ATTEMPTS");
  for (const auto& row : rows) {
    std::string status = fmt::format("{:<12}", row.status);
    std::string colour(row.bad ? kRed : row.warn ? kYellow : kGreen);
    std::string step = Printable(row.step);
    if (step.size() > step_width) step.resize(step_width);
    fmt::print(out_, "{:<{}}  {} {:>9} {:>9} {:>8}\n", step, step_width, Paint(colour, status),
               row.duration, row.budget, row.attempts ? std::to_string(row.attempts) : "-");
  }
  fmt::print(out_, "\n{}\n", Paint(ok ? kGreen : kRed, TerminalSafe(verdict)));
  std::fflush(out_);
}

void Console::OnNote(NoteLevel level, std::string_view text) {
  switch (level) {
    case NoteLevel::kHeading:
      return Heading(text);
    case NoteLevel::kInfo:
      return Info(text);
    case NoteLevel::kVerbose:
      return Verbose(text);
    case NoteLevel::kPass:
      return Pass(text);
    case NoteLevel::kFail:
      return Fail(text);
    case NoteLevel::kWarn:
      return Warn(text);
    case NoteLevel::kDetail:
      return Detail(text);
  }
}

void Console::OnStepStarted(const ItemRef& step, int total) {
  SetStatus({step.step_number, total, step.step, step.phase, step.budget, 1});
}

void Console::OnStepFinished(const ItemRef& /*step*/, const StepResult& /*result*/) {
  ClearStatus();
}

void Console::OnAttemptStarted(const ItemRef& /*item*/, int attempt) {
  if (attempt > 0) SetAttempt(attempt);
}

void Console::OnOutput(Stream stream, std::string_view bytes) {
  splitter_.OnOutput(stream, bytes);
}

void Console::OnAttemptFinished(const ItemRef& /*item*/, const AttemptEnd& /*end*/) {
  FlushOutput();
}

}  // namespace stagecraft::engine
