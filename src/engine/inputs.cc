#include "engine/inputs.h"

#include <fmt/format.h>

#include <optional>

#include "base/text.h"
#include "engine/capture.h"
#include "engine/outcome_text.h"
#include "exec/masking.h"
#include "exec/subprocess.h"
#include "runbook/inputs.h"

namespace stagecraft::engine {
namespace {

struct FirstUse {
  runbook::SourcePos pos;
  std::string step;
};

std::map<std::string, FirstUse> FirstUses(const runbook::Runbook& runbook,
                                          std::string_view source) {
  std::map<std::string, FirstUse> first;
  runbook::SourceLines lines(source);
  runbook::ForEachInputUse(
      runbook, lines, [&](const runbook::LintScript& script, const runbook::InputUse& use) {
        first.emplace(use.name, FirstUse{script.PositionOf(use.begin), script.step->name});
      });
  return first;
}

std::string Where(std::string_view path, runbook::SourcePos pos) {
  return fmt::format("{}:{}:{}", path, pos.line, pos.column);
}

}  // namespace

Result<ResolvedInputs> ResolveInputs(const runbook::Runbook& runbook, std::string_view path,
                                     std::string_view source,
                                     const std::map<std::string, std::string>& scope,
                                     const InputSources& sources) {
  ResolvedInputs resolved;
  std::optional<std::map<std::string, FirstUse>> uses;
  const runbook::InputList inputs = runbook::ListInputs(runbook);
  const bool can_ask =
      sources.prompter && sources.prompter->available() && !runbook.front_matter.skip_prompts;
  for (const std::string& name : inputs.all) {
    if (scope.count(name)) continue;
    if (!uses) uses = FirstUses(runbook, source);
    const runbook::InputSpec* spec = runbook::FindInputSpec(runbook, name);
    auto use = uses->find(name);
    runbook::SourcePos pos = use != uses->end() ? use->second.pos : spec->pos;
    if (std::optional<std::string> written = runbook::InputDefault(runbook, inputs, name);
        !spec && written) {
      // A promptEnv export: the value written is offered, and taken when nobody is asked.
      std::optional<std::string> answer;
      if (can_ask)
        answer = sources.prompter->Ask(fmt::format("Value for {} [{}]: ", name, *written));
      resolved.values[name] = answer && !answer->empty() ? *answer : *written;
      if (!answer || answer->empty()) resolved.derived.insert(name);
      continue;
    }
    if (spec && spec->default_value) {
      resolved.values[name] = *spec->default_value;
      resolved.derived.insert(name);
      continue;
    }
    if (spec && spec->command) {
      // The command sees the scope and the inputs resolved before it.
      std::map<std::string, std::string> env = scope;
      for (const auto& [known, value] : resolved.values)
        env[known] = value;
      Result<std::string> value = sources.run_command(*spec->command, env);
      if (!value.ok())
        return Status::Error(fmt::format("{}: error: input {}: its command failed: {}",
                                         Where(path, spec->pos), name, value.error()));
      resolved.values[name] = value.value();
      resolved.derived.insert(name);
      continue;
    }
    if (can_ask) {
      std::string question = spec && !spec->description.empty()
                                 ? fmt::format("Value for {} ({}): ", name, spec->description)
                                 : fmt::format("Value for {}: ", name);
      std::optional<std::string> answer = exec::LooksSecret(name)
                                              ? sources.prompter->AskHidden(question)
                                              : sources.prompter->Ask(question);
      if (answer) {
        resolved.values[name] = *answer;
        continue;
      }
    }
    std::string needed_by = use != uses->end()
                                ? fmt::format("step '{}' needs input {}", use->second.step, name)
                                : fmt::format("input {} is declared", name);
    return Status::Error(
        fmt::format("{}: error: {}, which has no value: pass --var {}=VALUE, or give it a "
                    "default or a command under inputs: in the front matter",
                    Where(path, pos), needed_by, name));
  }
  return resolved;
}

Result<std::string> RunInputCommand(const std::string& command,
                                    const std::map<std::string, std::string>& env,
                                    const std::string& cwd) {
  CaptureBuffer stdout_only;
  exec::SpawnRequest request;
  request.argv = {"bash", "-c", command};
  for (const auto& [name, value] : env)
    request.env.push_back(name + "=" + value);
  request.cwd = cwd;
  request.sink = &stdout_only;
  request.timeout = Millis(60'000);
  exec::ProcessOutcome outcome = exec::RunProcess(request);
  if (!outcome.success()) return Status::Error(OutcomeMessage(outcome));
  std::string value = stdout_only.text();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
    value.pop_back();
  return value;
}

}  // namespace stagecraft::engine
