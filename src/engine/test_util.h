#pragma once

// The engine's test doubles, shared by its test files: a runner that answers blocks from a
// script, a prompter that answers from a list, and a fixture that runs a runbook through
// them. Header-only, so the library carries no test code.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/console.h"
#include "engine/engine.h"
#include "engine/journal_recorder.h"
#include "runbook/parser.h"

namespace stagecraft::engine::testing {

// Answers blocks from a script: the first rule whose needle occurs in the code decides
// the exit code and output. Records every block it was asked to run.
class FakeRunner : public Runner {
 public:
  struct Rule {
    std::string needle;
    int exit_code = 0;
    std::string output;
    ProcessOutcome::Kind kind = ProcessOutcome::Kind::kExited;
    int times = -1;  // how many calls the rule answers; -1 = always
  };
  void On(Rule rule) { rules_.push_back(std::move(rule)); }

  ProcessOutcome Run(const exec::BlockRequest& invocation) override {
    ProcessOutcome outcome;
    outcome.kind = ProcessOutcome::Kind::kExited;
    outcome.exit_code = 0;
    // Interpreter probes are answered from `missing_interpreters` and kept apart so the
    // tests' call lists show only the runbook's own commands.
    if (invocation.code.starts_with("command -v '")) {
      probes.push_back(invocation.code);
      for (const auto& missing : missing_interpreters)
        if (invocation.code.find("'" + missing + "'") != std::string::npos) outcome.exit_code = 1;
      return outcome;
    }
    calls.push_back(invocation.code);
    timeouts.push_back(invocation.timeout);
    // As the real runner does once the process exists; the engine learns from it that the
    // step may have changed something.
    if (invocation.on_started) invocation.on_started(4242, 1);
    for (auto& rule : rules_) {
      if (invocation.code.find(rule.needle) == std::string::npos || rule.times == 0) continue;
      if (rule.times > 0) --rule.times;
      if (invocation.sink && !rule.output.empty())
        invocation.sink->OnOutput(Stream::kStdout, rule.output);
      outcome.kind = rule.kind;
      outcome.exit_code = rule.kind == ProcessOutcome::Kind::kExited ? rule.exit_code : -1;
      if (rule.kind == ProcessOutcome::Kind::kInterrupted) outcome.interrupt_signal = 2;
      break;
    }
    return outcome;
  }
  void SetVariable(const std::string& name, const std::string& value) override {
    variables[name] = value;
  }
  void SetSecret(const std::string& name, const std::string& value) override {
    variables[name] = value;
  }
  std::map<std::string, std::string> ExportedVariables() const override { return {}; }
  std::string cwd() const override { return "/"; }

  std::vector<std::string> calls;
  std::vector<std::optional<Millis>> timeouts;  // of each call, in the same order
  std::vector<std::string> probes;
  std::vector<std::string> missing_interpreters;
  std::map<std::string, std::string> variables;

 private:
  std::vector<Rule> rules_;
};

class ScriptedPrompter : public Prompter {
 public:
  bool available() const override { return available_; }
  std::optional<std::string> Ask(std::string_view question) override {
    questions.push_back(std::string(question));
    if (answers.empty()) return std::nullopt;
    std::string answer = answers.front();
    answers.pop_front();
    return answer;
  }
  std::optional<std::string> AskHidden(std::string_view question) override {
    hidden_questions.push_back(std::string(question));
    return Ask(question);
  }
  // Asks stop_requested `slices_before_answer` times, as the terminal would while nobody
  // types, then answers as Ask does.
  PromptReply AskOrStop(std::string_view question, const std::function<bool()>& stop_requested,
                        Millis slice) override {
    slices.push_back(slice);
    for (int i = 0; i < slices_before_answer; ++i)
      if (stop_requested()) {
        questions.push_back(std::string(question));
        return PromptReply{std::nullopt, true};
      }
    return PromptReply{Ask(question), false};
  }
  bool available_ = false;
  int slices_before_answer = 0;
  std::vector<Millis> slices;  // of each AskOrStop, in order
  std::deque<std::string> answers;
  std::vector<std::string> questions;
  std::vector<std::string> hidden_questions;  // also in `questions`
};

class EngineTest : public ::testing::Test {
 protected:
  RunResult RunBook(const std::string& markdown, EngineOptions options = {},
                    const std::string& environment = "") {
    return Drive(markdown, std::move(options), environment, /*rollback_only=*/false);
  }
  // `stagecraft rollback` of a run in which options.completed_steps ran.
  RunResult RollbackBook(const std::string& markdown, EngineOptions options) {
    return Drive(markdown, std::move(options), "", /*rollback_only=*/true);
  }

  RunResult Drive(const std::string& markdown, EngineOptions options,
                  const std::string& environment, bool rollback_only) {
    parsed_ = runbook::ParseRunbook("book.md", markdown);
    EXPECT_FALSE(runbook::HasErrors(parsed_.diagnostics));
    if (!environment.empty()) options.environment = parsed_.runbook.FindEnvironment(environment);
    char* buffer = nullptr;
    size_t size = 0;
    FILE* out = open_memstream(&buffer, &size);
    RunResult result;
    {
      Console console(out, {});
      JournalRecorder recorder(journal_for_run_, run_id_for_run_);
      std::vector<RunObserver*> observers = {&console, &recorder};
      if (extra_observer_) observers.push_back(extra_observer_);
      Engine engine(parsed_.runbook, runner_, prompter_, nullptr, options, observers);
      result = rollback_only ? engine.RollbackOnly() : engine.Run();
    }
    std::fclose(out);
    console_text_.assign(buffer, size);
    std::free(buffer);
    return result;
  }

  std::vector<std::string> Calls() const {
    std::vector<std::string> trimmed;
    for (const auto& call : runner_.calls) {
      std::string line = call.substr(0, call.find('\n'));
      trimmed.push_back(line);
    }
    return trimmed;
  }

  runbook::ParseResult parsed_;
  journal::Journal* journal_for_run_ = nullptr;  // where RunBook journals; null = nowhere
  std::string run_id_for_run_;
  RunObserver* extra_observer_ = nullptr;  // hears the events after the console and recorder
  FakeRunner runner_;
  ScriptedPrompter prompter_;
  std::string console_text_;
};

}  // namespace stagecraft::engine::testing
