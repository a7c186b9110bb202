#include "report/markdown.h"

#include <fmt/format.h>

#include "report/escape.h"

namespace stagecraft::report {
namespace {

bool IsChecklistKind(StepKind kind) {
  return kind == StepKind::kCheck || kind == StepKind::kManual;
}

bool IsBad(StepStatus mark) {
  return mark == StepStatus::kFailed || mark == StepStatus::kInterrupted;
}

// Detail lines that all look like a unified diff are shown as one.
bool LooksLikeDiff(std::string_view detail) {
  bool any = false;
  size_t start = 0;
  while (start < detail.size()) {
    size_t end = detail.find('\n', start);
    if (end == std::string_view::npos) end = detail.size();
    std::string_view line = detail.substr(start, end - start);
    if (!line.empty() && line[0] != '-' && line[0] != '+' && line[0] != ' ') return false;
    any = true;
    start = end + 1;
  }
  return any;
}

// A fenced block, every line indented by `indent` so it stays inside a list item.
void AppendFenced(std::string& out, std::string_view info, std::string_view content,
                  std::string_view indent) {
  std::string fence = MarkdownFence(content);
  out += fmt::format("{}{}{}\n", indent, fence, info);
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    out += indent;
    out.append(content.data() + start, end - start);
    out += '\n';
    start = end + 1;
  }
  out += fmt::format("{}{}\n", indent, fence);
}

std::string DurationAgainstBudget(std::optional<int64_t> duration, std::optional<int64_t> budget) {
  if (!duration && !budget) return "";
  if (!duration) return fmt::format("budget {}", FormatMs(budget));
  std::string text = FormatMs(duration);
  if (budget) {
    text += fmt::format(" of {} budget", FormatMs(budget));
    if (duration && *duration > *budget) text += " ⚠ over budget";
  }
  return text;
}

std::string ProcessOutcome(const Attempt& attempt) {
  if (attempt.signal) return fmt::format("signal {}", *attempt.signal);
  if (attempt.exit_code) return fmt::format("exit {}", *attempt.exit_code);
  return "";
}

class Writer {
 public:
  Writer(const Report& report, const MarkdownOptions& options)
      : report_(report), options_(options) {}

  std::string Render() {
    Header();
    StepTable();
    if (!options_.summary) PhaseTable();
    for (const Phase& phase : report_.phases)
      PhaseSection(phase);
    Rollback();
    SignOff();
    return std::move(out_);
  }

 private:
  void Header() {
    const journal::RunRecord& run = report_.run;
    out_ += fmt::format("# {} {}\n\n", RunStatusEmoji(run.status), MarkdownInline(report_.title));
    out_ += "| | |\n|---|---|\n";
    Row("Status", fmt::format("{} {}", RunStatusEmoji(run.status), RunStatusPhrase(run)));
    Row("Run", fmt::format("`{}`", run.id));
    Row("Environment", run.environment.empty() ? "-" : MarkdownInline(run.environment));
    Row("Runbook", MarkdownInline(run.runbook_path));
    Row("Runbook hash", fmt::format("`{}`", MarkdownInline(run.runbook_hash)));
    if (!report_.git_commit.empty())
      Row("Git commit", fmt::format("`{}`", MarkdownInline(report_.git_commit)));
    Row("Operator", MarkdownInline(run.user + "@" + run.host));
    Row("Started", FormatTime(run.started_at));
    Row("Ended", run.ended_at ? FormatTime(*run.ended_at) : "-");
    Row("Duration", FormatMs(report_.duration_ms()));
    Row("Steps", fmt::format("{}: {}", report_.steps.total, CountsPhrase(report_.steps)));
    Row("Checks", fmt::format("{}: {}", report_.checks.total, CountsPhrase(report_.checks)));
    if (report_.rollbacks.total)
      Row("Rollback",
          fmt::format("{}: {}", report_.rollbacks.total, CountsPhrase(report_.rollbacks)));
    out_ += '\n';
  }

  void Row(std::string_view name, const std::string& value) {
    out_ += fmt::format("| {} | {} |\n", name, value);
  }

