#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"
#include "engine/engine.h"

namespace stagecraft::engine {

using runbook::AlternativeGroup;
using runbook::Step;

namespace {

const AlternativeGroup* GroupOf(const std::vector<AlternativeGroup>& groups,
                                const std::string& name) {
  for (const AlternativeGroup& group : groups)
    if (std::find(group.names.begin(), group.names.end(), name) != group.names.end()) return &group;
  return nullptr;
}

// The alternative an answer names: its number, its name, or nothing (the default).
std::optional<size_t> ReadAnswer(const AlternativeGroup& group, std::string_view answer) {
  std::string text = Trim(answer);
  if (text.empty()) return group.default_index;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      text.size() < 4) {
    size_t number = std::stoul(text);
    if (number >= 1 && number <= group.names.size()) return number - 1;
    return std::nullopt;
  }
  auto named = std::find(group.names.begin(), group.names.end(), text);
  if (named == group.names.end()) return std::nullopt;
  return static_cast<size_t>(named - group.names.begin());
}

}  // namespace

void Engine::SettleChoices() {
  std::vector<AlternativeGroup> groups = runbook::Alternatives(runbook_);
  for (const std::string& name : options_.choose) {
    chosen_.push_back(name);
    if (const AlternativeGroup* group = GroupOf(groups, name)) settled_groups_.insert(group->id);
  }
  // A resumed run keeps what was answered before, unless --choose now says otherwise.
  for (const std::string& name : options_.restored_choices) {
    const AlternativeGroup* group = GroupOf(groups, name);
    if (!group || !settled_groups_.insert(group->id).second) continue;
    chosen_.push_back(name);
    answered_.push_back(name);
  }
  choice_ = runbook::AlternativeChoice(runbook_, chosen_);
}

void Engine::AskForAlternative(const Step& step) {
  const runbook::SectionScope& scope = step.scope();
  if (step.kind != StepKind::kStep || scope.alternative.empty()) return;
  if (!settled_groups_.insert(scope.alternative_group).second) return;
  if (options_.yes || !prompter_.available()) return;
  // A resumed run whose earlier session went past the group took its choice then.
  for (const Step& other : runbook_.steps)
    if (other.scope().alternative_group == scope.alternative_group &&
        options_.completed_steps.count(other.name))
      return;
  std::vector<AlternativeGroup> groups = runbook::Alternatives(runbook_);
  const AlternativeGroup* group = GroupOf(groups, scope.alternative);
  if (!group || group->names.size() < 2) return;
  std::string question =
      fmt::format("  ? {} alternatives, one of which runs:\n", group->names.size());
  for (size_t i = 0; i < group->names.size(); ++i)
    question += fmt::format("      {}. {}{}\n", i + 1, group->names[i],
                            i == group->default_index ? " (default)" : "");
  question += fmt::format("    Which one? [{}] ", group->default_index + 1);
  std::optional<size_t> picked;
  while (!picked) {
    std::optional<std::string> answer = prompter_.Ask(question);
    // Nobody answers any more: the default, as without a terminal.
    if (!answer) answer = "";
    picked = ReadAnswer(*group, *answer);
    if (!picked)
      question = fmt::format("    Type a number from 1 to {}, or a name: [{}] ",
                             group->names.size(), group->default_index + 1);
  }
  const std::string& name = group->names[*picked];
  Note(NoteLevel::kInfo, fmt::format("chosen: {}", name));
  // Kept even when it is the default, so that a resume does not ask again.
  chosen_.push_back(name);
  answered_.push_back(name);
  choice_ = runbook::AlternativeChoice(runbook_, chosen_);
}

}  // namespace stagecraft::engine
