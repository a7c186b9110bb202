#include "runbook/plan.h"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "base/text.h"

namespace stagecraft::runbook {
namespace {

int CountLines(const std::string& text) {
  int lines = 0;
  for (std::string_view line : SplitLines(text)) {
    std::string_view trimmed = TrimView(line);
    if (!trimmed.empty() && trimmed.front() != '#') ++lines;
  }
  return lines;
}

std::string LinesSummary(std::string_view language, const std::string& text) {
  int lines = CountLines(text);
  return fmt::format("{}, {} line{}", language, lines, lines == 1 ? "" : "s");
}

void CountItem(const ChecklistItem& item, PlanTotals& totals) {
  if (item.is_check()) ++totals.checks;
  if (item.is_manual()) ++totals.manual_confirmations;
  for (const auto& child : item.children)
    CountItem(child, totals);
}

std::string AttributeSummary(const Attributes& a) {
  std::vector<std::string> parts;
  if (a.name) parts.push_back("name=" + *a.name);
  if (a.timeout) parts.push_back("timeout=" + FormatDuration(*a.timeout));
  if (a.retries) parts.push_back(fmt::format("retries={}", a.retries));
  if (a.delay.count()) parts.push_back("delay=" + FormatDuration(a.delay));
  if (a.until) parts.push_back("until");
  if (a.capture)
    parts.push_back("capture=" + a.capture->variable +
                    (a.capture->regex ? ":/" + *a.capture->regex + "/" : ""));
  if (a.confirm) parts.push_back("confirm");
  if (a.idempotent) parts.push_back("idempotent");
  if (a.ignore) parts.push_back("ignore");
  if (a.skip) parts.push_back("skip");
  if (a.cwd) parts.push_back("cwd=" + *a.cwd);
  if (a.interactive) parts.push_back("interactive");
  if (a.background) parts.push_back("background");
  if (parts.empty()) return "";
  return fmt::format(" {{{}}}", fmt::join(parts, " "));
}

std::string ActionSummary(const Action& action) {
  if (action.is_transcript()) {
    int expected = 0;
    for (const auto& command : action.transcript)
      expected += static_cast<int>(command.expected.size());
    return fmt::format("{} transcript, {} command{}, {} expected line{}{}", action.interpreter,
                       action.transcript.size(), action.transcript.size() == 1 ? "" : "s", expected,
                       expected == 1 ? "" : "s", AttributeSummary(action.attributes));
  }
  return LinesSummary(action.interpreter, action.block.text) + AttributeSummary(action.attributes);
}

class TextRenderer {
 public:
  explicit TextRenderer(std::string& out) : out_(out) {}

  void Row(int indent, std::string_view tag, std::string_view text, int line) {
    std::string left = fmt::format("{:{}}{:<7} {}", "", indent, tag, text);
    if (line > 0)
      out_ += fmt::format("{:<66} line {}\n", left, line);
    else
      out_ += left + "\n";
  }

  void ActionRows(int indent, const Action& action) {
    Row(indent, "run", ActionSummary(action), action.block.pos.line);
    if (action.attributes.confirm) Row(indent, "gate", "asks for approval before running", 0);
    for (const auto& expectation : action.expectations)
      Row(indent, "expect",
          fmt::format("{} line{} in order", expectation.lines.size(),
                      expectation.lines.size() == 1 ? "" : "s"),
          expectation.pos.line);
    for (const auto& red_flag : action.red_flags)
      Row(indent, "forbid",
          fmt::format("{} line{} must not appear", red_flag.lines.size(),
                      red_flag.lines.size() == 1 ? "" : "s"),
          red_flag.pos.line);
    for (const auto& verification : action.verifications)
      Row(indent, "verify", LinesSummary(verification.language, verification.text),
          verification.pos.line);
  }

  void ItemRows(int indent, const ChecklistItem& item) {
    std::string text = item.text.empty() ? "(untitled item)" : item.text;
    if (item.ticked_in_source) text += " (ticked in source; verified anyway)";
    const char* tag = item.is_check() ? "check" : item.is_group() ? "group" : "manual";
    Row(indent, tag, text, item.pos.line);
    for (const auto& action : item.actions)
      ActionRows(indent + 2, action);
    for (const auto& child : item.children)
      ItemRows(indent + 2, child);
  }

