#include "report/timeline_svg.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/escape.h"

namespace stagecraft::report {
namespace {

struct Row {
  std::string label;
  bool phase = false;
  std::optional<TimeMs> start;
  std::optional<int64_t> duration_ms;
  std::optional<int64_t> budget_ms;
  StepStatus mark = StepStatus::kPending;
};

constexpr int kWidth = 960;
constexpr int kLabelWidth = 280;
constexpr int kRowHeight = 22;
constexpr int kTop = 28;

// A round tick interval giving at most about eight ticks.
int64_t TickInterval(int64_t span_ms) {
  static constexpr int64_t kSteps[] = {1000,    2000,    5000,     10000,    15000,   30000,
                                       60000,   120000,  300000,   600000,   900000,  1800000,
                                       3600000, 7200000, 10800000, 21600000, 43200000};
  for (int64_t step : kSteps)
    if (span_ms / step <= 8) return step;
  return 86400000;
}

std::string BarClass(const Row& row) {
  if (row.mark == StepStatus::kFailed || row.mark == StepStatus::kInterrupted) return "bad";
  if (row.budget_ms && row.duration_ms && *row.duration_ms > *row.budget_ms) return "over";
  if (row.mark == StepStatus::kSkipped) return "skip";
  return "ok";
}

}  // namespace

std::string RenderTimelineSvg(const Report& report, const TimelineOptions& options) {
  size_t step_rows = 0;
  for (const Phase& phase : report.phases)
    step_rows += phase.steps.size() + (phase.name.empty() ? 0 : 1);
  const bool phases_only = step_rows > options.max_rows;

  std::vector<Row> rows;
  size_t omitted = 0;
  auto add = [&](Row row) {
    if (rows.size() >= options.max_rows) {
      ++omitted;
      return;
    }
    rows.push_back(std::move(row));
  };
  for (const Phase& phase : report.phases) {
    if (!phase.name.empty()) {
      StepStatus mark = StepStatus::kSucceeded;
      for (const Step& step : phase.steps)
        if (step.mark == StepStatus::kFailed || step.mark == StepStatus::kInterrupted)
          mark = step.mark;
      add(Row{phase.name, true, phase.started_at(), phase.duration_ms(), phase.budget_ms(), mark});
    }
    if (phases_only && !phase.name.empty()) continue;
    for (const Step& step : phase.steps)
      add(Row{step.title, false, step.started_at(), step.duration_ms(), step.budget_ms, step.mark});
  }
  for (const Entry& entry : report.rollback)
    add(Row{entry.title, false, entry.started_at(), entry.duration_ms(), std::nullopt, entry.mark});
  if (rows.empty()) return "";

  const TimeMs origin = report.run.started_at;
  TimeMs end = report.run.ended_at.value_or(origin);
  for (const Row& row : rows) {
    if (!row.start) continue;
    end = std::max(end, *row.start + row.duration_ms.value_or(0));
    end = std::max(end, *row.start + row.budget_ms.value_or(0));
  }
  const int64_t span = std::max<int64_t>(end - origin, 1000);
  const double scale = static_cast<double>(kWidth - kLabelWidth - 10) / static_cast<double>(span);
  auto x = [&](TimeMs at) { return kLabelWidth + (at - origin) * scale; };

  const int height = kTop + static_cast<int>(rows.size()) * kRowHeight + (omitted ? 24 : 8);
  std::string out = fmt::format(
      "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "width=\"100%\" role=\"img\" aria-label=\"Timeline: budget against actual time per phase "
      "and step\">\n",
      kWidth, height);
  int64_t tick = TickInterval(span);
  for (int64_t t = 0; t <= span; t += tick) {
    double tx = x(origin + t);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"16\">{}</text>\n",
        tx, kTop - 6, tx, height - 4, tx, t == 0 ? "0" : FormatMs(t));
  }
  int y = kTop;
  for (const Row& row : rows) {
    std::string label = XmlEscaped(Ellipsize(row.label, 44));
    out += fmt::format("<g class=\"{}\"><title>{}: {} of {}</title>", row.phase ? "phase" : "step",
                       XmlEscaped(row.label), FormatMs(row.duration_ms), FormatMs(row.budget_ms));
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\">{}</text>", row.phase ? 4 : 14,
                       y + 15, label);
    if (row.start) {
      if (row.budget_ms)
        out += fmt::format(
            "<rect class=\"budget\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"/>",
            x(*row.start), y + 2, std::max(1.0, *row.budget_ms * scale), kRowHeight - 4);
      out += fmt::format(
          "<rect class=\"bar {}\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"/>",
          BarClass(row), x(*row.start), y + 6, std::max(2.0, row.duration_ms.value_or(0) * scale),
          kRowHeight - 12);
    } else {
      out += fmt::format("<text class=\"pending\" x=\"{}\" y=\"{}\">{} {}</text>", kLabelWidth + 4,
                         y + 15, MarkEmoji(row.mark), MarkName(row.mark));
    }
    out += "</g>\n";
    y += kRowHeight;
  }
  if (omitted)
    out += fmt::format("<text class=\"tick\" x=\"4\" y=\"{}\">{} more rows not shown</text>\n",
                       y + 16, omitted);
  out += "</svg>\n";
  return out;
}

}  // namespace stagecraft::report