  void StepTable() {
    out_ += "## Steps\n\n";
    out_ += "| # | Step | Phase | Result | Duration | Budget | Attempts |\n";
    out_ += "|---|---|---|---|---|---|---|\n";
    int number = 0;
    for (const Phase& phase : report_.phases) {
      for (const Step& step : phase.steps) {
        std::string duration = FormatMs(step.duration_ms());
        if (step.over_budget()) duration += " ⚠";
        out_ += fmt::format("| {} | {} | {} | {} {} | {} | {} | {} |\n", ++number,
                            MarkdownInline(step.title), MarkdownInline(phase.name),
                            MarkEmoji(step.mark), MarkdownInline(MarkPhrase(step)), duration,
                            FormatMs(step.budget_ms), step.max_attempts());
      }
    }
    out_ += '\n';
  }

  void PhaseTable() {
    bool any_named = false;
    for (const Phase& phase : report_.phases)
      any_named |= !phase.name.empty();
    if (!any_named) return;
    out_ += "## Phases\n\n| Phase | Steps | Duration | Budget |\n|---|---|---|---|\n";
    for (const Phase& phase : report_.phases) {
      // Steps outside any phase (preflight, success criteria) are not a phase.
      if (phase.name.empty()) continue;
      std::string duration = FormatMs(phase.duration_ms());
      if (phase.over_budget()) duration += " ⚠ over budget";
      out_ += fmt::format("| {} | {} | {} | {} |\n", MarkdownInline(phase.name), phase.steps.size(),
                          duration, FormatMs(phase.budget_ms()));
    }
    out_ += '\n';
  }

  void PhaseSection(const Phase& phase) {
    if (options_.summary) {
      // Only what went wrong is detailed in the summary.
      bool bad = false;
      for (const Step& step : phase.steps) {
        bad |= IsBad(step.mark);
        for (const Entry& item : step.items)
          bad |= IsBad(item.mark);
      }
      if (!bad) return;
    }
    // Steps outside any phase get a top-level heading of their own, so they do not read
    // as part of the phase before them.
    if (!phase.name.empty()) {
      out_ += fmt::format("## {}\n\n", MarkdownInline(phase.name));
      if (auto budget = DurationAgainstBudget(phase.duration_ms(), phase.budget_ms());
          !budget.empty())
        out_ += fmt::format("Phase: {}\n\n", budget);
    }
    for (const Step& step : phase.steps)
      StepSection(step, phase.name.empty() ? "##" : "###");
  }

  void StepSection(const Step& step, std::string_view heading) {
    if (options_.summary) {
      bool bad = IsBad(step.mark);
      for (const Entry& item : step.items)
        bad |= IsBad(item.mark);
      if (!bad) return;
    }
    out_ += fmt::format("{} {} {}\n\n", heading, MarkEmoji(step.mark), MarkdownInline(step.title));
    std::string line = fmt::format("**{}**", MarkdownInline(MarkPhrase(step)));
    if (auto budget = DurationAgainstBudget(step.duration_ms(), step.budget_ms); !budget.empty())
      line += " · " + budget;
    if (step.attempts.size() > 1) line += fmt::format(" · {} attempts", step.attempts.size());
    out_ += line + "\n\n";
    AttemptDetail(step, "");
    for (const Entry& item : step.items) {
      if (options_.summary && !IsBad(item.mark)) continue;
      Item(item);
    }
    if (!step.items.empty()) out_ += '\n';
  }

  void Item(const Entry& item) {
    std::string line = "- ";
    if (IsChecklistKind(item.kind))
      line += item.mark == StepStatus::kSucceeded || item.mark == StepStatus::kApproved ? "[x] "
                                                                                        : "[ ] ";
    line += fmt::format("{} {} — {}", MarkEmoji(item.mark), MarkdownInline(item.title),
                        MarkdownInline(MarkPhrase(item)));
    if (auto ms = item.duration_ms()) line += " · " + FormatMs(ms);
    if (item.attempts.size() > 1) line += fmt::format(" · {} attempts", item.attempts.size());
    out_ += line + "\n";
    AttemptDetail(item, "  ");
  }

