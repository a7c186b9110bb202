// One action of a step: its blocks (or transcript commands) with retries, expectations,
// red flags and captures, then its verifications.

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "base/text.h"
#include "engine/capture.h"
#include "engine/engine.h"
#include "engine/expectation_matcher.h"
#include "engine/outcome_text.h"
#include "engine/output_lines.h"
#include "runbook/command_needs.h"
#include "runbook/inputs.h"

namespace stagecraft::engine {

using runbook::Action;
using Clock = std::chrono::steady_clock;

namespace {

// A block's commands that never end on their own, bounded to its stream window. In bash
// each is wrapped where it stands (the prelude's __sc_stream), so the rest of the block
// still runs and its shell state is kept; other shells have no prelude, and the whole
// block is stopped at the window instead.
struct Streams {
  std::string code;                    // what runs; empty: the block as written
  std::optional<Millis> block_window;  // the whole block stops then, counting as success
  std::string note;
};

Streams BoundStreams(const Action& action, std::string_view code) {
  Streams streams;
  if (action.attributes.interactive) return streams;
  runbook::CommandNeeds needs = runbook::ReadCommandNeeds(action.block.interpreter, code);
  if (needs.never_ending.empty()) return streams;
  Millis window = action.attributes.stream.value_or(runbook::kDefaultStreamWindow);
  streams.note = fmt::format("'{}' does not end on its own: stopped after {} (stream window)",
                             needs.first_never_ending, FormatDuration(window));
  if (action.block.interpreter == "bash")
    streams.code = runbook::BoundStreams(code, needs.never_ending, window);
  else
    streams.block_window = window;
  return streams;
}

// What in the block needs the operator's terminal, for messages; "" when nothing does.
std::string TerminalNeeded(const Action& action) {
  if (action.attributes.interactive) return "{ interactive } block";
  runbook::CommandNeeds needs =
      runbook::ReadCommandNeeds(action.block.interpreter, action.block.text);
  if (!needs.terminal) return {};
  return fmt::format("'{}' ({})", needs.terminal_command, needs.terminal->why);
}

// Fans one stream of output out to several sinks.
class Tee : public exec::OutputSink {
 public:
  explicit Tee(std::vector<exec::OutputSink*> sinks) : sinks_(std::move(sinks)) {}
  void OnOutput(Stream stream, std::string_view bytes) override {
    for (auto* sink : sinks_)
      sink->OnOutput(stream, bytes);
  }

 private:
  std::vector<exec::OutputSink*> sinks_;
};

// What one attempt's output is checked against, line by line as it arrives.
struct Checks {
  std::vector<ExpectationMatcher> matchers;
  std::vector<RedFlagScanner> scanners;
  TailBuffer tail;
  CaptureBuffer capture;

