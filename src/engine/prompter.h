#pragma once

// Where approvals come from. On a terminal the operator answers; in CI there is nobody to
// ask, and the engine must stop at the gate instead of guessing.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/duration.h"

namespace stagecraft::engine {

// What AskOrStop got: the answer line (nullopt at end of input), or `stopped` when the
// question was withdrawn before anything was typed.
struct PromptReply {
  std::optional<std::string> answer;
  bool stopped = false;
};

class Prompter {
 public:
  virtual ~Prompter() = default;
  // False when nobody can answer (no terminal).
  virtual bool available() const = 0;
  // Shows `question` and returns the answer line, or nullopt at end of input.
  virtual std::optional<std::string> Ask(std::string_view question) = 0;
  // The same for a value that looks secret: the answer is not shown as it is typed.
  virtual std::optional<std::string> AskHidden(std::string_view question) { return Ask(question); }
  // Like Ask, but a decision may also arrive from elsewhere: `stop_requested` is called
  // about every `slice` while nothing is typed, and when it returns true the question is
  // withdrawn.
  virtual PromptReply AskOrStop(std::string_view question,
                                const std::function<bool()>& stop_requested, Millis slice) = 0;
};

// Reads answers from /dev/tty when standard input is a terminal.
class TerminalPrompter : public Prompter {
 public:
  TerminalPrompter();
  bool available() const override { return available_; }
  std::optional<std::string> Ask(std::string_view question) override;
  std::optional<std::string> AskHidden(std::string_view question) override;
  PromptReply AskOrStop(std::string_view question, const std::function<bool()>& stop_requested,
                        Millis slice) override;

 private:
  bool available_ = false;
};

}  // namespace stagecraft::engine
