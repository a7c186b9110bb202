// The JSON plan of `stagecraft plan --json` (docs/plan-schema.md). Keys are written in
// alphabetical order, as nlohmann prints them.

#include <algorithm>

#include "base/json_writer.h"
#include "runbook/inputs.h"
#include "runbook/plan_output.h"
#include "runbook/rollback_plan.h"
#include "runbook/walk.h"
#include "runbook/working_directory.h"

namespace stagecraft::runbook {
namespace {

using Json = JsonWriter<PlanOutput&>;

std::optional<int64_t> Ms(const std::optional<Millis>& value) {
  if (!value) return std::nullopt;
  return value->count();
}

// "key": [...], each item written by `write`.
template <typename Items, typename Write>
void ArrayField(Json& json, std::string_view key, const Items& items, Write write) {
  json.Key(key);
  json.BeginArray();
  for (const auto& item : items)
    write(item);
  json.EndArray();
}

void PositionField(Json& json, SourcePos pos) {
  json.Key("position");
  json.BeginObject();
  json.Field("column", pos.column);
  json.Field("line", pos.line);
  json.EndObject();
}

void ExpectedField(Json& json, std::string_view key, const std::vector<ExpectedLine>& lines) {
  static const char* kinds[] = {"literal", "regex", "glob", "any_lines"};
  ArrayField(json, key, lines, [&](const ExpectedLine& line) {
    json.BeginObject();
    json.Field("kind", kinds[static_cast<int>(line.kind)]);
    json.Field("line", line.line);
    json.Field("pattern", line.pattern);
    json.EndObject();
  });
}

void ExpectationsField(Json& json, std::string_view key, const std::vector<Expectation>& all) {
  ArrayField(json, key, all, [&](const Expectation& expectation) {
    json.BeginObject();
    json.Field("line", expectation.pos.line);
    ExpectedField(json, "lines", expectation.lines);
    json.EndObject();
  });
}

void AttributesField(Json& json, const Attributes& a) {
  json.Key("attributes");
  json.BeginObject();
  json.Field("background", a.background);
  json.Key("capture");
  if (a.capture) {
    json.BeginObject();
    json.Field("regex", a.capture->regex);
    json.Field("variable", a.capture->variable);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Field("confirm", a.confirm);
  json.Field("cwd", a.cwd);
  json.Field("delay_ms", int64_t{a.delay.count()});
  json.Field("idempotent", a.idempotent);
  json.Field("ignore", a.ignore);
  json.Field("interactive", a.interactive);
  json.Field("name", a.name);
  json.Field("retries", a.retries);
  json.Field("skip", a.skip);
  json.Field("stream_ms", Ms(a.stream));
  json.Field("timeout_ms", Ms(a.timeout));
  json.Field("until", a.until);
  json.EndObject();
}

// Verifications and rollback blocks, with the attributes they have as actions.
void BlocksField(Json& json, const Runbook& runbook, std::string_view key,
                 const std::vector<Block>& blocks) {
  ArrayField(json, key, blocks, [&](const Block& block) {
    json.BeginObject();
    AttributesField(json, runbook.BlockAction(block).attributes);
    json.Field("code", block.text);
    json.Field("interpreter", block.interpreter);
    json.Field("language", block.language);
    json.Field("line", block.pos.line);
    json.EndObject();
  });
}

void ActionsField(Json& json, const Runbook& runbook, const std::vector<Action>& actions) {
  ArrayField(json, "actions", actions, [&](const Action& action) {
    json.BeginObject();
    AttributesField(json, action.attributes);
    json.Field("code", action.block.text);
    ExpectationsField(json, "expectations", action.expectations);
    json.Field("interpreter", action.block.interpreter);
    json.Field("language", action.block.language);
    PositionField(json, action.block.pos);
    ExpectationsField(json, "red_flags", action.red_flags);
    ArrayField(json, "transcript", action.transcript, [&](const TranscriptCommand& command) {
      json.BeginObject();
      json.Field("command", command.command);
      ExpectedField(json, "expected", command.expected);
      json.Field("line", command.pos.line);
      json.EndObject();
    });
    BlocksField(json, runbook, "verifications", action.verifications);
    json.EndObject();
  });
}

void ItemsField(Json& json, const Runbook& runbook, std::string_view key,
                const std::vector<ChecklistItem>& items) {
  ArrayField(json, key, items, [&](const ChecklistItem& item) {
    json.BeginObject();
    ActionsField(json, runbook, item.actions);
    ItemsField(json, runbook, "children", item.children);
    json.Field("kind", ItemKind(item));
    PositionField(json, item.pos);
    json.Field("text", item.text);
    json.Field("ticked_in_source", item.ticked_in_source);
    json.EndObject();
  });
}

void StepJson(Json& json, const Runbook& runbook, const Step& step, const InputList& inputs,
              const std::map<const Step*, StepDirectory>& directories,
              const AlternativeChoice& choice) {
  json.BeginObject();
  ActionsField(json, runbook, step.actions);
  json.Key("alternative");
  StepAlternativeJson(json, step, choice);
  json.Field("budget_ms", Ms(step.budget));
  ItemsField(json, runbook, "checklist", step.checklist);
  // Where the step starts: "." (the root) unless a cd before it says otherwise; null when
  // only the run can know. The rollback's depends on where the run stopped.
  auto dir = directories.find(&step);
  std::optional<std::string> cwd = ".";
  if (step.kind == StepKind::kRollback)
    cwd = std::nullopt;
  else if (dir != directories.end())
    cwd = dir->second.known ? std::optional<std::string>(dir->second.path) : std::nullopt;
  json.Field("cwd", cwd);
  auto used = inputs.by_step.find(&step);
  ArrayField(json, "inputs",
             used == inputs.by_step.end() ? std::vector<std::string>() : used->second,
             [&](const std::string& name) { json.String(name); });
  json.Field("kind", Name(step.kind));
  json.Field("manual", step.manual);
  json.Field("name", step.name);
  json.Field("phase", step.phase >= 0 ? std::optional<int64_t>(step.phase) : std::nullopt);
  PositionField(json, step.pos);
  json.Key("rollback");
  json.BeginObject();
  BlocksField(json, runbook, "blocks", step.compensation);
  ArrayField(json, "notes", step.rollback_notes,
             [&](const std::string& note) { json.String(note); });
  json.EndObject();
  json.Key("rollback_scope");
  RollbackScopeJson(json, step);
  json.Field("skip", step.skip);
  json.Field("timeout_ms", Ms(step.timeout));
  json.Field("title", step.title);
  json.Field("troubleshooting", step.troubleshooting);
  json.EndObject();
}

void TotalsField(Json& json, const PlanTotals& totals) {
  json.Key("totals");
  json.BeginObject();
  json.Field("actions", totals.actions);
  json.Field("budgeted_steps", totals.budgeted_steps);
  json.Field("checks", totals.checks);
  json.Field("gates", totals.gates);
  json.Field("manual_confirmations", totals.manual_confirmations);
  json.Field("planned_ms", int64_t{totals.planned.count()});
  json.Field("steps", totals.steps);
  json.Field("steps_with_rollback", totals.steps_with_rollback);
  json.EndObject();
}

}  // namespace

void RenderJson(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
                PlanOutput& out) {
  Json json(out);
  json.BeginObject();
  json.Key("alternatives");
  AlternativesJson(json, runbook, options.choose, /*rollback_only=*/false);
  ArrayField(json, "documentation", runbook.documentation,
             [&](const DocumentationSection& section) {
               json.BeginObject();
               PositionField(json, section.pos);
               json.Field("title", section.title);
               json.EndObject();
             });
  json.Field("environment",
             environment ? std::optional<std::string_view>(environment->name) : std::nullopt);
  json.Field("file", runbook.path);
  const InputList inputs = ListInputs(runbook);
  ArrayField(json, "inputs", inputs.all, [&](const std::string& name) {
    const InputSpec* spec = FindInputSpec(runbook, name);
    json.BeginObject();
    json.Field("command", spec ? spec->command : std::nullopt);
    json.Field("default", InputDefault(runbook, inputs, name));
    json.Field("description", spec ? spec->description : std::string());
    json.Field("name", name);
    std::vector<std::string_view> steps;
    for (const Step& step : runbook.steps)
      if (auto used = inputs.by_step.find(&step);
          used != inputs.by_step.end() &&
          std::find(used->second.begin(), used->second.end(), name) != used->second.end())
        steps.push_back(step.name);
    ArrayField(json, "steps", steps, [&](std::string_view step) { json.String(step); });
    json.EndObject();
  });
  ArrayField(json, "phases", runbook.phases, [&](const Phase& phase) {
    json.BeginObject();
    json.Field("budget_ms", Ms(phase.budget));
    PositionField(json, phase.pos);
    json.Field("title", phase.title);
    json.EndObject();
  });
  json.Field("protected", environment ? environment->is_protected : false);
  ArrayField(json, "requires", runbook.front_matter.requires_tools, [&](const Requirement& r) {
    json.BeginObject();
    json.Field("op", r.op);
    json.Field("tool", r.tool);
    json.Field("version", r.version);
    json.EndObject();
  });
  json.Key("rollback_alternatives");
  AlternativesJson(json, runbook, options.choose, /*rollback_only=*/true);
  json.Key("rollback_on_failure");
  RollbackOnFailureJson(json, runbook, options.choose);
  json.Field("schema", "stagecraft.plan/v1");
  ArrayField(json, "secrets", runbook.front_matter.secrets, [&](const SecretSpec& secret) {
    json.BeginObject();
    json.Field("name", secret.name);
    json.Field("source", SecretSourceName(secret.source));
    json.EndObject();
  });
  json.Field("shell", runbook.front_matter.shell);
  ArrayField(json, "sign_off", runbook.sign_off,
             [&](const SignOffRole& role) { json.String(role.role); });
  const std::map<const Step*, StepDirectory> directories = StepDirectories(runbook);
  const AlternativeChoice choice(runbook, options.choose);
  ArrayField(json, "steps", runbook.steps,
             [&](const Step& step) { StepJson(json, runbook, step, inputs, directories, choice); });
  json.Field("title", runbook.title);
  TotalsField(json, ComputeTotals(runbook, options.choose));
  json.Key("vars");
  json.BeginObject();
  for (const auto& [name, value] : Scope(runbook, environment))
    json.Field(name, value);
  json.EndObject();
  json.EndObject();
  out.Append('\n');
}

}  // namespace stagecraft::runbook
