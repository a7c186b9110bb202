#include "engine/engine.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/text.h"
#include "engine/capture.h"
#include "engine/expectation_matcher.h"
#include "engine/output_lines.h"
#include "engine/requirements.h"
#include "exec/shell_declarations.h"

namespace stagecraft::engine {

using runbook::Action;
using runbook::ChecklistItem;
using runbook::Step;
using runbook::StepKind;
using Clock = std::chrono::steady_clock;

const char* ItemStatusName(ItemStatus status) {
  switch (status) {
    case ItemStatus::kPassed:
      return "passed";
    case ItemStatus::kFailed:
      return "FAILED";
    case ItemStatus::kSkipped:
      return "skipped";
    case ItemStatus::kApproved:
      return "approved";
    case ItemStatus::kWaiting:
      return "waiting";
    case ItemStatus::kDeclined:
      return "declined";
    case ItemStatus::kInterrupted:
      return "interrupted";
    case ItemStatus::kNotReached:
      return "not reached";
  }
  return "";
}

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kRolledBack:
      return "rolled back";
    case RunStatus::kRollbackFailed:
      return "rollback failed";
    case RunStatus::kStopped:
      return "stopped";
    case RunStatus::kWaiting:
      return "waiting for approval";
    case RunStatus::kInterrupted:
      return "interrupted";
  }
  return "";
}

namespace {

Millis Since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

bool IsFailure(ItemStatus status) {
  return status == ItemStatus::kFailed || status == ItemStatus::kDeclined ||
         status == ItemStatus::kInterrupted || status == ItemStatus::kWaiting;
}

// Fans one stream of output out to several sinks.
class Tee : public exec::OutputSink {
 public:
  explicit Tee(std::vector<exec::OutputSink*> sinks) : sinks_(std::move(sinks)) {}
  void OnOutput(exec::Stream stream, std::string_view bytes) override {
    for (auto* sink : sinks_)
      sink->OnOutput(stream, bytes);
  }