  void StepRows(int indent, const Step& step, std::string_view label) {
    std::vector<std::string> notes;
    if (step.budget) notes.push_back("budget " + FormatDuration(*step.budget));
    if (step.timeout) notes.push_back("timeout " + FormatDuration(*step.timeout));
    if (step.manual) notes.push_back("manual");
    if (step.skip) notes.push_back("skipped");
    std::string head = fmt::format("{:{}}{} {}  {}", "", indent, label, step.name, step.title);
    if (!notes.empty()) head += fmt::format("  [{}]", fmt::join(notes, ", "));
    out_ += fmt::format("{:<66} line {}\n", head, step.pos.line);
    for (const auto& action : step.actions)
      ActionRows(indent + 2, action);
    for (const auto& item : step.checklist)
      ItemRows(indent + 2, item);
    if (step.kind == StepKind::kStep) {
      for (const auto& block : step.compensation)
        Row(indent + 2, "undo", LinesSummary(block.language, block.text), block.pos.line);
      for (const auto& note : step.rollback_notes)
        Row(indent + 2, "undo", "note: " + note, 0);
      if (!step.has_rollback()) Row(indent + 2, "undo", "none", 0);
    }
  }

 private:
  std::string& out_;
};

Millis PlannedDuration(const Runbook& runbook, int* budgeted_steps) {
  // A phase's own budget covers its steps; otherwise its steps' budgets add up.
  std::map<int, Millis> step_sum;
  Millis total{0};
  *budgeted_steps = 0;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep) continue;
    bool phase_budgeted = step.phase >= 0 && runbook.phases[step.phase].budget;
    if (step.budget || phase_budgeted) ++*budgeted_steps;
    if (step.budget) step_sum[step.phase] += *step.budget;
  }
  std::map<int, bool> phase_seen;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep || phase_seen[step.phase]) continue;
    phase_seen[step.phase] = true;
    const Phase* phase = step.phase >= 0 ? &runbook.phases[step.phase] : nullptr;
    if (phase && phase->budget)
      total += *phase->budget;
    else
      total += step_sum[step.phase];
  }
  return total;
}

std::map<std::string, std::string> Scope(const Runbook& runbook, const Environment* environment) {
  std::map<std::string, std::string> vars = runbook.front_matter.vars;
  if (environment)
    for (const auto& [name, value] : environment->vars)
      vars[name] = value;
  return vars;
}

const char* SecretSourceName(SecretSource source) {
  switch (source) {
    case SecretSource::kEnv:
      return "env";
    case SecretSource::kFile:
      return "file";
    case SecretSource::kCommand:
      return "command";
  }
  return "";
}

}  // namespace

PlanTotals ComputeTotals(const Runbook& runbook) {
  PlanTotals totals;
  for (const Step& step : runbook.steps) {
    if (step.kind == StepKind::kRollback) continue;
    if (step.kind == StepKind::kStep) {
      ++totals.steps;
      if (step.has_rollback()) ++totals.steps_with_rollback;
      if (step.manual) ++totals.gates;
    }
    totals.actions += static_cast<int>(step.actions.size());
    for (const Action& action : step.actions)
      if (action.attributes.confirm) ++totals.gates;
    for (const auto& item : step.checklist)
      CountItem(item, totals);
  }
  totals.planned = PlannedDuration(runbook, &totals.budgeted_steps);
  return totals;
}

