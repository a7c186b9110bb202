#include "runbook/alternatives.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/text.h"

namespace stagecraft::runbook {
namespace {

bool MayBeAlternative(const Step& step) {
  return step.kind == StepKind::kStep || step.kind == StepKind::kRollback;
}

// One heading titled as an alternative, with the steps under it.
struct Alternative {
  const SectionScope* scope = nullptr;  // of its first step: title, position, default
  std::vector<Step*> steps;
  std::string name;
};

// The alternative's name: that of the step at its heading (unique already), or else the slug
// of its title, made unique.
std::string AlternativeName(const Alternative& alternative, std::set<std::string>& taken) {
  for (const Step* step : alternative.steps)
    if (step->pos.line == alternative.scope->alternative_pos.line) return step->name;
  std::string name = Slugify(alternative.scope->alternative_title);
  if (name.empty()) name = "alternative";
  std::string unique = name;
  for (int suffix = 2; !taken.insert(unique).second; ++suffix)
    unique = fmt::format("{}-{}", name, suffix);
  return unique;
}

// Settles one group of alternatives: their names and the one that runs by default.
void ResolveGroup(std::vector<Alternative>& group, std::set<std::string>& taken,
                  Diagnostics& diagnostics) {
  if (group.size() == 1) {
    // Nothing to choose between: it runs like any other section.
    const SectionScope& scope = *group.front().scope;
    diagnostics.push_back(
        {Severity::kWarning, scope.alternative_pos,
         fmt::format("'{}' is titled as an alternative but has no sibling alternative, so it "
                     "always runs",
                     scope.alternative_title),
         "give it a sibling 'Option 2: …', or mark it skip if it should not run"});
    for (Step* step : group.front().steps)
      step->mutable_scope().alternative_group = -1;
    return;
  }
  const Alternative* marked = nullptr;
  for (Alternative& alternative : group) {
    alternative.name = AlternativeName(alternative, taken);
    if (!alternative.scope->marked_default) continue;
    if (marked)
      diagnostics.push_back(
          {Severity::kError, alternative.scope->default_pos,
           fmt::format("two alternatives of one group are marked 'default' (the first at line {})",
                       marked->scope->default_pos.line),
           "only one alternative of a group runs by default; remove one of the words"});
    else
      marked = &alternative;
  }
  if (!marked) marked = &group.front();
  for (Alternative& alternative : group)
    for (Step* step : alternative.steps) {
      step->mutable_scope().alternative = alternative.name;
      step->mutable_scope().is_default = &alternative == marked;
    }
}

}  // namespace

void ResolveAlternatives(Runbook& runbook, Diagnostics& diagnostics) {
  // group -> heading line -> alternative, in document order.
  std::map<int, std::map<int, Alternative>> groups;
  for (Step& step : runbook.steps) {
    if (!step.scope_ptr || step.scope().alternative_group < 0) continue;
    if (!MayBeAlternative(step)) {
      // A preflight step under an option's heading is a check, not a choice.
      step.mutable_scope().alternative_group = -1;
      continue;
    }
    const SectionScope& scope = step.scope();
    Alternative& alternative = groups[scope.alternative_group][scope.alternative_pos.line];
    if (!alternative.scope) alternative.scope = &scope;
    alternative.steps.push_back(&step);
  }
  if (groups.empty()) return;  // then no set of every step's name is needed
  std::set<std::string> taken;
  for (const Step& step : runbook.steps)
    taken.insert(step.name);
  for (auto& [id, by_line] : groups) {
    std::vector<Alternative> group;
    for (auto& [line, alternative] : by_line)
      group.push_back(std::move(alternative));
    ResolveGroup(group, taken, diagnostics);
  }
}

std::vector<AlternativeGroup> Alternatives(const Runbook& runbook) {
  std::map<int, AlternativeGroup> groups;
  std::set<std::string> seen;
  for (const Step& step : runbook.steps) {
    const SectionScope& scope = step.scope();
    if (!MayBeAlternative(step) || scope.alternative.empty()) continue;
    if (!seen.insert(scope.alternative).second) continue;
    AlternativeGroup& group = groups[scope.alternative_group];
    group.id = scope.alternative_group;
    group.kind = step.kind;
    if (scope.is_default) group.default_index = group.names.size();
    group.names.push_back(scope.alternative);
    group.titles.push_back(scope.alternative_title);
    group.positions.push_back(scope.alternative_pos);
  }
  std::vector<AlternativeGroup> list;
  for (auto& [id, group] : groups)
    list.push_back(std::move(group));
  // Document order: a group's id is that of its parent heading, which comes first.
  return list;
}

Status CheckChoices(const Runbook& runbook, const std::vector<std::string>& chosen) {
  if (chosen.empty()) return Status::Ok();
  std::vector<AlternativeGroup> groups = Alternatives(runbook);
  std::vector<std::string> all;
  for (const AlternativeGroup& group : groups)
    all.insert(all.end(), group.names.begin(), group.names.end());
  std::map<size_t, std::string> chosen_in;  // group -> the name chosen in it
  for (const std::string& name : chosen) {
    size_t group = 0;
    while (group < groups.size() &&
           std::find(groups[group].names.begin(), groups[group].names.end(), name) ==
               groups[group].names.end())
      ++group;
    if (group == groups.size()) {
      if (all.empty())
        return Status::Error(
            fmt::format("--choose {}: {} has no alternatives to choose from", name, runbook.path));
      std::optional<std::string> close = ClosestMatch(name, all);
      return Status::Error(fmt::format(
          "--choose {}: no alternative of that name{} (alternatives: {})", name,
          close ? fmt::format("; did you mean {}?", *close) : "", fmt::join(all, ", ")));
    }
    auto [it, inserted] = chosen_in.emplace(group, name);
    if (!inserted && it->second != name)
      return Status::Error(
          fmt::format("--choose {} and --choose {} are alternatives to each other; choose one",
                      it->second, name));
  }
  return Status::Ok();
}

AlternativeChoice::AlternativeChoice(const Runbook& runbook,
                                     const std::vector<std::string>& chosen) {
  for (const Step& step : runbook.steps) {
    const SectionScope& scope = step.scope();
    if (!MayBeAlternative(step) || scope.alternative.empty()) continue;
    bool picked = std::find(chosen.begin(), chosen.end(), scope.alternative) != chosen.end();
    if (picked) chosen_groups_.insert(scope.alternative_group);
    if (picked || (scope.is_default && !runs_.count(scope.alternative_group)))
      runs_[scope.alternative_group] = scope.alternative;
  }
}

std::string AlternativeChoice::RunsInstead(const Step& step) const {
  const SectionScope& scope = step.scope();
  if (!MayBeAlternative(step) || scope.alternative.empty()) return "";
  auto runs = runs_.find(scope.alternative_group);
  if (runs == runs_.end() || runs->second == scope.alternative) return "";
  return runs->second;
}

}  // namespace stagecraft::runbook
