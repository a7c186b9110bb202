#include "report/json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/json_writer.h"

namespace stagecraft::report {
namespace {

// The shared writer with the report's conveniences.
class JsonWriter : public stagecraft::JsonWriter<StringSink> {
 public:
  explicit JsonWriter(std::string& out) : stagecraft::JsonWriter<StringSink>(StringSink{out}) {}

  // A value from the journal (scope, options, captures), printed by nlohmann at this depth.
  void Json(const nlohmann::json& value) {
    BeforeValue();
    std::string text = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string indent(2 * depth(), ' ');
    size_t start = 0;
    // JSON text holds no raw newline inside strings, so every one is layout.
    for (size_t newline = text.find('\n'); newline != std::string::npos;
         newline = text.find('\n', start)) {
      out().Append(std::string_view(text).substr(start, newline + 1 - start));
      out().Append(indent);
      start = newline + 1;
    }
    out().Append(std::string_view(text).substr(start));
  }
};

void OptionalTime(JsonWriter& w, std::string_view key, std::optional<TimeMs> at) {
  w.Key(key);
  if (at)
    w.String(FormatIsoTime(*at));
  else
    w.Null();
}

void CountsJson(JsonWriter& w, std::string_view key, const Counts& counts) {
  w.Key(key);
  w.BeginObject();
  w.Field("total", counts.total);
  for (StepStatus mark :
       {StepStatus::kSucceeded, StepStatus::kFailed, StepStatus::kSkipped, StepStatus::kApproved,
        StepStatus::kPending, StepStatus::kInterrupted, StepStatus::kRunning, StepStatus::kWaiting})
    w.Field(MarkId(mark), counts.of(mark));
  w.EndObject();
}

void ApprovalJson(JsonWriter& w, const journal::ApprovalRecord& approval) {
  w.BeginObject();
  w.Field("step_key", approval.step_key);
  w.Field("who", approval.who);
  w.Field("at", FormatIsoTime(approval.at));
  w.Field("how", Name(approval.how));
  w.Field("decision", Name(approval.decision));
  w.Field("comment", approval.comment);
  w.EndObject();
}

class Builder {
 public:
  Builder(JsonWriter& w, const JsonOptions& options) : w_(w), options_(options) {}

  void AttemptJson(const Attempt& attempt) {
    bool cut = false;
    std::string excerpt =
        LastLines(attempt.output, options_.excerpt_lines, options_.excerpt_line_bytes, &cut);
    w_.BeginObject();
    w_.Field("attempt", attempt.number);
    w_.Field("status", Name(attempt.status));
    w_.Field("started_at", FormatIsoTime(attempt.started_at));
    OptionalTime(w_, "ended_at", attempt.ended_at);
    w_.Field("duration_ms", attempt.duration_ms());
    w_.Key("exit_code");
    w_.Optional(attempt.exit_code);
    w_.Key("signal");
    w_.Optional(attempt.signal);
    w_.Field("message", attempt.summary);
    w_.Field("detail", attempt.detail);
    w_.Key("captures");
    w_.Json(attempt.captures);
    w_.Key("output");
    w_.BeginObject();
    w_.Field("bytes", attempt.output_bytes);
    w_.Field("excerpt", excerpt);
    w_.Field("excerpt_complete", !cut && !attempt.output_cut);
    w_.EndObject();
    w_.EndObject();
  }

  // Leaves the object open when `open` so a step can add its items.
  void EntryJson(const Entry& entry, bool open = false) {
    w_.BeginObject();
    w_.Field("key", entry.key);
    w_.Field("index", entry.index);
    w_.Field("kind", Name(entry.kind));
    w_.Field("title", entry.title);
    w_.Field("phase", entry.phase);
    w_.Field("status", Name(entry.status));
    w_.Field("mark", MarkId(entry.mark));
    w_.Field("budget_ms", entry.budget_ms);
    OptionalTime(w_, "started_at", entry.started_at());
    OptionalTime(w_, "ended_at", entry.ended_at());
    w_.Field("duration_ms", entry.duration_ms());
    w_.Field("over_budget", entry.over_budget());
    w_.Key("approval");
    if (entry.approval)
      ApprovalJson(w_, *entry.approval);
    else
      w_.Null();
    w_.Key("attempts");
    w_.BeginArray();
    for (const Attempt& attempt : entry.attempts)
      AttemptJson(attempt);
    w_.EndArray();
    if (!open) w_.EndObject();
  }

  void StepJson(const Step& step) {
    EntryJson(step, true);
    w_.Key("items");
    w_.BeginArray();
    for (const Entry& item : step.items)
      EntryJson(item);
    w_.EndArray();
    w_.EndObject();
  }

 private:
  JsonWriter& w_;
  const JsonOptions& options_;
};

}  // namespace

std::string RenderJson(const Report& report, const JsonOptions& options) {
  std::string out;
  out.reserve(1 << 16);
  JsonWriter w(out);
  Builder builder(w, options);
  const journal::RunRecord& run = report.run;

  w.BeginObject();
  w.Field("schema", kReportSchema);
  w.Key("run");
  w.BeginObject();
  w.Field("id", run.id);
  w.Field("title", report.title);
  w.Field("status", Name(run.status));
  w.Key("exit_code");
  w.Optional(run.exit_code);
  w.Field("environment", run.environment);
  w.Key("runbook");
  w.BeginObject();
  w.Field("path", run.runbook_path);
  w.Field("hash", run.runbook_hash);
  w.Key("git_commit");
  if (report.git_commit.empty())
    w.Null();
  else
    w.String(report.git_commit);
  w.EndObject();
  w.Field("user", run.user);
  w.Field("host", run.host);
  w.Field("started_at", FormatIsoTime(run.started_at));
  OptionalTime(w, "ended_at", run.ended_at);
  w.Field("duration_ms", report.duration_ms());
  w.Field("resumes", run.resumes);
  w.Key("options");
  w.Json(run.options);
  w.Key("scope");
  // What only a resume needs (the carried shell declarations, placeholders for secrets) is
  // not for readers of the report.
  nlohmann::json scope = run.scope;
  if (scope.is_object()) {
    scope.erase("shell_state");
    scope.erase("capture_templates");
    scope.erase("unrestorable");
  }
  w.Json(scope);
  w.EndObject();

  w.Key("counts");
  w.BeginObject();
  CountsJson(w, "steps", report.steps);
  CountsJson(w, "checks", report.checks);
  CountsJson(w, "rollback", report.rollbacks);
  w.EndObject();

  w.Key("phases");
  w.BeginArray();
  for (const Phase& phase : report.phases) {
    w.BeginObject();
    w.Field("name", phase.name);
    w.Field("budget_ms", phase.budget_ms());
    OptionalTime(w, "started_at", phase.started_at());
    OptionalTime(w, "ended_at", phase.ended_at());
    w.Field("duration_ms", phase.duration_ms());
    w.Field("over_budget", phase.over_budget());
    w.Key("steps");
    w.BeginArray();
    for (const Step& step : phase.steps)
      w.String(step.key);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();

  w.Key("steps");
  w.BeginArray();
  for (const Phase& phase : report.phases)
    for (const Step& step : phase.steps)
      builder.StepJson(step);
  w.EndArray();

  w.Key("rollback");
  w.BeginArray();
  for (const Entry& entry : report.rollback)
    builder.EntryJson(entry);
  w.EndArray();

  w.Key("approvals");
  w.BeginArray();
  for (const journal::ApprovalRecord& approval : report.approvals)
    ApprovalJson(w, approval);
  w.EndArray();
  w.EndObject();
  out += '\n';
  return out;
}

}  // namespace stagecraft::report
