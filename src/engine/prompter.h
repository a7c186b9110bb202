#pragma once

// Where approvals come from. On a terminal the operator answers; in CI there is nobody to
// ask, and the engine must stop at the gate instead of guessing.

#include <optional>
#include <string>
#include <string_view>

namespace stagecraft::engine {

class Prompter {
 public:
  virtual ~Prompter() = default;
  // False when nobody can answer (no terminal).
  virtual bool available() const = 0;
  // Shows `question` and returns the answer line, or nullopt at end of input.
  virtual std::optional<std::string> Ask(std::string_view question) = 0;
  // The same for a value that looks secret: the answer is not shown as it is typed.
  virtual std::optional<std::string> AskHidden(std::string_view question) { return Ask(question); }
};

// Reads answers from /dev/tty when standard input is a terminal.
class TerminalPrompter : public Prompter {
 public:
  TerminalPrompter();
  bool available() const override { return available_; }
  std::optional<std::string> Ask(std::string_view question) override;
  std::optional<std::string> AskHidden(std::string_view question) override;

 private:
  bool available_ = false;
};

}  // namespace stagecraft::engine
