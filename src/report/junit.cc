#include "report/junit.h"

#include <fmt/format.h>

#include "report/escape.h"

namespace stagecraft::report {
namespace {

struct Case {
  const Entry* entry;
  std::string classname;
};

struct Suite {
  std::string name;
  std::vector<Case> cases;
  std::optional<TimeMs> started_at;
  int failures = 0;
  int errors = 0;
  int skipped = 0;
  int64_t time_ms = 0;
};

std::string Seconds(int64_t ms) {
  return fmt::format("{:.3f}", ms / 1000.0);
}

std::string Attr(std::string_view text) {
  return XmlEscaped(text);
}

class Writer {
 public:
  Writer(const Report& report, const JunitOptions& options) : report_(report), options_(options) {}

  std::string Render() {
    std::vector<Suite> suites;
    for (const Phase& phase : report_.phases) {
      // Steps outside any phase (preflight, success criteria) are suites of their own.
      std::string name = phase.name.empty() && !phase.steps.empty() ? phase.steps.front().title
                         : phase.name.empty()                       ? report_.title
                                                                    : phase.name;
      if (suites.empty() || suites.back().name != name) suites.push_back(Suite{name, {}});
      Suite& suite = suites.back();
      for (const Step& step : phase.steps) {
        suite.cases.push_back(Case{&step, name});
        for (const Entry& item : step.items)
          if (item.kind == StepKind::kCheck || item.kind == StepKind::kVerification)
            suite.cases.push_back(Case{&item, name + " / " + step.title});
      }
    }
    if (!report_.rollback.empty()) {
      suites.push_back(Suite{"Rollback", {}});
      for (const Entry& entry : report_.rollback)
        suites.back().cases.push_back(Case{&entry, "Rollback"});
    }

    int tests = 0, failures = 0, errors = 0, skipped = 0;
    for (Suite& suite : suites) {
      for (const Case& c : suite.cases) {
        StepStatus mark = c.entry->mark;
        suite.failures += mark == StepStatus::kFailed;
        suite.errors += mark == StepStatus::kInterrupted || mark == StepStatus::kRunning;
        suite.skipped += mark == StepStatus::kSkipped || mark == StepStatus::kPending;
        suite.time_ms += c.entry->duration_ms().value_or(0);
        auto at = c.entry->started_at();
        if (at && (!suite.started_at || *at < *suite.started_at)) suite.started_at = at;
      }
      tests += static_cast<int>(suite.cases.size());
      failures += suite.failures;
      errors += suite.errors;
      skipped += suite.skipped;
    }

    out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out_ += fmt::format(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{}\" timestamp=\"{}\">\n",
        Attr(report_.title), tests, failures, errors, skipped,
        Seconds(report_.duration_ms().value_or(0)), FormatIsoTime(report_.run.started_at));
    int id = 0;
    for (const Suite& suite : suites)
      WriteSuite(suite, id++);
    out_ += "</testsuites>\n";
    return std::move(out_);
  }

 private:
  void WriteSuite(const Suite& suite, int id) {
    const journal::RunRecord& run = report_.run;
    out_ += fmt::format(
        "  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
        "skipped=\"{}\" time=\"{}\" timestamp=\"{}\" hostname=\"{}\">\n",
        Attr(suite.name), id, suite.cases.size(), suite.failures, suite.errors, suite.skipped,
        Seconds(suite.time_ms), FormatIsoTime(suite.started_at.value_or(run.started_at)),
        Attr(run.host));
    out_ += "    <properties>\n";
    Property("run_id", run.id);
    Property("environment", run.environment);
    Property("runbook", run.runbook_path);
    Property("runbook_hash", run.runbook_hash);
    if (!report_.git_commit.empty()) Property("git_commit", report_.git_commit);
    Property("operator", run.user + "@" + run.host);
    Property("run_status", Name(run.status));
    out_ += "    </properties>\n";
    for (const Case& c : suite.cases)
      WriteCase(c);
    out_ += "  </testsuite>\n";
  }

  void Property(std::string_view name, std::string_view value) {
    out_ += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, Attr(value));
  }

  void WriteCase(const Case& c) {
    const Entry& entry = *c.entry;
    std::string name = entry.title;
    if (entry.kind == StepKind::kVerification) name = "Verify: " + name;
    out_ += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"", Attr(name),
                        Attr(c.classname), Seconds(entry.duration_ms().value_or(0)));
    const Attempt* last = entry.last_attempt();
    std::string summary = last && !last->summary.empty() ? last->summary : MarkPhrase(entry);
    switch (entry.mark) {
      case StepStatus::kFailed:
        out_ += ">\n";
        Problem("failure", summary, entry);
        break;
      case StepStatus::kInterrupted:
      case StepStatus::kRunning:
        out_ += ">\n";
        Problem("error", summary, entry);
        break;
      case StepStatus::kSkipped:
      case StepStatus::kPending:
      case StepStatus::kWaiting:
        out_ += fmt::format(">\n      <skipped message=\"{}\"/>\n", Attr(summary));
        break;
      case StepStatus::kApproved:
        out_ +=
            fmt::format(">\n      <system-out>{}</system-out>\n", XmlEscaped(MarkPhrase(entry)));
        break;
      case StepStatus::kSucceeded:
        out_ += "/>\n";
        return;
    }
    out_ += "    </testcase>\n";
  }

  void Problem(std::string_view element, const std::string& summary, const Entry& entry) {
    const Attempt* last = entry.last_attempt();
    // A step's own attempt rarely holds the evidence: its failing item's attempt has the
    // diff and the output.
    const Attempt* evidence = last;
    std::string from;
    if (!last || (last->detail.empty() && last->output.empty())) {
      for (const Phase& phase : report_.phases)
        for (const Step& step : phase.steps) {
          if (&step != &entry) continue;
          for (const Entry& item : step.items)
            if (item.mark == entry.mark && item.last_attempt()) {
              evidence = item.last_attempt();
              from = item.title;
              break;
            }
        }
    }
    std::string text;
    if (evidence) {
      if (!from.empty()) text += from + ": " + evidence->summary + "\n";
      if (evidence->exit_code) text += fmt::format("exit code {}\n", *evidence->exit_code);
      if (evidence->signal) text += fmt::format("signal {}\n", *evidence->signal);
      if (!evidence->detail.empty()) text += evidence->detail + "\n";
      if (!evidence->output.empty()) {
        if (!text.empty()) text += '\n';
        text += "output (last lines):\n";
        text += LastLines(evidence->output, options_.excerpt_lines, options_.excerpt_line_bytes);
      }
    }
    out_ += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", element, Attr(summary),
                        MarkId(entry.mark), XmlEscaped(text), element);
  }

  const Report& report_;
  const JunitOptions& options_;
  std::string out_;
};

}  // namespace

std::string RenderJunit(const Report& report, const JunitOptions& options) {
  return Writer(report, options).Render();
}

}  // namespace stagecraft::report