  void OnLine(std::string_view line) {
    for (auto& matcher : matchers)
      matcher.OnLine(line);
    for (auto& scanner : scanners)
      scanner.OnLine(line);
    tail.Add(line);
  }
};

// Judges a process that exited 0 against the action's expectations, red flags and capture.
void JudgeOutput(const Action& action, Checks& checks, const exec::SecretMasker& masker,
                 std::string& message, std::string& detail, std::string& captured) {
  for (auto& matcher : checks.matchers) {
    if (matcher.satisfied()) continue;
    message = "expected output not found";
    detail = masker.Mask(matcher.Diff(&checks.tail));
    return;
  }
  for (auto& scanner : checks.scanners) {
    if (!scanner.tripped()) continue;
    message = "a red flag appeared in the output";
    detail = masker.Mask(scanner.Report());
    return;
  }
  if (!action.attributes.capture) return;
  if (checks.capture.overflowed()) {
    message = "output too large to capture (over 16 MiB)";
    return;
  }
  auto value = ExtractCapture(checks.capture.text(), action.attributes.capture->regex);
  if (value.ok()) {
    captured = value.value();
  } else {
    message = value.error();
    detail = masker.Mask(checks.tail.Text());
  }
}

}  // namespace

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

Engine::BlockOutcome Engine::RunAttempt(
    const ItemRef& item, const Action& action, std::string_view code,
    const std::vector<runbook::ExpectedLine>* transcript_expected, std::optional<Millis> timeout,
    int attempt) {
  BlockOutcome result;
  result.attempts = attempt;
  observers_.OnAttemptStarted(item, attempt);
  if (std::string problem = observers_.Problem(); !problem.empty() && !rolling_back_) {
    result.status = StepStatus::kFailed;
    result.message = fmt::format("not started: the journal cannot be written ({})", problem);
    result.final = true;
    return result;
  }
  Checks checks;
  if (transcript_expected) {
    checks.matchers.emplace_back(*transcript_expected);
  } else {
    for (const auto& expectation : action.expectations)
      checks.matchers.emplace_back(expectation.lines);
  }
  for (const auto& red_flag : action.red_flags)
    checks.scanners.emplace_back(red_flag.lines);
  LineSplitter checker([&](Stream, std::string_view line) { checks.OnLine(line); });
  exec::MaskingSink masked(observers_.output(), masker_);
  std::vector<exec::OutputSink*> sinks = {&masked, &checker};
  if (action.attributes.capture) sinks.push_back(&checks.capture);
  Tee tee(sinks);

  exec::BlockRequest request;
  request.interpreter = action.block.interpreter;
  request.code = code;
  if (runbook::IsShellInterpreter(action.block.interpreter)) {
    // The shell must never see a placeholder: `<TASK_ARN>` would open a file named TASK_ARN.
    std::vector<runbook::InputUse> uses =
        runbook::FindInputUses(code, runbook_.PromptEnvOf(action.attributes));
    if (!uses.empty()) {
      std::map<std::string, std::string> values = Scope();
      for (const runbook::InputUse& use : uses) {
        if (values.count(use.name)) continue;
        result.status = StepStatus::kFailed;
        result.message = fmt::format("not started: input {} has no value (pass --var {}=VALUE)",
                                     use.name, use.name);
        result.final = true;
        observers_.OnAttemptFinished(item, AttemptEnd{result.status, result.message, {}, {}, {}});
        return result;
      }
      request.code = runbook::SubstituteInputs(code, uses, values);
    }
  }
  Streams streams = BoundStreams(action, request.code);
  if (!streams.note.empty()) Note(NoteLevel::kInfo, streams.note);
  if (streams.block_window && (!timeout || *timeout > *streams.block_window))
    timeout = streams.block_window;
  if (!streams.code.empty()) request.code = std::move(streams.code);
  request.cwd = action.attributes.cwd;
  // Without a terminal, RunActionItem made such a block a manual step; a verification that
  // needs one runs as before, its input /dev/null, rather than on a stdin nobody types on.
  request.interactive =
      action.attributes.interactive || (prompter_.available() && !TerminalNeeded(action).empty());
  request.timeout = timeout;
  request.sink = &tee;
  request.on_started = [this](pid_t group, unsigned long long start) {
    spawned_ = true;
    observers_.OnProcessStarted(group, start);
  };
  ProcessOutcome outcome = runner_.Run(request);
  if (streams.block_window && outcome.kind == ProcessOutcome::Kind::kTimedOut &&
      outcome.timeout == *streams.block_window) {
    outcome.kind = ProcessOutcome::Kind::kExited;
    outcome.exit_code = 0;
  }
  checker.Flush();
  masked.Flush();
  LearnSecretsFromExports();

  if (outcome.kind == ProcessOutcome::Kind::kInterrupted) {
    result.status = StepStatus::kInterrupted;
    result.message = OutcomeMessage(outcome);
    result.final = true;
  } else if (!outcome.success()) {
    result.status = StepStatus::kFailed;
    result.message = OutcomeMessage(outcome);
    result.detail = masker_.Mask(checks.tail.Text());
    result.final = outcome.kind == ProcessOutcome::Kind::kSpawnFailed;
  } else {
    JudgeOutput(action, checks, masker_, result.message, result.detail, result.captured);
    if (!result.message.empty()) result.status = StepStatus::kFailed;
  }
  AttemptEnd end{result.status, result.message, result.detail, &outcome, {}};
  // The journal keeps the failure, and says why the step went on regardless.
  if (result.status == StepStatus::kFailed && action.attributes.ignore) end.message += " (ignored)";
  const auto& capture = action.attributes.capture;
  if (result.status == StepStatus::kSucceeded && capture && !exec::LooksSecret(capture->variable))
    end.captures[std::string(capture->variable)] = masker_.Mask(result.captured);
  observers_.OnAttemptFinished(item, end);
  return result;
}

Engine::BlockOutcome Engine::RunBlock(
    const ItemRef& item, const Action& action, std::string_view code,
    const std::vector<runbook::ExpectedLine>* transcript_expected) {
  const runbook::Attributes& attributes = action.attributes;
  int max_attempts = 1 + attributes.retries;
  auto until_deadline = attributes.until && attributes.timeout
                            ? std::optional<Clock::time_point>(Clock::now() + *attributes.timeout)
                            : std::nullopt;
  Millis delay = attributes.delay;
  if (attributes.until && delay.count() == 0) delay = Millis(1000);
  // No step during a compensation: it runs without the limits of the step it undoes.
  std::optional<Millis> step_timeout = step_ ? step_->timeout : std::nullopt;
  for (int attempt = 1;; ++attempt) {
    std::optional<Millis> timeout = attributes.timeout ? attributes.timeout : step_timeout;
    if (until_deadline)
      timeout =
          std::max(Millis(1), std::chrono::duration_cast<Millis>(*until_deadline - Clock::now()));
    if (max_attempts > 1 || attributes.until)
      Note(NoteLevel::kInfo,
           fmt::format("attempt {}{}", attempt,
                       attributes.until ? "" : fmt::format(" of {}", max_attempts)));
    BlockOutcome result = RunAttempt(item, action, code, transcript_expected, timeout, attempt);
    if (result.status == StepStatus::kSucceeded || result.final) return result;
    if (!observers_.Problem().empty() && !rolling_back_) return result;
    bool again = until_deadline ? Clock::now() + delay < *until_deadline : attempt < max_attempts;
    if (!again || Interrupted()) {
      if (until_deadline)
        result.message = fmt::format("did not succeed within {} ({} attempts; last: {})",
                                     FormatDuration(*attributes.timeout), attempt, result.message);
      return result;
    }
    Note(NoteLevel::kWarn, fmt::format("attempt {} failed: {}; retrying in {}", attempt,
                                       result.message, FormatDuration(delay)));
    InterruptibleSleep(delay);
    if (Interrupted()) {
      result.status = StepStatus::kInterrupted;
      result.message = "interrupted while waiting to retry";
      return result;
    }
  }
}

Engine::BlockOutcome Engine::RunActionBlocks(const ItemRef& item, const Action& action) {
  if (!action.is_transcript()) return RunBlock(item, action, action.block.text, nullptr);
  BlockOutcome outcome;
  for (const auto& command : action.transcript) {
    Note(NoteLevel::kInfo, fmt::format("$ {}", command.command));
    BlockOutcome one = RunBlock(item, action, command.command, &command.expected);
    outcome.attempts += one.attempts;
    outcome.status = one.status;
    outcome.message = one.message;
    outcome.detail = one.detail;
    if (one.status != StepStatus::kSucceeded) {
      outcome.message = fmt::format("$ {}: {}", command.command, one.message);
      break;
    }
  }
  return outcome;
}

void Engine::RunVerifications(const Action& action, BlockOutcome& outcome) {
  for (const auto& verification : action.verifications) {
    Action verify_action = runbook_.BlockAction(verification);
    std::string title = fmt::format("verification (line {})", verification.pos.line);
    std::string code = CodeSummary(verification.interpreter, verification.text);
    if (verify_action.attributes.skip) {
      Note(NoteLevel::kInfo, fmt::format("skipped (skip attribute): verify $ {}", code));
      RecordNotRun(NextItem(title, StepKind::kVerification), StepStatus::kSkipped,
                   "skipped (skip attribute)");
      continue;
    }
    if (verify_action.attributes.confirm) {
      ItemResult gate =
          Gate(fmt::format("verify {} ({}, line {})?", step_->name, code, verification.pos.line),
               verification.pos.line, runbook_.GateRole(*step_, &verify_action));
      if (gate.status != StepStatus::kApproved) {
        outcome.status = gate.status;
        outcome.message = fmt::format("{} not approved: {}", title, gate.message);
        return;
      }
    }
    Note(NoteLevel::kInfo, fmt::format("verify $ {}", code));
    ItemRef item = NextItem(title, StepKind::kVerification);
    BlockOutcome verified = RunBlock(item, verify_action, verification.text, nullptr);
    if (verified.status == StepStatus::kFailed && verify_action.attributes.ignore) {
      Note(NoteLevel::kWarn,
           fmt::format("{} {} (ignored: the block is marked ignore)", title, verified.message));
      continue;
    }
    if (verified.status != StepStatus::kSucceeded) {
      outcome.status = verified.status;
      outcome.message =
          fmt::format("verification (line {}) {}", verification.pos.line, verified.message);
      outcome.detail = verified.detail;
      return;
    }
  }
}

bool Engine::RunActionItem(const Action& action, StepResult& out,
                           const std::string* checklist_text) {
  ItemResult item;
  item.label = CodeSummary(action.block.interpreter, action.block.text);
  if (action.attributes.name)
    item.label = fmt::format("{} — {}", *action.attributes.name, item.label);
  item.line = action.block.pos.line;
  std::string title = checklist_text ? *checklist_text : BlockTitle(action);
  StepKind kind = checklist_text ? StepKind::kCheck : StepKind::kStep;
  if (rolling_back_ && RollbackItemSettled(&action, title, item.line, out)) return true;
  if (action.attributes.skip) {
    item.status = StepStatus::kSkipped;
    Note(NoteLevel::kInfo, fmt::format("skipped (skip attribute): {}", item.label));
    RecordNotRun(NextItem(title, kind), StepStatus::kSkipped, "skipped (skip attribute)");
    if (rolling_back_) item.label = title;
    out.items.push_back(item);
    return true;
  }
  if (action.attributes.confirm) {
    const runbook::GateSpec* gate_spec = runbook_.BlockGate(action);
    std::string question =
        gate_spec && !gate_spec->prompt.empty()
            ? fmt::format("{} (run {}, line {})", gate_spec->prompt, step_->name, item.line)
            : fmt::format("run {} ({}, line {})?", step_->name, item.label, item.line);
    ItemResult gate = Gate(question, item.line, runbook_.GateRole(*step_, &action));
    out.items.push_back(gate);
    if (gate.status != StepStatus::kApproved) return false;
  }
  if (std::string what = TerminalNeeded(action); !what.empty() && !prompter_.available())
    return InteractiveWithoutTerminal(action, what, item, title, kind, out);
  ItemRef ref = NextItem(title, kind);
  auto start = Clock::now();
  if (!action.is_transcript()) Note(NoteLevel::kInfo, fmt::format("$ {}", item.label));
  Note(NoteLevel::kVerbose, action.block.text);
  BlockOutcome outcome = RunActionBlocks(ref, action);
  if (outcome.status == StepStatus::kSucceeded && action.attributes.capture) {
    std::string name(action.attributes.capture->variable);
    runner_.SetVariable(name, outcome.captured);
    captures_[name] = outcome.captured;
    Note(NoteLevel::kInfo, fmt::format("captured {}={}", name, masker_.Mask(outcome.captured)));
  }
  if (outcome.status == StepStatus::kSucceeded) RunVerifications(action, outcome);
  item.status = outcome.status;
  item.message = outcome.message;
  item.detail = outcome.detail;
  item.attempts = outcome.attempts;
  item.elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
  out.attempts += outcome.attempts;
  if (item.status == StepStatus::kFailed && action.attributes.ignore) {
    Note(NoteLevel::kWarn, fmt::format("{} (ignored: the block is marked ignore)", item.message));
    item.message += " (ignored)";
    item.status = StepStatus::kSucceeded;
  }
  bool passed = item.status == StepStatus::kSucceeded;
  if (passed && rolling_back_) Note(NoteLevel::kPass, title);
  // The operator stopped the rollback: the rest is recorded as not run.
  if (rolling_back_ && item.status == StepStatus::kInterrupted) rollback_interrupted_ = true;
  if (!passed) {
    Note(NoteLevel::kFail, fmt::format("line {}: {}", item.line, item.message));
    if (!item.detail.empty()) Note(NoteLevel::kDetail, item.detail);
  }
  if (rolling_back_) item.label = title;
  out.items.push_back(std::move(item));
  return passed;
}

}  // namespace stagecraft::engine
