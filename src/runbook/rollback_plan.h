#pragma once

// The plan's view of the rollback rules (rollback_rules.h): what each step of the rollback
// procedure is scoped to, which alternatives exist, and what a failure of each step of the
// flow runs. Text for `plan`, JSON members for `plan --json` (docs/plan-schema.md).

#include <algorithm>
#include <string>
#include <vector>

#include "runbook/alternatives.h"
#include "runbook/model.h"
#include "runbook/rollback_rules.h"

namespace stagecraft::runbook {

// The note shown after the title of a step that belongs to an alternative, of either flow:
// "default alternative", "chosen alternative", "instead of option-1-…"; "" for other steps.
std::string AlternativeNote(const Step& step, const AlternativeChoice& choice);

// The notes shown after a rollback step's title in the text plan: "after deploy-db", then
// its AlternativeNote; "" when there are none.
std::string RollbackScopeNote(const Step& step, const AlternativeChoice& choice);

// True when the step belongs to an alternative that does not run as chosen: the plan lists
// it under ALTERNATIVES instead of under STEPS or ROLLBACK PROCEDURE.
bool IsOtherAlternative(const Step& step, const AlternativeChoice& choice);

// The "IF A STEP FAILS" section of the text plan, or "" when the runbook has no rollback
// procedure. Ends with a newline. `chosen`: the --choose names.
std::string RenderFailureText(const Runbook& runbook, const std::vector<std::string>& chosen);

// The step's `rollback_scope` member: null outside the rollback procedure.
template <typename Json>
void RollbackScopeJson(Json& json, const Step& step) {
  const SectionScope& scope = step.scope();
  if (step.kind != StepKind::kRollback) {
    json.Null();
    return;
  }
  json.BeginObject();
  json.Key("after");
  json.BeginArray();
  for (const std::string& name : scope.after)
    json.String(name);
  json.EndArray();
  json.Key("alternative");
  if (scope.alternative.empty())
    json.Null();
  else
    json.String(scope.alternative);
  json.Key("default");
  json.Bool(scope.is_default);
  json.EndObject();
}

// The step's `alternative` member: null outside a group of alternatives.
template <typename Json>
void StepAlternativeJson(Json& json, const Step& step, const AlternativeChoice& choice) {
  const SectionScope& scope = step.scope();
  if (scope.alternative.empty()) {
    json.Null();
    return;
  }
  std::string instead = choice.RunsInstead(step);
  json.BeginObject();
  json.Key("instead_of");
  if (instead.empty())
    json.Null();
  else
    json.String(instead);
  json.Key("name");
  json.String(scope.alternative);
  json.Key("runs");
  json.Bool(instead.empty());
  json.EndObject();
}

// The top-level `alternatives` member (every group, both flows, as chosen) or, with
// `rollback_only`, the `rollback_alternatives` member older readers know.
template <typename Json>
void AlternativesJson(Json& json, const Runbook& runbook, const std::vector<std::string>& chosen,
                      bool rollback_only) {
  json.BeginArray();
  for (const AlternativeGroup& group : Alternatives(runbook)) {
    if (rollback_only && group.kind != StepKind::kRollback) continue;
    json.BeginObject();
    json.Key("choices");
    json.BeginArray();
    for (size_t i = 0; i < group.names.size(); ++i) {
      json.BeginObject();
      json.Key("line");
      json.Number(group.positions[i].line);
      json.Key("name");
      json.String(group.names[i]);
      json.Key("title");
      json.String(group.titles[i]);
      json.EndObject();
    }
    json.EndArray();
    json.Key("default");
    json.String(group.names[group.default_index]);
    if (!rollback_only) {
      json.Key("flow");
      json.String(group.kind == StepKind::kRollback ? "rollback" : "steps");
      json.Key("runs");
      std::string runs = group.names[group.default_index];
      for (const std::string& name : chosen)
        if (std::find(group.names.begin(), group.names.end(), name) != group.names.end())
          runs = name;
      json.String(runs);
    }
    json.EndObject();
  }
  json.EndArray();
}

// The top-level `rollback_on_failure` member.
template <typename Json>
void RollbackOnFailureJson(Json& json, const Runbook& runbook,
                           const std::vector<std::string>& chosen) {
  json.BeginArray();
  bool any_procedure = false;
  for (const Step& step : runbook.steps)
    any_procedure = any_procedure || step.kind == StepKind::kRollback;
  for (const FailureGroup& group :
       any_procedure ? PlanFailures(runbook, chosen) : std::vector<FailureGroup>{}) {
    json.BeginObject();
    json.Key("failing_steps");
    json.BeginArray();
    for (const Step* step : group.failing)
      json.String(step->name);
    json.EndArray();
    json.Key("procedure");
    json.BeginArray();
    for (const RollbackDecision& decision : group.procedure) {
      json.BeginObject();
      json.Key("not_run");
      if (decision.runs())
        json.Null();
      else
        json.String(decision.Code());
      json.Key("reason");
      json.String(decision.Reason());
      json.Key("step");
      json.String(decision.step->name);
      json.EndObject();
    }
    json.EndArray();
    json.Key("rolls_back");
    json.Bool(group.rolls_back);
    json.EndObject();
  }
  json.EndArray();
}

}  // namespace stagecraft::runbook