std::string RenderPlanText(const Runbook& runbook, const Environment* environment) {
  std::string out;
  TextRenderer renderer(out);
  out += fmt::format("Runbook   {}\n", runbook.title);
  out += fmt::format("File      {}\n", runbook.path);
  if (environment)
    out += fmt::format(
        "Env       {}{}\n", environment->name,
        environment->is_protected ? " (protected: asks for its name before running)" : "");
  auto vars = Scope(runbook, environment);
  if (!vars.empty()) {
    std::vector<std::string> pairs;
    for (const auto& [name, value] : vars)
      pairs.push_back(name + "=" + value);
    out += fmt::format("Vars      {}\n", fmt::join(pairs, ", "));
  }
  if (!runbook.front_matter.secrets.empty()) {
    std::vector<std::string> names;
    for (const auto& secret : runbook.front_matter.secrets)
      names.push_back(fmt::format("{} ({})", secret.name, SecretSourceName(secret.source)));
    out += fmt::format("Secrets   {}\n", fmt::join(names, ", "));
  }
  if (!runbook.front_matter.requires_tools.empty()) {
    std::vector<std::string> tools;
    for (const auto& r : runbook.front_matter.requires_tools)
      tools.push_back(r.op.empty() ? r.tool : fmt::format("{} {} {}", r.tool, r.op, r.version));
    out += fmt::format("Requires  {}\n", fmt::join(tools, ", "));
  }

  bool any_executable = false;
  for (const Step& step : runbook.steps)
    if (!step.actions.empty() || !step.checklist.empty()) any_executable = true;
  if (!any_executable) {
    out +=
        "\nNothing to run: the runbook has no executable blocks (```bash and the like) and "
        "no checklists.\n";
    return out;
  }

  auto section = [&](StepKind kind, std::string_view heading) {
    bool printed = false;
    int phase = -2;
    int number = 0;
    for (const Step& step : runbook.steps) {
      if (step.kind != kind) continue;
      if (!printed) {
        out += fmt::format("\n{}\n", heading);
        printed = true;
      }
      int indent = 2;
      if (kind == StepKind::kStep) {
        if (step.phase != phase) {
          phase = step.phase;
          if (phase >= 0) {
            const Phase& p = runbook.phases[phase];
            std::string head = "  Phase: " + p.title;
            if (p.budget) head += fmt::format("  [budget {}]", FormatDuration(*p.budget));
            out += fmt::format("{:<66} line {}\n", head, p.pos.line);
          }
        }
        indent = phase >= 0 ? 4 : 2;
        renderer.StepRows(indent, step, fmt::format("{}.", ++number));
      } else {
        renderer.StepRows(indent, step, "-");
      }
    }
  };
  section(StepKind::kPreflight,
          "PREFLIGHT  runs before anything changes; a failure stops the run without rollback");
  section(StepKind::kStep, "STEPS  in document order");
  section(StepKind::kSuccessCriteria, "SUCCESS CRITERIA  checked after the last step");
  section(StepKind::kRollback,
          "ROLLBACK PROCEDURE  on failure, after the completed steps' own undo blocks (newest "
          "first)");
  if (!runbook.sign_off.empty()) {
    std::vector<std::string> roles;
    for (const auto& role : runbook.sign_off)
      roles.push_back(role.role);
    out += fmt::format("\nSIGN-OFF  {}\n", fmt::join(roles, ", "));
  }

  PlanTotals totals = ComputeTotals(runbook);
  out += fmt::format(
      "\nTotals    {} step{} ({} with rollback), {} action{}, {} check{}, {} manual "
      "confirmation{}, {} gate{}\n",
      totals.steps, totals.steps == 1 ? "" : "s", totals.steps_with_rollback, totals.actions,
      totals.actions == 1 ? "" : "s", totals.checks, totals.checks == 1 ? "" : "s",
      totals.manual_confirmations, totals.manual_confirmations == 1 ? "" : "s", totals.gates,
      totals.gates == 1 ? "" : "s");
  out += fmt::format("Planned   {} (budgets cover {} of {} steps)\n",
                     totals.planned.count() ? FormatDuration(totals.planned) : "no budgets",
                     totals.budgeted_steps, totals.steps);
  return out;
}

namespace {

nlohmann::json PosJson(SourcePos pos) {
  return {{"line", pos.line}, {"column", pos.column}};
}

nlohmann::json OptionalMillis(const std::optional<Millis>& value) {
  return value ? nlohmann::json(value->count()) : nlohmann::json(nullptr);
}

nlohmann::json ExpectedJson(const std::vector<ExpectedLine>& lines) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& line : lines) {
    static const char* kinds[] = {"literal", "regex", "glob", "any_lines"};
    array.push_back({{"kind", kinds[static_cast<int>(line.kind)]},
                     {"pattern", line.pattern},
                     {"line", line.line}});
  }
  return array;
}

nlohmann::json ActionJson(const Action& action) {
  const Attributes& a = action.attributes;
  nlohmann::json attributes = {
      {"name", a.name ? nlohmann::json(*a.name) : nlohmann::json(nullptr)},
      {"timeout_ms", OptionalMillis(a.timeout)},
      {"retries", a.retries},
      {"delay_ms", a.delay.count()},
      {"until", a.until},
      {"capture",
       a.capture ? nlohmann::json{{"variable", a.capture->variable},
                                  {"regex", a.capture->regex ? nlohmann::json(*a.capture->regex)
                                                             : nlohmann::json(nullptr)}}
                 : nlohmann::json(nullptr)},
      {"confirm", a.confirm},
      {"idempotent", a.idempotent},
      {"ignore", a.ignore},
      {"skip", a.skip},
      {"cwd", a.cwd ? nlohmann::json(*a.cwd) : nlohmann::json(nullptr)},
      {"interactive", a.interactive},
      {"background", a.background}};
  nlohmann::json transcript = nlohmann::json::array();
  for (const auto& command : action.transcript)
    transcript.push_back({{"command", command.command},
                          {"expected", ExpectedJson(command.expected)},
                          {"line", command.pos.line}});
  nlohmann::json expectations = nlohmann::json::array();
  for (const auto& e : action.expectations)
    expectations.push_back({{"line", e.pos.line}, {"lines", ExpectedJson(e.lines)}});
  nlohmann::json red_flags = nlohmann::json::array();
  for (const auto& e : action.red_flags)
    red_flags.push_back({{"line", e.pos.line}, {"lines", ExpectedJson(e.lines)}});
  nlohmann::json verifications = nlohmann::json::array();
  for (const auto& v : action.verifications)
    verifications.push_back({{"language", v.language}, {"line", v.pos.line}, {"code", v.text}});
  // Named parts are moved in: nlohmann copies what an initializer list names, deeply, which
  // made the JSON plan quadratic in checklist nesting.
  return {{"language", action.block.language},        {"interpreter", action.interpreter},
          {"position", PosJson(action.block.pos)},    {"code", action.block.text},
          {"attributes", std::move(attributes)},      {"transcript", std::move(transcript)},
          {"expectations", std::move(expectations)},  {"red_flags", std::move(red_flags)},
          {"verifications", std::move(verifications)}};
}

