#include "report/html.h"

#include <fmt/format.h>

#include <unordered_set>

#include "report/escape.h"
#include "report/timeline_svg.h"

namespace stagecraft::report {
namespace {

constexpr std::string_view kStyle = R"css(
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#bf8700;--skip:#6e7781;--fg:#1f2328;--muted:#59636e;
--line:#d1d9e0;--bg:#fff;--code:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:16px;max-width:1100px}
h1{font-size:1.6em;margin:.2em 0 .6em}h2{font-size:1.3em;border-bottom:1px solid var(--line);
padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--code)}
.table{overflow-x:auto}
.header th{width:11em}.header code{overflow-wrap:anywhere}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--code);padding:8px;overflow-x:auto;white-space:pre-wrap;
overflow-wrap:anywhere;margin:.3em 0}
.passed,.confirmed{color:var(--ok)}.failed,.interrupted{color:var(--bad)}
.skipped,.not-reached{color:var(--skip)}.over{color:var(--warn);font-weight:600}
.step{border:1px solid var(--line);border-radius:6px;padding:4px 12px 8px;margin:10px 0}
.step.failed,.step.interrupted{border-color:var(--bad)}
.meta{color:var(--muted);font-size:.92em}
ul.items{list-style:none;padding-left:0}ul.items>li{margin:6px 0}
.diff .add{color:var(--bad)}.diff .del{color:var(--ok)}
details>summary{cursor:pointer;color:var(--muted)}
.timeline{width:100%;min-width:640px;height:auto;font:11px system-ui,sans-serif}
.timeline .grid{stroke:#eaeef2}.timeline .tick{fill:var(--muted)}
.timeline .label{fill:var(--fg)}.timeline .phase .label{font-weight:700}
.timeline .pending{fill:var(--skip)}
.timeline .budget{fill:#ddf4ff;stroke:#54aeff;stroke-dasharray:3 2}
.timeline .bar.ok{fill:var(--ok)}.timeline .bar.over{fill:var(--warn)}
.timeline .bar.bad{fill:var(--bad)}.timeline .bar.skip{fill:var(--skip)}
.legend span{margin-right:1em}
@media (max-width:600px){body{padding:8px;font-size:14px}.header th{width:auto}
th,td{padding:3px 5px}}
@media print{body{max-width:none;padding:0;font-size:11pt}
.step{break-inside:avoid}
pre{white-space:pre-wrap;max-height:none;font-size:8.5pt}a{color:inherit}}
)css";

std::string E(std::string_view text) {
  return XmlEscaped(text);
}

std::string MarkClass(StepStatus mark) {
  std::string id(MarkId(mark));
  for (char& c : id)
    if (c == '_') c = '-';
  return id;
}

bool IsBad(StepStatus mark) {
  return mark == StepStatus::kFailed || mark == StepStatus::kInterrupted;
}

bool LooksLikeDiff(std::string_view detail) {
  size_t start = 0;
  bool any = false;
  while (start < detail.size()) {
    size_t end = detail.find('\n', start);
    if (end == std::string_view::npos) end = detail.size();
    if (end > start && detail[start] != '-' && detail[start] != '+' && detail[start] != ' ')
      return false;
    any = true;
    start = end + 1;
  }
  return any;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

class Writer {
 public:
  Writer(const Report& report, const HtmlOptions& options) : report_(report), options_(options) {
    // Failed attempts get their full output first, then the rest in run order.
    size_t budget = options_.max_output_bytes;
    auto grant = [&](const Entry& entry, bool bad_pass) {
      for (const Attempt& attempt : entry.attempts) {
        if (attempt.output.empty() || IsBad(entry.mark) != bad_pass) continue;
        if (attempt.output.size() > budget) continue;
        budget -= attempt.output.size();
        full_output_.insert(&attempt);
      }
    };
    for (bool bad_pass : {true, false}) {
      for (const Phase& phase : report_.phases)
        for (const Step& step : phase.steps) {
          grant(step, bad_pass);
          for (const Entry& item : step.items)
            grant(item, bad_pass);
        }
      for (const Entry& entry : report_.rollback)
        grant(entry, bad_pass);
    }
  }

  std::string Render() {
    const journal::RunRecord& run = report_.run;
    out_.reserve(64 * 1024);
    out_ += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out_ +=
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n";
    out_ += fmt::format("<title>{} {} — stagecraft report</title>\n", RunStatusEmoji(run.status),
                        E(report_.title));
    out_ += "<style>";
    out_ += kStyle;
    out_ += "</style>\n</head>\n<body>\n";
    out_ += fmt::format("<h1>{} {}</h1>\n", RunStatusEmoji(run.status), E(report_.title));
    Header();
    Timeline();
    StepTable();
    for (const Phase& phase : report_.phases)
      PhaseSection(phase);
    Rollback();
    SignOff();
    out_ += fmt::format(
        "<p class=\"meta\">Generated by stagecraft from the journal of run {}.</p>\n", E(run.id));
    out_ += "</body>\n</html>\n";
    return std::move(out_);
  }

 private:
  void Header() {
    const journal::RunRecord& run = report_.run;
    out_ += "<div class=\"table\"><table class=\"header\">\n";
    Row("Status", fmt::format("{} {}", RunStatusEmoji(run.status), E(RunStatusPhrase(run))));
    Row("Run", "<code>" + E(run.id) + "</code>");
    Row("Environment", run.environment.empty() ? "-" : E(run.environment));
    Row("Runbook", "<code>" + E(run.runbook_path) + "</code>");
    Row("Runbook hash", "<code>" + E(run.runbook_hash) + "</code>");
    if (!report_.git_commit.empty())
      Row("Git commit", "<code>" + E(report_.git_commit) + "</code>");
    Row("Operator", E(run.user + "@" + run.host));
    Row("Started", FormatTime(run.started_at));
    Row("Ended", run.ended_at ? FormatTime(*run.ended_at) : "-");
    Row("Duration", FormatMs(report_.duration_ms()));
    Row("Steps", fmt::format("{}: {}", report_.steps.total, CountsPhrase(report_.steps)));
    Row("Checks", fmt::format("{}: {}", report_.checks.total, CountsPhrase(report_.checks)));
    if (report_.rollbacks.total)
      Row("Rollback",
          fmt::format("{}: {}", report_.rollbacks.total, CountsPhrase(report_.rollbacks)));
    out_ += "</table></div>\n";
  }

  void Row(std::string_view name, const std::string& html) {
    out_ += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", name, html);
  }

  void Timeline() {
    std::string svg = RenderTimelineSvg(report_);
    if (svg.empty()) return;
    out_ +=
        "<h2>Timeline</h2>\n<p class=\"legend meta\"><span>▭ budget</span>"
        "<span class=\"passed\">■ within budget</span><span class=\"over\">■ over "
        "budget</span><span class=\"failed\">■ failed</span></p>\n";
    // Scrolls sideways on a phone rather than shrinking the labels out of reach.
    out_ += "<div class=\"table\">" + svg + "</div>\n";
  }

  void StepTable() {
    out_ +=
        "<h2>Steps</h2>\n<div class=\"table\"><table>\n<tr><th>#</th><th>Step</th>"
        "<th>Phase</th><th>Result</th><th>Duration</th><th>Budget</th><th>Attempts</th></tr>\n";
    int number = 0;
    for (const Phase& phase : report_.phases)
      for (const Step& step : phase.steps) {
        ++number;
        out_ += fmt::format(
            "<tr><td>{}</td><td><a href=\"#s{}\">{}</a></td><td>{}</td><td class=\"{}\">{} "
            "{}</td><td{}>{}</td><td>{}</td><td>{}</td></tr>\n",
            number, number, E(step.title), E(phase.name), MarkClass(step.mark),
            MarkEmoji(step.mark), E(MarkPhrase(step)), step.over_budget() ? " class=\"over\"" : "",
            FormatMs(step.duration_ms()), FormatMs(step.budget_ms), step.max_attempts());
      }
    out_ += "</table></div>\n";
  }

  void PhaseSection(const Phase& phase) {
    if (!phase.name.empty()) {
      out_ += fmt::format("<h2>{}</h2>\n", E(phase.name));
      if (phase.duration_ms() || phase.budget_ms())
        out_ += fmt::format("<p class=\"meta\">Phase: {}</p>\n",
                            Budget(phase.duration_ms(), phase.budget_ms()));
    }
    for (const Step& step : phase.steps)
      StepSection(step, phase.name.empty() ? "h2" : "h3");
  }

  std::string Budget(std::optional<int64_t> duration, std::optional<int64_t> budget) {
    if (!duration) return budget ? "budget " + FormatMs(budget) : "";
    std::string text = FormatMs(duration);
    if (budget) {
      text += " of " + FormatMs(budget) + " budget";
      if (*duration > *budget) text = "<span class=\"over\">" + text + " ⚠ over budget</span>";
    }
    return text;
  }

  void StepSection(const Step& step, std::string_view heading) {
    ++step_number_;
    out_ += fmt::format("<section class=\"step {}\" id=\"s{}\">\n<{} class=\"{}\">{} {}</{}>\n",
                        MarkClass(step.mark), step_number_, heading, MarkClass(step.mark),
                        MarkEmoji(step.mark), E(step.title), heading);
    std::string meta =
        fmt::format("<strong class=\"{}\">{}</strong>", MarkClass(step.mark), E(MarkPhrase(step)));
    if (std::string budget = Budget(step.duration_ms(), step.budget_ms); !budget.empty())
      meta += " · " + budget;
    if (step.attempts.size() > 1) meta += fmt::format(" · {} attempts", step.attempts.size());
    out_ += "<p class=\"meta\">" + meta + "</p>\n";
    AttemptDetail(step);
    if (!step.items.empty()) {
      out_ += "<ul class=\"items\">\n";
      for (const Entry& item : step.items)
        Item(item);
      out_ += "</ul>\n";
    }
    out_ += "</section>\n";
  }

  void Item(const Entry& item) {
    bool checklist = item.kind == StepKind::kCheck || item.kind == StepKind::kManual;
    out_ += fmt::format("<li class=\"{}\">", MarkClass(item.mark));
    if (checklist)
      out_ += fmt::format("<input type=\"checkbox\" disabled{}> ",
                          item.mark == StepStatus::kSucceeded || item.mark == StepStatus::kApproved
                              ? " checked"
                              : "");
    out_ += fmt::format("{} {} — <span class=\"{}\">{}</span>", MarkEmoji(item.mark), E(item.title),
                        MarkClass(item.mark), E(MarkPhrase(item)));
    if (auto ms = item.duration_ms()) out_ += " <span class=\"meta\">· " + FormatMs(ms) + "</span>";
    if (item.attempts.size() > 1)
      out_ += fmt::format(" <span class=\"meta\">· {} attempts</span>", item.attempts.size());
    out_ += "\n";
    AttemptDetail(item);
    out_ += "</li>\n";
  }

  void AttemptDetail(const Entry& entry) {
    for (const Attempt& attempt : entry.attempts) {
      bool last = &attempt == &entry.attempts.back();
      std::string outcome;
      if (attempt.signal)
        outcome = fmt::format(" (signal {})", *attempt.signal);
      else if (attempt.exit_code && (!last || IsBad(entry.mark)))
        outcome = fmt::format(" (exit {})", *attempt.exit_code);
      if (!last) {
        out_ += fmt::format("<div class=\"meta\">attempt {}: {}{}{}{}</div>\n", attempt.number,
                            Name(attempt.status), outcome, attempt.summary.empty() ? "" : ": ",
                            E(attempt.summary));
        Output(attempt, false);
        continue;
      }
      if (!attempt.summary.empty() || !outcome.empty())
        out_ += fmt::format("<div>{}{}</div>\n", E(attempt.summary), outcome);
      if (!attempt.detail.empty()) Detail(attempt.detail);
      Output(attempt, IsBad(entry.mark));
    }
  }

  void Detail(const std::string& detail) {
    if (!LooksLikeDiff(detail)) {
      out_ += "<pre>" + E(detail) + "</pre>\n";
      return;
    }
    out_ += "<pre class=\"diff\">";
    size_t start = 0;
    while (start < detail.size()) {
      size_t end = detail.find('\n', start);
      if (end == std::string::npos) end = detail.size();
      std::string_view line(detail.data() + start, end - start);
      // "-" is what the runbook expected, "+" what the output had instead.
      std::string_view cls = line.empty()     ? ""
                             : line[0] == '+' ? "add"
                             : line[0] == '-' ? "del"
                                              : "";
      if (cls.empty())
        out_ += E(line);
      else
        out_ += fmt::format("<span class=\"{}\">{}</span>", cls, E(line));
      out_ += '\n';
      start = end + 1;
    }
    out_ += "</pre>\n";
  }

  void Output(const Attempt& attempt, bool open) {
    if (attempt.output.empty()) return;
    bool full = full_output_.count(&attempt) > 0;
    std::string what;
    if (full && !attempt.output_cut)
      what = fmt::format("Output ({})", FormatBytes(attempt.output_bytes));
    else if (full)
      what = fmt::format("Output: last {} of {}",
                         FormatBytes(static_cast<int64_t>(attempt.output.size())),
                         FormatBytes(attempt.output_bytes));
    else
      what = fmt::format("Output: last {} lines of {}", options_.excerpt_lines,
                         FormatBytes(attempt.output_bytes));
    out_ += fmt::format("<details{}><summary>{}</summary>", open ? " open" : "", what);
    if (!full || attempt.output_cut)
      out_ += fmt::format("<p class=\"meta\">The rest: <code>stagecraft logs {}</code></p>",
                          E(report_.run.id));
    out_ += "<pre>";
    if (full)
      AppendXmlEscaped(out_, attempt.output);
    else
      AppendXmlEscaped(
          out_, LastLines(attempt.output, options_.excerpt_lines, options_.excerpt_line_bytes));
    out_ += "</pre></details>\n";
  }

  void Rollback() {
    if (report_.rollback.empty()) return;
    out_ +=
        "<h2>Rollback</h2>\n<div class=\"table\"><table>\n<tr><th>#</th><th>Block</th>"
        "<th>Kind</th><th>Result</th><th>Duration</th></tr>\n";
    int number = 0;
    for (const Entry& entry : report_.rollback)
      out_ += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{} {}</td><td>{}</td></tr>\n",
          ++number, E(entry.title), Name(entry.kind), MarkClass(entry.mark), MarkEmoji(entry.mark),
          E(MarkPhrase(entry)), FormatMs(entry.duration_ms()));
    out_ += "</table></div>\n";
    for (const Entry& entry : report_.rollback) {
      out_ += fmt::format("<section class=\"step {}\">\n<h3 class=\"{}\">{} {}</h3>\n",
                          MarkClass(entry.mark), MarkClass(entry.mark), MarkEmoji(entry.mark),
                          E(entry.title));
      AttemptDetail(entry);
      out_ += "</section>\n";
    }
  }

  // The runbook's roles with who signed for each; a role nobody signed for stays empty.
  void SignOffRoles() {
    out_ +=
        "<h2>Sign-off</h2>\n<div class=\"table\"><table>\n<tr><th>Role</th><th>Who</th>"
        "<th>When</th><th>Decision</th><th>Comment</th></tr>\n";
    for (const SignOffRow& row : report_.sign_off) {
      if (!row.decision) {
        out_ += fmt::format("<tr><td>{}</td><td></td><td></td><td>not signed</td><td></td></tr>\n",
                            E(row.role));
        continue;
      }
      const journal::ApprovalRecord& decision = *row.decision;
      out_ += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                          E(row.role), E(decision.who), FormatTime(decision.at),
                          Name(decision.decision), E(decision.comment));
    }
    out_ += "</table></div>\n";
  }

  void SignOff() {
    if (!report_.sign_off.empty()) SignOffRoles();
    if (report_.approvals.empty()) return;
    out_ += report_.sign_off.empty() ? "<h2>Sign-off</h2>\n" : "<h3>Approvals</h3>\n";
    out_ +=
        "<div class=\"table\"><table>\n<tr><th>Step</th><th>Who</th>"
        "<th>When</th><th>How</th><th>Decision</th><th>Comment</th></tr>\n";
    for (const journal::ApprovalRecord& approval : report_.approvals) {
      const Entry* entry = report_.Find(approval.step_key);
      out_ += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          E(entry ? entry->title : approval.step_key), E(approval.who), FormatTime(approval.at),
          Name(approval.how), Name(approval.decision), E(approval.comment));
    }
    out_ += "</table></div>\n";
  }

  const Report& report_;
  const HtmlOptions& options_;
  std::unordered_set<const Attempt*> full_output_;
  std::string out_;
  int step_number_ = 0;
};

}  // namespace

std::string RenderHtml(const Report& report, const HtmlOptions& options) {
  return Writer(report, options).Render();
}

}  // namespace stagecraft::report
