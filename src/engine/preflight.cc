#include "engine/preflight.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "base/text.h"
#include "engine/capture.h"
#include "engine/outcome_text.h"
#include "engine/output_lines.h"
#include "engine/requirements.h"
#include "runbook/walk.h"

namespace stagecraft::engine {
namespace {

using runbook::Runbook;

// Some tools print their version on stderr (aws v1, java); both streams are read.
class BothStreams : public exec::OutputSink {
 public:
  void OnOutput(Stream, std::string_view bytes) override {
    buffer_.OnOutput(Stream::kStdout, bytes);
  }
  std::string text() const { return buffer_.text(); }

 private:
  CaptureBuffer buffer_;
};

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::Error(fmt::format("cannot read {}", path));
  std::ostringstream contents;
  contents << file.rdbuf();
  std::string value = contents.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
    value.pop_back();
  return value;
}

Result<std::string> ReadSecret(const runbook::SecretSpec& secret,
                               const std::map<std::string, std::string>& env, Runner& runner) {
  switch (secret.source) {
    case runbook::SecretSource::kEnv: {
      auto found = env.find(secret.value);
      if (found == env.end())
        return Status::Error(fmt::format("environment variable {} is not set", secret.value));
      return found->second;
    }
    case runbook::SecretSource::kFile:
      return ReadSecretFile(secret.value);
    case runbook::SecretSource::kCommand: {
      CaptureBuffer stdout_only;
      exec::BlockRequest request;
      request.interpreter = "bash";
      request.code = secret.value;
      request.sink = &stdout_only;
      request.timeout = Millis(60'000);
      exec::ProcessOutcome outcome = runner.Run(request);
      if (!outcome.success())
        return Status::Error(fmt::format("command failed ({})", OutcomeMessage(outcome)));
      return Trim(stdout_only.text());
    }
  }
  return Status::Error("unknown secret source");
}

bool IsToolName(const std::string& tool) {
  return !tool.empty() &&
         tool.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") ==
             std::string::npos;
}

// The problem with one `requires:` entry, or "".
std::string CheckTool(const Runbook& runbook, const runbook::Requirement& requirement,
                      Runner& runner, RunObserver& notes) {
  if (!IsToolName(requirement.tool))
    return fmt::format("requires: '{}' is not a tool name", requirement.tool);
  BothStreams both;
  exec::BlockRequest request;
  request.interpreter = "bash";
  request.code =
      fmt::format("command -v {0} >/dev/null || exit 127\n{0} --version", requirement.tool);
  request.sink = &both;
  request.timeout = Millis(30'000);
  exec::ProcessOutcome outcome = runner.Run(request);
  if (outcome.kind == exec::ProcessOutcome::Kind::kExited && outcome.exit_code == 127)
    return fmt::format("{}:{}: requires {}, which is not installed (not on PATH)", runbook.path,
                       requirement.pos.line, requirement.tool);
  if (requirement.op.empty()) return "";
  auto version = ExtractVersion(both.text());
  if (!version)
    return fmt::format("{}:{}: requires {} {} {}, but '{} --version' printed no version",
                       runbook.path, requirement.pos.line, requirement.tool, requirement.op,
                       requirement.version, requirement.tool);
  if (!SatisfiesRequirement(*version, requirement.op, requirement.version))
    return fmt::format("{}:{}: requires {} {} {}, found {}", runbook.path, requirement.pos.line,
                       requirement.tool, requirement.op, requirement.version, *version);
  notes.OnNote(NoteLevel::kVerbose, fmt::format("{} {} (wanted {} {})", requirement.tool, *version,
                                                requirement.op, requirement.version));
  return "";
}

// Every interpreter the runbook's blocks need must exist before anything changes: a
// missing python3 discovered at step 7 would leave a half-done deployment.
void CheckInterpreters(const Runbook& runbook, Runner& runner, std::vector<std::string>& problems) {
  std::map<std::string, int> interpreters;  // name -> first line using it
  for (const runbook::Step& step : runbook.steps) {
    if (step.skip || step.manual) continue;
    runbook::ForEachAction(step, [&](const runbook::Action& action) {
      if (!action.block.interpreter.empty() && !action.attributes.skip)
        interpreters.emplace(action.block.interpreter, action.block.pos.line);
    });
  }
  for (const auto& [interpreter, line] : interpreters) {
    exec::BlockRequest request;
    request.interpreter = "bash";
    request.code = fmt::format("command -v '{}' >/dev/null", interpreter);
    request.timeout = Millis(10'000);
    if (!runner.Run(request).success())
      problems.push_back(fmt::format("{}:{}: interpreter '{}' is not installed (not on PATH)",
                                     runbook.path, line, interpreter));
  }
}

}  // namespace

Status ConfirmEnvironment(const runbook::Environment* environment, const std::string& confirmed,
                          Prompter& prompter) {
  if (!environment || !environment->is_protected) return Status::Ok();
  if (confirmed == environment->name) return Status::Ok();
  if (!prompter.available())
    return Status::Error(
        fmt::format("environment '{}' is protected: run on a terminal and type its name, or pass "
                    "--confirm-env {}",
                    environment->name, environment->name));
  auto answer = prompter.Ask(
      fmt::format("Environment '{}' is protected. Type its name to continue: ", environment->name));
  if (answer && Trim(*answer) == environment->name) return Status::Ok();
  return Status::Error(
      fmt::format("environment '{}' was not confirmed; nothing ran", environment->name));
}

Result<std::vector<SecretValue>> ResolveSecrets(const Runbook& runbook,
                                                const std::map<std::string, std::string>& env,
                                                Runner& runner) {
  std::vector<SecretValue> values;
  for (const auto& secret : runbook.front_matter.secrets) {
    Result<std::string> value = ReadSecret(secret, env, runner);
    if (!value.ok())
      return Status::Error(fmt::format("{}:{}: secret {}: {}", runbook.path, secret.pos.line,
                                       secret.name, value.error()));
    values.push_back({secret.name, value.value()});
    // Later secrets' commands see the earlier ones, as they did when read one by one.
    runner.SetSecret(secret.name, value.value());
  }
  return values;
}

Status CheckRequirements(const Runbook& runbook, Runner& runner, RunObserver& notes) {
  std::vector<std::string> problems;
  for (const auto& requirement : runbook.front_matter.requires_tools)
    if (std::string problem = CheckTool(runbook, requirement, runner, notes); !problem.empty())
      problems.push_back(std::move(problem));
  CheckInterpreters(runbook, runner, problems);
  if (problems.empty()) return Status::Ok();
  return Status::Error(fmt::format("{}", fmt::join(problems, "\n")));
}

}  // namespace stagecraft::engine
