#include "report/json.h"

namespace stagecraft::report {
namespace {

// Ordered: "schema" and "run" come first, as a reader expects.
using json = nlohmann::ordered_json;

json OptionalInt(std::optional<int64_t> value) {
  return value ? json(*value) : json(nullptr);
}

json OptionalTime(std::optional<TimeMs> at) {
  return at ? json(FormatIsoTime(*at)) : json(nullptr);
}

json CountsJson(const Counts& counts) {
  return {{"total", counts.total},
          {"passed", counts.passed},
          {"failed", counts.failed},
          {"skipped", counts.skipped},
          {"confirmed", counts.confirmed},
          {"not_reached", counts.not_reached},
          {"interrupted", counts.interrupted},
          {"running", counts.running}};
}

json ApprovalJson(const journal::ApprovalRecord& approval) {
  return {{"step_key", approval.step_key},
          {"who", approval.who},
          {"at", FormatIsoTime(approval.at)},
          {"how", journal::ToString(approval.how)},
          {"decision", journal::ToString(approval.decision)},
          {"comment", approval.comment}};
}

class Builder {
 public:
  explicit Builder(const JsonOptions& options) : options_(options) {}

  json AttemptJson(const Attempt& attempt) const {
    bool cut = false;
    std::string excerpt =
        LastLines(attempt.output, options_.excerpt_lines, options_.excerpt_line_bytes, &cut);
    json out = {{"attempt", attempt.number},
                {"status", journal::ToString(attempt.status)},
                {"started_at", FormatIsoTime(attempt.started_at)},
                {"ended_at", OptionalTime(attempt.ended_at)},
                {"duration_ms", OptionalInt(attempt.duration_ms())},
                {"exit_code", attempt.exit_code ? json(*attempt.exit_code) : json(nullptr)},
                {"signal", attempt.signal ? json(*attempt.signal) : json(nullptr)},
                {"message", attempt.summary},
                {"detail", attempt.detail},
                {"captures", attempt.captures},
                {"output",
                 {{"bytes", attempt.output_bytes},
                  {"excerpt", std::move(excerpt)},
                  {"excerpt_complete", !cut && !attempt.output_cut}}}};
    return out;
  }

  json EntryJson(const Entry& entry) const {
    json attempts = json::array();
    for (const Attempt& attempt : entry.attempts)
      attempts.push_back(AttemptJson(attempt));
    json out = {{"key", entry.key},
                {"index", entry.index},
                {"kind", journal::ToString(entry.kind)},
                {"title", entry.title},
                {"phase", entry.phase},
                {"status", journal::ToString(entry.status)},
                {"mark", MarkId(entry.mark)},
                {"budget_ms", OptionalInt(entry.budget_ms)},
                {"started_at", OptionalTime(entry.started_at())},
                {"ended_at", OptionalTime(entry.ended_at())},
                {"duration_ms", OptionalInt(entry.duration_ms())},
                {"over_budget", entry.over_budget()},
                {"approval", entry.approval ? ApprovalJson(*entry.approval) : json(nullptr)},
                {"attempts", std::move(attempts)}};
    return out;
  }

  json StepJson(const Step& step) const {
    json out = EntryJson(step);
    json items = json::array();
    for (const Entry& item : step.items)
      items.push_back(EntryJson(item));
    out["items"] = std::move(items);
    return out;
  }

 private:
  const JsonOptions& options_;
};

}  // namespace

nlohmann::ordered_json RenderJson(const Report& report, const JsonOptions& options) {
  Builder builder(options);
  const journal::RunRecord& run = report.run;
  json phases = json::array();
  json steps = json::array();
  for (const Phase& phase : report.phases) {
    json keys = json::array();
    for (const Step& step : phase.steps) {
      keys.push_back(step.key);
      steps.push_back(builder.StepJson(step));
    }
    phases.push_back({{"name", phase.name},
                      {"budget_ms", OptionalInt(phase.budget_ms())},
                      {"started_at", OptionalTime(phase.started_at())},
                      {"ended_at", OptionalTime(phase.ended_at())},
                      {"duration_ms", OptionalInt(phase.duration_ms())},
                      {"over_budget", phase.over_budget()},
                      {"steps", std::move(keys)}});
  }
  json rollback = json::array();
  for (const Entry& entry : report.rollback)
    rollback.push_back(builder.EntryJson(entry));
  json approvals = json::array();
  for (const journal::ApprovalRecord& approval : report.approvals)
    approvals.push_back(ApprovalJson(approval));

  json out;
  out["schema"] = kReportSchema;
  out["run"] = {
      {"id", run.id},
      {"title", report.title},
      {"status", journal::ToString(run.status)},
      {"exit_code", run.exit_code ? json(*run.exit_code) : json(nullptr)},
      {"environment", run.environment},
      {"runbook",
       {{"path", run.runbook_path},
        {"hash", run.runbook_hash},
        {"git_commit", report.git_commit.empty() ? json(nullptr) : json(report.git_commit)}}},
      {"user", run.user},
      {"host", run.host},
      {"started_at", FormatIsoTime(run.started_at)},
      {"ended_at", OptionalTime(run.ended_at)},
      {"duration_ms", OptionalInt(report.duration_ms())},
      {"resumes", run.resumes},
      {"options", run.options},
      {"scope", run.scope}};
  out["counts"] = {{"steps", CountsJson(report.steps)},
                   {"checks", CountsJson(report.checks)},
                   {"rollback", CountsJson(report.rollbacks)}};
  out["phases"] = std::move(phases);
  out["steps"] = std::move(steps);
  out["rollback"] = std::move(rollback);
  out["approvals"] = std::move(approvals);
  return out;
}

}  // namespace stagecraft::report