 private:
  std::vector<exec::OutputSink*> sinks_;
};

std::string CodeSummary(const std::string& interpreter, const std::string& code) {
  int lines = 0;
  std::string first;
  for (std::string_view line : SplitLines(code)) {
    std::string_view trimmed = TrimView(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (first.empty()) first = std::string(trimmed);
    ++lines;
  }
  if (first.size() > 60) first = first.substr(0, 57) + "...";
  return lines <= 1 ? fmt::format("{}: {}", interpreter, first)
                    : fmt::format("{}: {} (+{} more line{})", interpreter, first, lines - 1,
                                  lines == 2 ? "" : "s");
}

std::string OutcomeMessage(const ProcessOutcome& outcome) {
  switch (outcome.kind) {
    case ProcessOutcome::Kind::kExited:
      return fmt::format("exited with status {}", outcome.exit_code);
    case ProcessOutcome::Kind::kSignaled:
      return fmt::format("killed by {}", exec::SignalName(outcome.signal));
    case ProcessOutcome::Kind::kTimedOut:
      // The configured limit, not the elapsed time: stopping a step that ignores SIGTERM
      // adds the kill grace, and the operator would look for a timeout they never set.
      return fmt::format("timed out after {}{}", FormatDuration(outcome.timeout),
                         outcome.killed ? " (it ignored SIGTERM and was killed with SIGKILL)" : "");
    case ProcessOutcome::Kind::kInterrupted:
      return fmt::format("interrupted by {}", exec::SignalName(outcome.interrupt_signal));
    case ProcessOutcome::Kind::kSpawnFailed:
      return outcome.error;
  }
  return outcome.error;
}

}  // namespace

struct Engine::BlockOutcome {
  ItemStatus status = ItemStatus::kPassed;
  std::string message;
  std::string detail;
  int attempts = 0;
  std::string captured;  // stdout for capture=, when asked
};

Engine::Engine(const runbook::Runbook& runbook, Runner& runner, Console& console,
               Prompter& prompter, exec::InterruptWatcher* interrupts, EngineOptions options)
    : runbook_(runbook),
      runner_(runner),
      console_(console),
      prompter_(prompter),
      interrupts_(interrupts),
      options_(std::move(options)),
      captures_(options_.restored_captures),
      recorder_(options_.journal, options_.run_id) {
  for (const auto& [name, value] : Scope()) {
    if (!exec::LooksSecret(name)) continue;
    masker_.Add(value);
    secret_templates_.Add(name, value);
  }
}

std::map<std::string, std::string> Engine::Scope() const {
  std::map<std::string, std::string> scope = runbook_.front_matter.vars;
  if (options_.environment)
    for (const auto& [name, value] : options_.environment->vars)
      scope[name] = value;
  for (const auto& [name, value] : options_.cli_vars)
    scope[name] = value;
  return scope;
}

void Engine::InterruptibleSleep(Millis duration) {
  auto deadline = Clock::now() + duration;
  while (Clock::now() < deadline && !Interrupted())
    std::this_thread::sleep_for(
        std::min<Millis>(Millis(50), std::chrono::duration_cast<Millis>(deadline - Clock::now())));
}

void Engine::LearnSecretsFromExports() {
  for (const auto& [name, value] : runner_.ExportedVariables()) {
    if (!exec::LooksSecret(name) || value.empty()) continue;
    if (known_secret_values_.insert(value).second) masker_.Add(value);
  }
}

bool Engine::CheckProtectedEnvironment(RunResult& result) {
  const runbook::Environment* environment = options_.environment;
  if (!environment || !environment->is_protected) return true;
  if (options_.confirm_environment == environment->name) return true;
  if (prompter_.available()) {
    auto answer = prompter_.Ask(fmt::format(
        "Environment '{}' is protected. Type its name to continue: ", environment->name));
    if (answer && Trim(*answer) == environment->name) return true;
    result.message =
        fmt::format("environment '{}' was not confirmed; nothing ran", environment->name);
  } else {
    result.message = fmt::format(
        "environment '{}' is protected: run on a terminal and type its name, or pass "
        "--confirm-env {}",
        environment->name, environment->name);
  }
  result.status = RunStatus::kStopped;
  result.exit_code = 2;
  return false;
}

bool Engine::ResolveSecrets(RunResult& result) {
  for (const auto& secret : runbook_.front_matter.secrets) {
    std::string value;
    std::string problem;
    switch (secret.source) {
      case runbook::SecretSource::kEnv: {
        auto found = options_.process_env.find(secret.value);
        if (found == options_.process_env.end())
          problem = fmt::format("environment variable {} is not set", secret.value);
        else
          value = found->second;
        break;
      }
      case runbook::SecretSource::kFile: {
        std::ifstream file(secret.value, std::ios::binary);
        if (!file) {
          problem = fmt::format("cannot read {}", secret.value);
        } else {
          std::ostringstream contents;
          contents << file.rdbuf();
          value = contents.str();
          while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
            value.pop_back();
        }
        break;
      }
      case runbook::SecretSource::kCommand: {
        CaptureBuffer stdout_only;
        Invocation invocation;
        invocation.interpreter = "bash";
        invocation.code = secret.value;
        invocation.sink = &stdout_only;
        invocation.timeout = Millis(60'000);
        ProcessOutcome outcome = runner_.Run(invocation);
        if (!outcome.success())
          problem = fmt::format("command failed ({})", OutcomeMessage(outcome));
        else
          value = Trim(stdout_only.text());
        break;
      }
    }
    if (!problem.empty()) {
      result.status = RunStatus::kStopped;
      result.exit_code = 2;
      result.message =
          fmt::format("{}:{}: secret {}: {}", runbook_.path, secret.pos.line, secret.name, problem);
      return false;
    }
    masker_.Add(value);
    known_secret_values_.insert(value);
    secret_templates_.Add(secret.name, value);
    runner_.SetSecret(secret.name, value);
  }
  return true;
}

bool Engine::PrepareSession(RunResult& result) {
  std::string problem;
  auto fill = [&](const std::string& templated) {
    Result<std::string> filled = secret_templates_.Fill(templated);
    if (filled.ok()) return filled.value();
    problem = filled.error();
    return std::string();
  };
  if (options_.restored_shell_state)
    runner_.RestoreState(fill(*options_.restored_shell_state), options_.restored_cwd);
  for (const auto& [name, value] : Scope())
    runner_.SetVariable(name, value);
  for (const auto& [name, templated] : options_.restored_capture_templates)
    captures_[name] = fill(templated);
  for (const auto& [name, value] : captures_)
    runner_.SetVariable(name, value);
  for (const auto& [name, value] : options_.resupplied) {
    masker_.Add(value);
    if (captures_.count(name)) captures_[name] = value;
    runner_.SetVariable(name, value);
  }
  if (problem.empty()) return true;
  result.status = RunStatus::kStopped;
  result.exit_code = 2;
  result.message = "cannot restore the run's variables: " + problem;
  return false;
}

bool Engine::CheckRequirements(RunResult& result) {
  std::vector<std::string> problems;
  for (const auto& requirement : runbook_.front_matter.requires_tools) {
    bool plain = !requirement.tool.empty() &&
                 requirement.tool.find_first_not_of(
                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") ==
                     std::string::npos;
    if (!plain) {
      problems.push_back(fmt::format("requires: '{}' is not a tool name", requirement.tool));
      continue;
    }
    CaptureBuffer both_streams;
    // Some tools print their version on stderr (aws v1, java); read both.
    class Both : public exec::OutputSink {
     public:
      explicit Both(CaptureBuffer& buffer) : buffer_(buffer) {}
      void OnOutput(exec::Stream, std::string_view bytes) override {
        buffer_.OnOutput(exec::Stream::kStdout, bytes);
      }

     private:
      CaptureBuffer& buffer_;
    } both(both_streams);
    Invocation invocation;
    invocation.interpreter = "bash";
    invocation.code =
        fmt::format("command -v {0} >/dev/null || exit 127\n{0} --version", requirement.tool);
    invocation.sink = &both;
    invocation.timeout = Millis(30'000);
    ProcessOutcome outcome = runner_.Run(invocation);
    if (outcome.kind == ProcessOutcome::Kind::kExited && outcome.exit_code == 127) {
      problems.push_back(fmt::format("{}:{}: requires {}, which is not installed (not on PATH)",
                                     runbook_.path, requirement.pos.line, requirement.tool));
      continue;
    }
    if (requirement.op.empty()) continue;
    auto version = ExtractVersion(both_streams.text());
    if (!version) {
      problems.push_back(
          fmt::format("{}:{}: requires {} {} {}, but '{} --version' printed no "
                      "version",
                      runbook_.path, requirement.pos.line, requirement.tool, requirement.op,
                      requirement.version, requirement.tool));
      continue;
    }
    if (!SatisfiesRequirement(*version, requirement.op, requirement.version))
      problems.push_back(fmt::format("{}:{}: requires {} {} {}, found {}", runbook_.path,
                                     requirement.pos.line, requirement.tool, requirement.op,
                                     requirement.version, *version));
    else
      console_.Verbose(fmt::format("{} {} (wanted {} {})", requirement.tool, *version,
                                   requirement.op, requirement.version));
  }
  // Every interpreter the runbook's blocks need must exist before anything changes: a
  // missing python3 discovered at step 7 would leave a half-done deployment.
  std::map<std::string, int> interpreters;
  auto note = [&](const std::string& interpreter, int line) {
    if (!interpreter.empty() && !interpreters.count(interpreter)) interpreters[interpreter] = line;
  };
  std::vector<const ChecklistItem*> items;
  for (const Step& step : runbook_.steps) {
    if (step.skip || step.manual) continue;
    for (const Action& action : step.actions)
      note(action.interpreter, action.block.pos.line);
    for (const auto& item : step.checklist)
      items.push_back(&item);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    for (const Action& action : items[i]->actions)
      note(action.interpreter, action.block.pos.line);
    for (const auto& child : items[i]->children)
      items.push_back(&child);
  }
  for (const auto& [interpreter, line] : interpreters) {
    Invocation invocation;
    invocation.interpreter = "bash";
    invocation.code = fmt::format("command -v '{}' >/dev/null", interpreter);
    invocation.timeout = Millis(10'000);
    ProcessOutcome outcome = runner_.Run(invocation);
    if (!outcome.success())
      problems.push_back(fmt::format("{}:{}: interpreter '{}' is not installed (not on PATH)",
                                     runbook_.path, line, interpreter));
  }
  if (problems.empty()) return true;
  result.status = RunStatus::kStopped;
  result.exit_code = 2;
  result.message = fmt::format("{}", fmt::join(problems, "\n"));
  return false;
}

ItemResult Engine::Gate(const Step& step, const std::string& what, int line) {
  ItemResult item;
  item.label = what;
  item.line = line;
  if (options_.yes) {
    item.status = ItemStatus::kApproved;
    item.message = fmt::format("approved by {} (--yes)", options_.user);
  } else if (options_.approve.count(step.name)) {
    item.status = ItemStatus::kApproved;
    item.message = fmt::format("approved by {} (--approve {})", options_.user, step.name);
  } else if (prompter_.available()) {
    console_.ClearStatus();  // the question takes the status line's place
    auto answer = prompter_.Ask(fmt::format("  ? {} [y/N] ", what));
    std::string lower = answer ? ToLower(Trim(*answer)) : "";
    if (lower == "y" || lower == "yes") {
      item.status = ItemStatus::kApproved;
      item.message = fmt::format("approved by {} at the prompt", options_.user);
    } else {
      item.status = ItemStatus::kDeclined;
      item.message = fmt::format("declined by {}", options_.user);
    }
  } else {
    item.status = ItemStatus::kWaiting;
    item.message = fmt::format(
        "needs approval and there is no terminal to ask: rerun with --yes or --approve {}",
        step.name);
  }
  if (item.status == ItemStatus::kApproved)
    console_.Pass(fmt::format("{} — {}", what, item.message));
  else
    console_.Fail(fmt::format("{} — {}", what, item.message));
  JournalItem journaled = NextItem(step, Trim(what), journal::StepKind::kManual);
  int64_t attempt = recorder_.Begin(journaled);
  if (item.status == ItemStatus::kApproved || item.status == ItemStatus::kDeclined)
    recorder_.Approval(journaled.key, options_.user,
                       options_.yes || options_.approve.count(step.name)
                           ? journal::ApprovalMethod::kYesFlag
                           : journal::ApprovalMethod::kPrompt,
                       item.status == ItemStatus::kApproved, item.message);
  recorder_.End(attempt, item.status, item.message, "");
  return item;
}

std::vector<const Step*> Engine::Flow() const {
  std::vector<const Step*> flow;
  for (StepKind kind : {StepKind::kPreflight, StepKind::kStep, StepKind::kSuccessCriteria})
    for (const Step& step : runbook_.steps)
      if (step.kind == kind) flow.push_back(&step);
  return flow;
}

void Engine::PlanJournal(const std::vector<const Step*>& flow) {
  std::vector<journal::StepRecord> records;
  for (size_t i = 0; i < flow.size(); ++i) {
    const Step& step = *flow[i];
    journal::StepRecord record;
    record.key = step.name;
    record.index = static_cast<int>(i + 1) * kIndexStride;
    if (step.phase >= 0) record.phase = runbook_.phases[step.phase].title;
    record.title = step.title;
    record.kind = journal::StepKind::kStep;
    if (step.budget) record.budget_ms = step.budget->count();
    record.content_hash = StepContentHash(step);
    records.push_back(std::move(record));
  }
  recorder_.PlanSteps(records);
}

JournalItem Engine::NextItem(const Step& step, const std::string& title, journal::StepKind kind) {
  JournalItem item;
  ++item_counter_;
  item.key = fmt::format("{}/{}", step.name, item_counter_);
  item.title = title;
  item.kind = kind;
  if (step.phase >= 0 && step.phase < static_cast<int>(runbook_.phases.size()))
    item.phase = runbook_.phases[step.phase].title;
  item.budget = step.budget;
  item.index = step_index_ + item_counter_;
  return item;
}

void Engine::JournalSkipped(const JournalItem& item, const std::string& why) {
  int64_t attempt = recorder_.Begin(item);
  recorder_.End(attempt, ItemStatus::kSkipped, why, "");
}

void Engine::SaveScope() {
  if (!recorder_.enabled()) return;
  // Values a resume cannot get back: masked ones (they held a secret in a form that is not
  // a registered value, e.g. encoded or learned from a block's export) and withheld ones.
  std::set<std::string> lost;
  nlohmann::json vars = nlohmann::json::object();
  for (const auto& [name, value] : Scope())
    if (!exec::LooksSecret(name)) vars[name] = masker_.Mask(value);
  nlohmann::json captures = nlohmann::json::object();
  nlohmann::json capture_templates = nlohmann::json::object();
  for (const auto& [name, value] : captures_) {
    if (exec::LooksSecret(name)) {
      lost.insert(name);
      continue;
    }
    captures[name] = masker_.Mask(value);
    std::optional<std::string> templated = secret_templates_.Template(value);
    if (!templated || masker_.Mask(*templated) != *templated)
      lost.insert(name);
    else if (*templated != value)
      capture_templates[name] = *templated;
  }
  std::string state = runner_.PersistableState();
  std::string stored = secret_templates_.Template(state).value_or(state);
  if (std::string masked = masker_.Mask(stored); masked != stored) {
    for (const exec::ShellDeclaration& declaration : exec::ParseDeclarations(stored))
      if (masker_.Mask(declaration.text) != declaration.text) lost.insert(declaration.name);
    stored = std::move(masked);
  }
  const std::map<std::string, std::string> scope_vars = Scope();
  for (const std::string& name : runner_.WithheldVariables())
    if (!scope_vars.count(name)) lost.insert(name);
  nlohmann::json scope = {{"vars", std::move(vars)},
                          {"captures", std::move(captures)},
                          {"cwd", runner_.cwd()},
                          {"shell_state", std::move(stored)}};
  if (!capture_templates.empty()) scope["capture_templates"] = std::move(capture_templates);
  if (!lost.empty()) scope["unrestorable"] = lost;
  // Most steps change nothing a resume needs; a write per step would cost a commit each.
  if (scope == saved_scope_) return;
  recorder_.UpdateScope(scope);
  saved_scope_ = std::move(scope);
}

bool Engine::StopIfJournalBroken(RunResult& result) {
  if (options_.lock_problem) {
    if (std::string problem = options_.lock_problem(); !problem.empty()) {
      result.status = RunStatus::kStopped;
      result.exit_code = 2;
      result.message = fmt::format(
          "this run no longer holds its lock ({}); stopped so that two runs never overlap",
          problem);
      return true;
    }
  }
  std::string problem = recorder_.failed() ? recorder_.error() : recorder_.lost_output();
  if (problem.empty()) return false;
  result.status = RunStatus::kStopped;
  result.exit_code = 2;
  result.message = fmt::format(
      "the journal cannot be written ({}); stopped so that nothing runs unjournaled", problem);
  return true;
}

Engine::BlockOutcome Engine::RunBlock(
    const Step& step, const Action& action, const std::string& code,
    const std::vector<runbook::ExpectedLine>* transcript_expected) {
  const runbook::Attributes& attributes = action.attributes;
  BlockOutcome result;
  int max_attempts = 1 + attributes.retries;
  auto until_deadline = attributes.until && attributes.timeout
                            ? std::optional<Clock::time_point>(Clock::now() + *attributes.timeout)
                            : std::nullopt;
  Millis delay = attributes.delay;
  if (attributes.until && delay.count() == 0) delay = Millis(1000);
  for (int attempt = 1;; ++attempt) {
    result.attempts = attempt;
    std::vector<ExpectationMatcher> matchers;
    if (transcript_expected) {
      matchers.emplace_back(*transcript_expected);
    } else {
      for (const auto& expectation : action.expectations)
        matchers.emplace_back(expectation.lines);
    }
    std::vector<RedFlagScanner> scanners;
    for (const auto& red_flag : action.red_flags)
      scanners.emplace_back(red_flag.lines);
    TailBuffer tail;
    LineSplitter checker([&](exec::Stream, std::string_view line) {
      for (auto& matcher : matchers)
        matcher.OnLine(line);
      for (auto& scanner : scanners)
        scanner.OnLine(line);
      tail.Add(line);
    });
    int64_t attempt_id = 0;
    if (recorder_.enabled()) {
      attempt_id = recorder_.Begin(current_item_);
      if (recorder_.failed() && !rolling_back_) {
        result.status = ItemStatus::kFailed;
        result.message =
            fmt::format("not started: the journal cannot be written ({})", recorder_.error());
        return result;
      }
    }
    JournalRecorder::OutputWriter journal_output(recorder_, attempt_id);
    Tee shown({&console_.output(), &journal_output});
    exec::MaskingSink masked(shown, masker_);
    CaptureBuffer capture;
    std::vector<exec::OutputSink*> sinks = {&masked, &checker};
    if (attributes.capture) sinks.push_back(&capture);
    Tee tee(sinks);

    Invocation invocation;
    invocation.interpreter = action.interpreter;
    invocation.code = code;
    invocation.cwd = attributes.cwd;
    invocation.interactive = attributes.interactive;
    invocation.sink = &tee;
    invocation.on_started = [this, attempt_id](pid_t group, unsigned long long start) {
      if (group > 0) recorder_.Process(attempt_id, group, start);
    };
    if (until_deadline) {
      invocation.timeout =
          std::max(Millis(1), std::chrono::duration_cast<Millis>(*until_deadline - Clock::now()));
    } else {
      invocation.timeout = attributes.timeout ? attributes.timeout : step.timeout;
    }
    console_.SetAttempt(attempt);
    if (max_attempts > 1 || attributes.until)
      console_.Info(fmt::format("attempt {}{}", attempt,
                                attributes.until ? "" : fmt::format(" of {}", max_attempts)));
    ProcessOutcome outcome = runner_.Run(invocation);
    checker.Flush();
    masked.Flush();
    console_.FlushOutput();
    LearnSecretsFromExports();

    result.status = ItemStatus::kPassed;
    result.message.clear();
    result.detail.clear();
    if (outcome.kind == ProcessOutcome::Kind::kInterrupted) {
      result.status = ItemStatus::kInterrupted;
      result.message = OutcomeMessage(outcome);
      recorder_.End(attempt_id, result.status, result.message, "", &outcome);
      return result;
    }
    if (!outcome.success()) {
      result.status = ItemStatus::kFailed;
      result.message = OutcomeMessage(outcome);
      result.detail = masker_.Mask(tail.Text());
    } else {
      for (auto& matcher : matchers) {
        if (matcher.satisfied()) continue;
        result.status = ItemStatus::kFailed;
        result.message = "expected output not found";
        result.detail = masker_.Mask(matcher.Diff(&tail));
        break;
      }
      if (result.status == ItemStatus::kPassed) {
        for (auto& scanner : scanners) {
          if (!scanner.tripped()) continue;
          result.status = ItemStatus::kFailed;
          result.message = "a red flag appeared in the output";
          result.detail = masker_.Mask(scanner.Report());
          break;
        }
      }
      if (result.status == ItemStatus::kPassed && attributes.capture) {
        if (capture.overflowed()) {
          result.status = ItemStatus::kFailed;
          result.message = "output too large to capture (over 16 MiB)";
        } else {
          auto value = ExtractCapture(capture.text(), attributes.capture->regex);
          if (!value.ok()) {
            result.status = ItemStatus::kFailed;
            result.message = value.error();
            result.detail = masker_.Mask(tail.Text());
          } else {
            result.captured = value.value();
          }
        }
      }
    }
    std::map<std::string, std::string> journaled_capture;
    if (result.status == ItemStatus::kPassed && attributes.capture &&
        !exec::LooksSecret(attributes.capture->variable))
      journaled_capture[attributes.capture->variable] = masker_.Mask(result.captured);
    recorder_.End(attempt_id, result.status, result.message, result.detail, &outcome,
                  journaled_capture);
    if (result.status == ItemStatus::kPassed) return result;
    if (outcome.kind == ProcessOutcome::Kind::kSpawnFailed) return result;  // retrying won't help
    if (recorder_.failed() && !rolling_back_) return result;
    bool again = until_deadline ? Clock::now() + delay < *until_deadline : attempt < max_attempts;
    if (!again || Interrupted()) {
      if (until_deadline)
        result.message = fmt::format("did not succeed within {} ({} attempts; last: {})",
                                     FormatDuration(*attributes.timeout), attempt, result.message);
      return result;
    }
    console_.Warn(fmt::format("attempt {} failed: {}; retrying in {}", attempt, result.message,
                              FormatDuration(delay)));
    InterruptibleSleep(delay);
    if (Interrupted()) {
      result.status = ItemStatus::kInterrupted;
      result.message = "interrupted while waiting to retry";
      return result;
    }
  }
}

bool Engine::RunActionItem(const Step& step, const Action& action, StepResult& out,
                           const std::string* checklist_text) {
  ItemResult item;
  item.label = CodeSummary(action.interpreter, action.block.text);
  if (action.attributes.name) item.label = *action.attributes.name + " — " + item.label;
  item.line = action.block.pos.line;
  std::string title =
      checklist_text ? *checklist_text : fmt::format("{} (line {})", item.label, item.line);
  journal::StepKind kind = checklist_text ? journal::StepKind::kCheck : journal::StepKind::kStep;
  if (action.attributes.skip) {
    item.status = ItemStatus::kSkipped;
    console_.Info(fmt::format("skipped (skip attribute): {}", item.label));
    JournalSkipped(NextItem(step, title, kind), "skipped (skip attribute)");
    out.items.push_back(item);
    return true;
  }
  if (action.attributes.confirm) {
    ItemResult gate = Gate(
        step, fmt::format("run {} ({}, line {})?", step.name, item.label, action.block.pos.line),
        action.block.pos.line);
    out.items.push_back(gate);
    if (gate.status != ItemStatus::kApproved) return false;
  }
  if (action.attributes.interactive && !prompter_.available())
    return InteractiveWithoutTerminal(step, action, item, title, kind, out);
  current_item_ = NextItem(step, title, kind);
  auto start = Clock::now();
  if (!action.is_transcript()) console_.Info(fmt::format("$ {}", item.label));
  console_.Verbose(action.block.text);
  BlockOutcome outcome;
  if (action.is_transcript()) {
    for (const auto& command : action.transcript) {
      console_.Info(fmt::format("$ {}", command.command));
      BlockOutcome one = RunBlock(step, action, command.command, &command.expected);
      outcome.attempts += one.attempts;
      outcome.status = one.status;
      outcome.message = one.message;
      outcome.detail = one.detail;
      if (one.status != ItemStatus::kPassed) {
        outcome.message = fmt::format("$ {}: {}", command.command, one.message);
        break;
      }
    }
  } else {
    outcome = RunBlock(step, action, action.block.text, nullptr);
  }
  if (outcome.status == ItemStatus::kPassed && action.attributes.capture) {
    const std::string& name = action.attributes.capture->variable;
    runner_.SetVariable(name, outcome.captured);
    captures_[name] = outcome.captured;
    console_.Info(fmt::format("captured {}={}", name, masker_.Mask(outcome.captured)));
  }
  if (outcome.status == ItemStatus::kPassed) {
    for (const auto& verification : action.verifications) {
      console_.Info(
          fmt::format("verify $ {}", CodeSummary(verification.language, verification.text)));
      current_item_ = NextItem(step, fmt::format("verification (line {})", verification.pos.line),
                               journal::StepKind::kVerification);
      Action verify_action;
      verify_action.block = verification;
      verify_action.interpreter =
          verification.language == "shell" || verification.language == "console"
              ? runbook_.front_matter.shell
          : verification.language == "python" ? "python3"
                                              : verification.language;
      BlockOutcome verified = RunBlock(step, verify_action, verification.text, nullptr);
      if (verified.status != ItemStatus::kPassed) {
        outcome.status = verified.status;
        outcome.message =
            fmt::format("verification (line {}) {}", verification.pos.line, verified.message);
        outcome.detail = verified.detail;
        break;
      }
    }
  }
  item.status = outcome.status;
  item.message = outcome.message;
  item.detail = outcome.detail;
  item.attempts = outcome.attempts;
  item.elapsed = Since(start);
  out.attempts += outcome.attempts;
  if (item.status == ItemStatus::kFailed && action.attributes.ignore) {
    console_.Warn(fmt::format("{} (ignored: the block is marked ignore)", item.message));
    item.message += " (ignored)";
    item.status = ItemStatus::kPassed;
  }
  bool passed = item.status == ItemStatus::kPassed;
  if (!passed) {
    console_.Fail(fmt::format("line {}: {}", item.line, item.message));
    if (!item.detail.empty()) console_.Detail(item.detail);
  }
  out.items.push_back(std::move(item));
  return passed;
}

// An interactive block shares the engine's stdin; when that is not a terminal nobody can
// type, and a pipe held open by a CI runner would keep the block waiting forever.
bool Engine::InteractiveWithoutTerminal(const Step& step, const Action& action, ItemResult& item,
                                        const std::string& title, journal::StepKind kind,
                                        StepResult& out) {
  if (options_.yes || options_.approve.count(step.name)) {
    console_.Warn(fmt::format(
        "line {}: {{ interactive }} block needs a terminal and stdin is not one; treated as "
        "a manual step",
        item.line));
    console_.Detail(fmt::format("{}:\n{}", action.interpreter, TrimRight(action.block.text)));
    ItemResult gate = Gate(
        step, fmt::format("manual: {} (line {}) done by hand?", item.label, item.line), item.line);
    out.items.push_back(gate);
    return gate.status == ItemStatus::kApproved;
  }
  item.status = ItemStatus::kFailed;
  item.message =
      "{ interactive } block needs a terminal, and stdin is not one: run stagecraft from a "
      "terminal, or pass --yes to treat the block as a manual step";
  JournalItem journaled = NextItem(step, title, kind);
  recorder_.End(recorder_.Begin(journaled), item.status, item.message, "");
  console_.Fail(fmt::format("line {}: {}", item.line, item.message));
  out.items.push_back(item);
  return false;
}

bool Engine::RunChecklistItem(const Step& step, const ChecklistItem& item, int depth,
                              StepResult& out) {
  std::string text = item.text.empty() ? "(untitled item)" : item.text;
  if (item.is_manual()) {
    ItemResult gate =
        Gate(step, fmt::format("{}confirm: {}", std::string(depth * 2, ' '), text), item.pos.line);
    gate.label = text;
    out.items.push_back(gate);
    return gate.status == ItemStatus::kApproved;
  }
  if (item.is_group()) {
    console_.Info(fmt::format("{}{}", std::string(depth * 2, ' '), text));
    for (const auto& child : item.children)
      if (!RunChecklistItem(step, child, depth + 1, out)) return false;
    return true;
  }
  console_.Info(fmt::format("{}check: {}", std::string(depth * 2, ' '), text));
  for (const auto& action : item.actions) {
    size_t before = out.items.size();
    bool passed = RunActionItem(step, action, out, &text);
    if (out.items.size() > before) out.items.back().label = text;
    if (!passed) return false;
  }
  for (const auto& child : item.children)
    if (!RunChecklistItem(step, child, depth + 1, out)) return false;
  return true;
}

StepResult Engine::RunStep(const Step& step, int number, int total) {
  StepResult result;
  result.step = &step;
  std::string budget = step.budget ? fmt::format(", budget {}", FormatDuration(*step.budget)) : "";
  console_.Heading(fmt::format("[{}/{}] {} — {}{}", number, total, step.name, step.title, budget));
  auto start = Clock::now();
  step_index_ = number * kIndexStride;
  item_counter_ = 0;
  JournalItem journaled;
  journaled.key = step.name;
  journaled.title = step.title;
  if (step.phase >= 0 && step.phase < static_cast<int>(runbook_.phases.size()))
    journaled.phase = runbook_.phases[step.phase].title;
  journaled.budget = step.budget;
  journaled.index = step_index_;
  int64_t step_attempt = recorder_.Begin(journaled);
  if (recorder_.failed()) {
    result.status = ItemStatus::kFailed;
    result.message = "not started: the journal cannot be written";
    return result;
  }
  console_.SetStatus({number, total, step.name, journaled.phase, step.budget, 1});
  auto finish = [&] {
    console_.ClearStatus();
    SaveScope();
    recorder_.End(step_attempt, result.status, result.message, "");
  };
  if (step.skip) {
    result.status = ItemStatus::kSkipped;
    console_.Info("skipped (skip directive)");
    result.message = "skipped (skip directive)";
    finish();
    return result;
  }
  if (step.manual) {
    for (const auto& action : step.actions)
      console_.Detail(fmt::format("{}:\n{}", action.interpreter, TrimRight(action.block.text)));
    ItemResult gate =
        Gate(step, fmt::format("manual step {}: done as shown above?", step.name), step.pos.line);
    result.items.push_back(gate);
    result.status = gate.status;
    result.message = gate.message;
    result.elapsed = Since(start);
    finish();
    return result;
  }
  // Actions and checklist items run in document order.
  size_t next_action = 0;
  size_t next_item = 0;
  bool ok = true;
  while (ok && (next_action < step.actions.size() || next_item < step.checklist.size())) {
    bool take_action =
        next_item >= step.checklist.size() ||
        (next_action < step.actions.size() &&
         step.actions[next_action].block.pos.line < step.checklist[next_item].pos.line);
    if (take_action)
      ok = RunActionItem(step, step.actions[next_action++], result);
    else
      ok = RunChecklistItem(step, step.checklist[next_item++], 0, result);
  }
  result.elapsed = Since(start);
  result.status = ItemStatus::kPassed;
  for (const auto& item : result.items) {
    if (IsFailure(item.status)) {
      result.status = item.status;
      result.message = item.message;
    }
  }
  if (step.budget && result.elapsed > *step.budget) {
    result.over_budget = true;
    console_.Warn(fmt::format("{} took {}, over its budget of {}", step.name,
                              FormatDuration(result.elapsed), FormatDuration(*step.budget)));
  }
  if (result.status == ItemStatus::kPassed)
    console_.Pass(fmt::format("{} in {}", step.name, FormatDuration(result.elapsed)));
  else if (!step.troubleshooting.empty())
    console_.Detail("Troubleshooting:\n" + step.troubleshooting);
  finish();
  return result;
}

ItemResult Engine::RunRollbackBlock(const std::string& label, const Action& action,
                                    journal::StepKind kind) {
  ItemResult item;
  item.label = label;
  item.line = action.block.pos.line;
  ++rollback_counter_;
  std::string key = fmt::format("rollback/{}", rollback_counter_);
  if (options_.rollback_done.count(key + "\n" + label)) {
    // The rollback runs in the same order every time, so the same key and title name the
    // same block: it passed before the earlier rollback was interrupted.
    item.status = ItemStatus::kPassed;
    item.message = "done before the rollback was interrupted";
    console_.Info(fmt::format("{} (line {}): {}", label, item.line, item.message));
    return item;
  }
  current_item_ =
      JournalItem{key, label, kind, "Rollback", std::nullopt, kRollbackIndex + rollback_counter_};
  console_.Info(fmt::format("$ {}", CodeSummary(action.interpreter, action.block.text)));
  Step no_limits;
  auto start = Clock::now();
  BlockOutcome outcome = RunBlock(no_limits, action, action.block.text, nullptr);
  item.status = outcome.status;
  item.message = outcome.message;
  item.detail = outcome.detail;
  item.attempts = outcome.attempts;
  item.elapsed = Since(start);
  if (item.status == ItemStatus::kPassed) {
    console_.Pass(label);
  } else {
    console_.Fail(fmt::format("{}: {}", label, item.message));
    if (!item.detail.empty()) console_.Detail(item.detail);
  }
  return item;
}

// Journals a rollback block that an interrupt kept from running, so the record shows what
// is still to undo (`stagecraft rollback RUN` runs it).
ItemResult Engine::NotRun(const std::string& label, const Action& action, journal::StepKind kind) {
  ItemResult item;
  item.label = label;
  item.line = action.block.pos.line;
  item.status = ItemStatus::kNotReached;
  item.message = "not run: the rollback was interrupted";
  ++rollback_counter_;
  JournalSkipped(JournalItem{fmt::format("rollback/{}", rollback_counter_), label, kind, "Rollback",
                             std::nullopt, kRollbackIndex + rollback_counter_},
                 item.message);
  console_.Warn(fmt::format("{} (line {}): {}", label, item.line, item.message));
  return item;
}

void Engine::Rollback(size_t failed_index, RunResult& result) {
  console_.Heading("Rolling back");
  // A journal that broke must not keep the damage in place: undoing is journaled as far
  // as the journal allows, and runs regardless.
  rolling_back_ = true;
  if (recorder_.failed())
    console_.Warn("the journal cannot be written; rolling back without journaling");
  bool any_failed = false;
  bool interrupted = false;
  auto interpreter_of = [&](const runbook::Block& block) {
    if (block.language == "shell" || block.language.empty()) return runbook_.front_matter.shell;
    if (block.language == "python") return std::string("python3");
    return block.language;
  };
  // Compensations of the steps that ran, newest first, the failed one included: it may
  // have done half its work.
  for (size_t i = failed_index + 1; i-- > 0;) {
    const StepResult& step_result = result.steps[i];
    const Step& step = *step_result.step;
    if (step.kind != StepKind::kStep || step_result.status == ItemStatus::kSkipped ||
        step_result.status == ItemStatus::kNotReached)
      continue;
    for (const auto& note : step.rollback_notes) {
      ItemResult item;
      item.label = fmt::format("{}: manual note", step.name);
      item.status = ItemStatus::kSkipped;
      item.message = note;
      item.line = step.pos.line;
      console_.Info(fmt::format("{} (manual): {}", step.name, note));
      ++rollback_counter_;
      JournalSkipped(JournalItem{fmt::format("rollback/{}", rollback_counter_),
                                 fmt::format("Undo: {} (manual note)", step.title),
                                 journal::StepKind::kCompensation, "Rollback", std::nullopt,
                                 kRollbackIndex + rollback_counter_},
                     note);
      result.rollback.push_back(item);
    }
    for (const auto& block : step.compensation) {
      Action compensation;
      compensation.block = block;
      compensation.interpreter = interpreter_of(block);
      std::string label = fmt::format("undo {}", step.name);
      interrupted |= Interrupted();
      if (interrupted) {
        result.rollback.push_back(NotRun(label, compensation, journal::StepKind::kCompensation));
        continue;
      }
      ItemResult item = RunRollbackBlock(label, compensation, journal::StepKind::kCompensation);
      // An interrupted block did not fail: the operator stopped it, and it can be run
      // again by `stagecraft rollback`.
      any_failed |= item.status != ItemStatus::kPassed && item.status != ItemStatus::kInterrupted;
      interrupted |= item.status == ItemStatus::kInterrupted;
      result.rollback.push_back(std::move(item));
    }
  }
  for (const Step& step : runbook_.steps) {
    if (step.kind != StepKind::kRollback || step.skip) continue;
    if (!interrupted) console_.Info(fmt::format("rollback procedure: {}", step.title));
    for (const auto& action : step.actions) {
      std::string label = fmt::format("{} (line {})", step.name, action.block.pos.line);
      interrupted |= Interrupted();
      if (interrupted) {
        result.rollback.push_back(NotRun(label, action, journal::StepKind::kRollback));
        continue;
      }
      // The whole action, so that the procedure's `until`, `retries`, `timeout` and
      // expectations apply during a rollback as they do in the normal flow.
      ItemResult item = RunRollbackBlock(label, action, journal::StepKind::kRollback);
      any_failed |= item.status != ItemStatus::kPassed && item.status != ItemStatus::kInterrupted;
      interrupted |= item.status == ItemStatus::kInterrupted;
      result.rollback.push_back(std::move(item));
    }
  }
  if (interrupted) {
    result.status = RunStatus::kInterrupted;
    result.exit_code = any_failed ? 3 : 130;
    result.message += "; rollback interrupted";
  } else if (any_failed) {
    result.status = RunStatus::kRollbackFailed;
    result.exit_code = 3;
    result.message += "; rollback failed";
  } else {
    result.message += "; rolled back";
  }
}

RunResult Engine::Run() {
  RunResult result;
  if (!CheckProtectedEnvironment(result)) {
    console_.Fail(result.message);
    return result;
  }
  // A secret's command may use the scope's variables.
  for (const auto& [name, value] : Scope())
    runner_.SetVariable(name, value);
  if (!ResolveSecrets(result) || !PrepareSession(result) || !CheckRequirements(result)) {
    console_.Fail(result.message);
    return result;
  }
  std::vector<const Step*> flow = Flow();
  PlanJournal(flow);
  if (StopIfJournalBroken(result)) {
    console_.Fail(result.message);
    return result;
  }

  OnFailure on_failure = OnFailure::kRollback;
  if (runbook_.front_matter.on_failure == "stop") on_failure = OnFailure::kStop;
  if (runbook_.front_matter.on_failure == "ask") on_failure = OnFailure::kAsk;
  if (options_.on_failure) on_failure = *options_.on_failure;

  int total = static_cast<int>(flow.size());
  for (int index = 0; index < total; ++index) {
    const Step& step = *flow[index];
    if (options_.completed_steps.count(step.name)) {
      StepResult done;
      done.step = &step;
      done.status = ItemStatus::kPassed;
      done.message = "completed in an earlier session";
      console_.Info(
          fmt::format("[{}/{}] {} — done in an earlier session", index + 1, total, step.name));
      result.steps.push_back(done);
      continue;
    }
    if (StopIfJournalBroken(result)) {
      for (int rest = index; rest < total; ++rest) {
        StepResult not_reached;
        not_reached.step = flow[rest];
        result.steps.push_back(not_reached);
      }
      console_.Fail(result.message);
      return result;
    }
    if (Interrupted()) {
      StepResult skipped;
      skipped.step = &step;
      skipped.status = ItemStatus::kInterrupted;
      skipped.message = "interrupted before the step started";
      result.steps.push_back(skipped);
    } else {
      result.steps.push_back(RunStep(step, index + 1, total));
    }
    if (!IsFailure(result.steps.back().status)) continue;
    // A copy: the not-reached entries pushed below may reallocate result.steps.
    const StepResult last = result.steps.back();

    // Everything that did not run is recorded as not reached, for the summary.
    for (int rest = index + 1; rest < total; ++rest) {
      StepResult not_reached;
      not_reached.step = flow[rest];
      result.steps.push_back(not_reached);
    }
    result.message =
        fmt::format("step {} {}: {}", step.name, ItemStatusName(last.status), last.message);
    if (last.status == ItemStatus::kWaiting) {
      result.status = RunStatus::kWaiting;
      result.exit_code = 1;
      return result;
    }
    bool interrupted = last.status == ItemStatus::kInterrupted || Interrupted();
    result.status = interrupted ? RunStatus::kInterrupted : RunStatus::kFailed;
    result.exit_code = interrupted ? 130 : 1;
    if (step.kind == StepKind::kPreflight) {
      result.message += " (preflight: nothing was changed, so nothing is rolled back)";
      return result;
    }
    if (!interrupted && StopIfJournalBroken(result)) {
      result.message += "; nothing was rolled back: `stagecraft rollback` once it is fixed";
      console_.Fail(result.message);
      return result;
    }
    bool roll_back = on_failure == OnFailure::kRollback;
    if (on_failure == OnFailure::kAsk) {
      if (prompter_.available()) {
        auto answer = prompter_.Ask("  ? Roll back now? [Y/n] ");
        roll_back = !answer || ToLower(Trim(*answer)) != "n";
      } else {
        roll_back = true;
      }
    }
    if (!roll_back) {
      result.status = interrupted ? RunStatus::kInterrupted : RunStatus::kStopped;
      result.message += "; left as is for inspection (no rollback)";
      return result;
    }
    // The first signal stopped the step; rollback gets a clean slate, and a second
    // signal during it stops everything.
    if (interrupts_) interrupts_->Clear();
    Rollback(static_cast<size_t>(index), result);
    if (result.status == RunStatus::kFailed) result.status = RunStatus::kRolledBack;
    if (interrupted && result.exit_code == 1) result.exit_code = 130;
    return result;
  }
  result.captures = captures_;
  result.status = RunStatus::kSucceeded;
  result.exit_code = 0;
  result.message = "all steps passed";
  return result;
}

RunResult Engine::RollbackOnly() {
  RunResult result;
  for (const auto& [name, value] : Scope())
    runner_.SetVariable(name, value);
  if (!ResolveSecrets(result) || !PrepareSession(result)) {
    console_.Fail(result.message);
    return result;
  }
  std::vector<const Step*> flow = Flow();
  size_t last_completed = 0;
  bool any = false;
  for (size_t i = 0; i < flow.size(); ++i) {
    StepResult step;
    step.step = flow[i];
    if (options_.completed_steps.count(flow[i]->name)) {
      step.status = ItemStatus::kPassed;
      last_completed = i;
      any = true;
    }
    result.steps.push_back(step);
  }
  result.status = RunStatus::kFailed;
  result.exit_code = 0;
  result.message = "rollback requested";
  if (!any && flow.empty()) return result;
  Rollback(any ? last_completed : 0, result);
  if (result.status == RunStatus::kFailed) result.status = RunStatus::kRolledBack;
  return result;
}

void Engine::DryRun() {
  console_.Heading(fmt::format("Dry run of {} — nothing is executed", runbook_.title));
  std::vector<std::string> scope;
  for (const auto& [name, value] : Scope())
    scope.push_back(fmt::format("{}={}", name, exec::LooksSecret(name) ? "***" : value));
  for (const auto& secret : runbook_.front_matter.secrets)
    scope.push_back(secret.name + "=***");
  std::string scope_line = scope.empty() ? "(empty)" : fmt::format("{}", fmt::join(scope, " "));
  auto show = [&](const Step& step, const Action& action) {
    std::vector<std::string> notes;
    if (action.attributes.confirm) notes.push_back("asks for approval");
    if (action.attributes.skip) notes.push_back("skipped");
    if (action.attributes.timeout)
      notes.push_back("timeout " + FormatDuration(*action.attributes.timeout));
    if (action.attributes.retries)
      notes.push_back(fmt::format("{} retries", action.attributes.retries));
    if (action.attributes.capture)
      notes.push_back("captures " + action.attributes.capture->variable);
    console_.Info(fmt::format("{} line {}: {}{}", step.name, action.block.pos.line,
                              action.interpreter,
                              notes.empty() ? "" : fmt::format(" ({})", fmt::join(notes, ", "))));
    console_.Detail(TrimRight(action.block.text));
  };
  console_.Info("scope: " + scope_line);
  for (StepKind kind :
       {StepKind::kPreflight, StepKind::kStep, StepKind::kSuccessCriteria, StepKind::kRollback}) {
    for (const Step& step : runbook_.steps) {
      if (step.kind != kind) continue;
      const char* section = kind == StepKind::kPreflight         ? "preflight"
                            : kind == StepKind::kSuccessCriteria ? "success criteria"
                            : kind == StepKind::kRollback ? "rollback procedure (only on failure)"
                                                          : "step";
      console_.Heading(fmt::format("{}: {} — {}{}", section, step.name, step.title,
                                   step.manual ? " (manual)"
                                   : step.skip ? " (skipped)"
                                               : ""));
      for (const auto& action : step.actions)
        show(step, action);
      std::vector<const ChecklistItem*> items;
      for (const auto& item : step.checklist)
        items.push_back(&item);
      for (size_t i = 0; i < items.size(); ++i) {
        const ChecklistItem* item = items[i];
        if (item->is_manual()) console_.Info("confirm: " + item->text);
        for (const auto& action : item->actions)
          show(step, action);
        for (const auto& child : item->children)
          items.push_back(&child);
      }
      for (const auto& block : step.compensation) {
        console_.Info(fmt::format("undo (on failure) line {}:", block.pos.line));
        console_.Detail(TrimRight(block.text));
      }
    }
  }
}

}  // namespace stagecraft::engine
