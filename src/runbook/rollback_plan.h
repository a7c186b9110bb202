#pragma once

// The plan's view of the rollback rules (rollback_rules.h): what each step of the rollback
// procedure is scoped to, which alternatives exist, and what a failure of each step of the
// flow runs. Text for `plan`, JSON members for `plan --json` (docs/plan-schema.md).

#include <string>

#include "runbook/model.h"
#include "runbook/rollback_rules.h"

namespace stagecraft::runbook {

// The notes shown after a rollback step's title in the text plan: "after deploy-db",
// "default alternative", "instead of option-1-…"; "" when there are none.
std::string RollbackScopeNote(const Runbook& runbook, const Step& step);

// True when the step belongs to an alternative that does not run unless chosen: the plan
// lists it under ALTERNATIVES instead of under ROLLBACK PROCEDURE.
bool IsOtherAlternative(const Step& step);

// The "IF A STEP FAILS" section of the text plan, or "" when the runbook has no rollback
// procedure. Ends with a newline.
std::string RenderFailureText(const Runbook& runbook);

// The step's `rollback_scope` member: null outside the rollback procedure.
template <typename Json>
void RollbackScopeJson(Json& json, const Step& step) {
  const RollbackScope& scope = step.rollback_scope();
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

// The top-level `rollback_alternatives` member.
template <typename Json>
void RollbackAlternativesJson(Json& json, const Runbook& runbook) {
  json.BeginArray();
  for (const AlternativeGroup& group : Alternatives(runbook)) {
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
    json.EndObject();
  }
  json.EndArray();
}

// The top-level `rollback_on_failure` member.
template <typename Json>
void RollbackOnFailureJson(Json& json, const Runbook& runbook) {
  json.BeginArray();
  bool any_procedure = false;
  for (const Step& step : runbook.steps)
    any_procedure = any_procedure || step.kind == StepKind::kRollback;
  for (const FailureGroup& group :
       any_procedure ? PlanFailures(runbook) : std::vector<FailureGroup>{}) {
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