nlohmann::json ItemJson(const ChecklistItem& item) {
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& action : item.actions)
    actions.push_back(ActionJson(action));
  nlohmann::json children = nlohmann::json::array();
  for (const auto& child : item.children)
    children.push_back(ItemJson(child));
  return {{"text", item.text},
          {"kind", item.is_check()   ? "check"
                   : item.is_group() ? "group"
                                     : "manual"},
          {"ticked_in_source", item.ticked_in_source},
          {"position", PosJson(item.pos)},
          {"actions", std::move(actions)},
          {"children", std::move(children)}};
}

nlohmann::json StepJson(const Step& step) {
  static const char* kinds[] = {"step", "preflight", "success_criteria", "rollback"};
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& action : step.actions)
    actions.push_back(ActionJson(action));
  nlohmann::json checklist = nlohmann::json::array();
  for (const auto& item : step.checklist)
    checklist.push_back(ItemJson(item));
  nlohmann::json compensation = nlohmann::json::array();
  for (const auto& block : step.compensation)
    compensation.push_back(
        {{"language", block.language}, {"line", block.pos.line}, {"code", block.text}});
  return {{"name", step.name},
          {"title", step.title},
          {"kind", kinds[static_cast<int>(step.kind)]},
          {"phase", step.phase >= 0 ? nlohmann::json(step.phase) : nlohmann::json(nullptr)},
          {"position", PosJson(step.pos)},
          {"budget_ms", OptionalMillis(step.budget)},
          {"timeout_ms", OptionalMillis(step.timeout)},
          {"manual", step.manual},
          {"skip", step.skip},
          {"actions", std::move(actions)},
          {"checklist", std::move(checklist)},
          {"rollback", {{"blocks", std::move(compensation)}, {"notes", step.rollback_notes}}},
          {"troubleshooting", step.troubleshooting}};
}

}  // namespace

nlohmann::json RenderPlanJson(const Runbook& runbook, const Environment* environment) {
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& phase : runbook.phases)
    phases.push_back({{"title", phase.title},
                      {"position", PosJson(phase.pos)},
                      {"budget_ms", OptionalMillis(phase.budget)}});
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : runbook.steps)
    steps.push_back(StepJson(step));
  nlohmann::json secrets = nlohmann::json::array();
  for (const auto& secret : runbook.front_matter.secrets)
    secrets.push_back({{"name", secret.name}, {"source", SecretSourceName(secret.source)}});
  nlohmann::json requires_tools = nlohmann::json::array();
  for (const auto& r : runbook.front_matter.requires_tools)
    requires_tools.push_back({{"tool", r.tool}, {"op", r.op}, {"version", r.version}});
  nlohmann::json sign_off = nlohmann::json::array();
  for (const auto& role : runbook.sign_off)
    sign_off.push_back(role.role);
  PlanTotals totals = ComputeTotals(runbook);
  return {
      {"schema", "stagecraft.plan/v1"},
      {"file", runbook.path},
      {"title", runbook.title},
      {"environment", environment ? nlohmann::json(environment->name) : nlohmann::json(nullptr)},
      {"protected", environment ? environment->is_protected : false},
      {"shell", runbook.front_matter.shell},
      {"vars", Scope(runbook, environment)},
      {"secrets", std::move(secrets)},
      {"requires", std::move(requires_tools)},
      {"phases", std::move(phases)},
      {"steps", std::move(steps)},
      {"sign_off", std::move(sign_off)},
      {"totals",
       {{"steps", totals.steps},
        {"steps_with_rollback", totals.steps_with_rollback},
        {"actions", totals.actions},
        {"checks", totals.checks},
        {"manual_confirmations", totals.manual_confirmations},
        {"gates", totals.gates},
        {"budgeted_steps", totals.budgeted_steps},
        {"planned_ms", totals.planned.count()}}}};
}

}  // namespace stagecraft::runbook