  // The summary, detail and output of the last attempt, plus one line per earlier one.
  void AttemptDetail(const Entry& entry, std::string_view indent) {
    if (entry.attempts.empty()) return;
    if (entry.attempts.size() > 1) {
      for (size_t i = 0; i + 1 < entry.attempts.size(); ++i) {
        const Attempt& attempt = entry.attempts[i];
        std::string outcome = ProcessOutcome(attempt);
        out_ += fmt::format("{}- attempt {}: {}{}{}{}\n", indent, attempt.number,
                            Name(attempt.status), outcome.empty() ? "" : " (" + outcome + ")",
                            attempt.summary.empty() ? "" : ": ", MarkdownInline(attempt.summary));
      }
    }
    const Attempt& last = entry.attempts.back();
    std::string outcome = ProcessOutcome(last);
    bool bad = IsBad(entry.mark);
    if (!last.summary.empty() || (bad && !outcome.empty())) {
      std::string text = MarkdownInline(last.summary);
      if (bad && !outcome.empty()) text += (text.empty() ? "" : " ") + ("(" + outcome + ")");
      out_ += fmt::format("{}{}{}\n", indent, indent.empty() ? "" : "- ", text);
      if (indent.empty()) out_ += '\n';
    }
    if (!last.detail.empty())
      AppendFenced(out_, LooksLikeDiff(last.detail) ? "diff" : "text", last.detail, indent);
    if (options_.summary && !bad) return;
    if (!last.output.empty()) {
      bool cut = false;
      std::string excerpt =
          LastLines(last.output, options_.excerpt_lines, options_.excerpt_line_bytes, &cut);
      std::string_view what = cut || last.output_cut ? "last lines of output" : "output";
      out_ += fmt::format("{}{}{} ({}):\n", indent, indent.empty() ? "" : "- ", what,
                          FormatBytes(last.output_bytes));
      if (indent.empty()) out_ += '\n';
      AppendFenced(out_, "text", excerpt, indent);
      if (indent.empty()) out_ += '\n';
    }
  }

  static std::string FormatBytes(int64_t bytes) {
    if (bytes < 1024) return fmt::format("{} bytes", bytes);
    if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
    return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
  }

  void Rollback() {
    if (report_.rollback.empty()) return;
    out_ += "## Rollback\n\n";
    out_ += "| # | Block | Kind | Result | Duration | Note |\n|---|---|---|---|---|---|\n";
    int number = 0;
    for (const Entry& entry : report_.rollback) {
      const Attempt* last = entry.last_attempt();
      out_ +=
          fmt::format("| {} | {} | {} | {} {} | {} | {} |\n", ++number, MarkdownInline(entry.title),
                      Name(entry.kind), MarkEmoji(entry.mark), MarkdownInline(MarkPhrase(entry)),
                      FormatMs(entry.duration_ms()), last ? MarkdownInline(last->summary) : "");
    }
    out_ += '\n';
    for (const Entry& entry : report_.rollback) {
      if (!IsBad(entry.mark)) continue;
      out_ += fmt::format("### {} {}\n\n", MarkEmoji(entry.mark), MarkdownInline(entry.title));
      AttemptDetail(entry, "");
    }
  }

  // The runbook's roles with who signed for each; a role nobody signed for stays empty.
  void SignOffRoles() {
    out_ += "## Sign-off\n\n| Role | Who | When | Decision | Comment |\n|---|---|---|---|---|\n";
    for (const SignOffRow& row : report_.sign_off) {
      if (!row.decision) {
        out_ += fmt::format("| {} | | | not signed | |\n", MarkdownInline(row.role));
        continue;
      }
      const journal::ApprovalRecord& decision = *row.decision;
      out_ += fmt::format("| {} | {} | {} | {} | {} |\n", MarkdownInline(row.role),
                          MarkdownInline(decision.who), FormatTime(decision.at),
                          Name(decision.decision), MarkdownInline(decision.comment));
    }
    out_ += '\n';
  }

  void SignOff() {
    if (!report_.sign_off.empty()) SignOffRoles();
    if (report_.approvals.empty()) return;
    out_ += report_.sign_off.empty() ? "## Sign-off\n\n" : "### Approvals\n\n";
    out_ += "| Step | Who | When | How | Decision | Comment |\n";
    out_ += "|---|---|---|---|---|---|\n";
    for (const journal::ApprovalRecord& approval : report_.approvals) {
      const Entry* entry = report_.Find(approval.step_key);
      std::string what = entry ? entry->title : approval.step_key;
      out_ += fmt::format("| {} | {} | {} | {} | {} | {} |\n", MarkdownInline(what),
                          MarkdownInline(approval.who), FormatTime(approval.at), Name(approval.how),
                          Name(approval.decision), MarkdownInline(approval.comment));
    }
    out_ += '\n';
  }

  const Report& report_;
  const MarkdownOptions& options_;
  std::string out_;
};

}  // namespace

std::string RenderMarkdown(const Report& report, const MarkdownOptions& options) {
  return Writer(report, options).Render();
}

}  // namespace stagecraft::report
