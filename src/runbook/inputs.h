#pragma once

// Inputs: values a runbook's shell code leaves for the operator to fill in, written as
// placeholders (`<TASK_ARN>`, `YOUR_ACCOUNT_ID`, `[from-secrets-manager]`, `xxx`...) or
// declared under the front matter's `inputs:`. Finding them is the one answer for lint,
// the plan and the engine; the engine replaces each placeholder with its value, quoted for
// the place it stands in, so the shell reads the value exactly as given. Plain functions
// over views into the Runbook.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/lint_scripts.h"
#include "runbook/model.h"
#include "runbook/shell_syntax.h"

namespace stagecraft::runbook {

// How the shell reads the text around a placeholder.
enum class InputQuoting {
  kNone,             // a bare word
  kSingle,           // inside '...'
  kDouble,           // inside "..."
  kHereDocument,     // the body of <<EOF, where $ and ` expand
  kLiteralDocument,  // the body of <<'EOF', read as written
};

struct InputUse {
  std::string name;  // the input's name: ACCOUNT_ID for YOUR_ACCOUNT_ID
  // What the reader was to fill in, for messages: "the account id", "a value", or the
  // variable the placeholder is assigned to.
  std::string what;
  size_t begin = 0;  // the placeholder's bytes in the code
  size_t end = 0;
  std::string written;  // the placeholder as the code has it
  // `<NAME>` outside quotes, which bash reads as redirections from and to files.
  bool redirect = false;
  // Angle brackets (`<revision>`): the shape that names its input on purpose.
  bool angled = false;
  InputQuoting quoting = InputQuoting::kNone;
  // A `promptEnv` export (`export REGION="us-east-1"`): the value as written, unquoted, which
  // is the input's default; empty when the export gives none.
  std::optional<std::string> exported;
};

// The placeholders of one shell script, in the order they stand, each once. Under promptEnv
// auto, an `export NAME=VALUE` whose value is quoted text without expansions, or empty, is an
// input NAME too; under always, any value without expansions.
std::vector<InputUse> FindInputUses(std::string_view code, const ShellScript& shell,
                                    PromptEnv prompt_env = PromptEnv::kNever);
std::vector<InputUse> FindInputUses(std::string_view code,
                                    PromptEnv prompt_env = PromptEnv::kNever);

// The input name for what a placeholder says it stands for ("account id" → ACCOUNT_ID).
std::string InputName(std::string_view words);

// `value` written so that the shell, reading it where `quoting` says, gets it unchanged.
std::string QuoteInput(std::string_view value, InputQuoting quoting);

// `code` with each placeholder replaced by its input's value from `values`; placeholders
// whose input has no value are left as they are.
std::string SubstituteInputs(std::string_view code, const std::vector<InputUse>& uses,
                             const std::map<std::string, std::string>& values);

// Every placeholder of every shell script a run may execute (the scripts lint reads), in
// document order.
void ForEachInputUse(const Runbook& runbook, const SourceLines& source,
                     const std::function<void(const LintScript&, const InputUse&)>& visit);

struct InputList {
  // What a run needs: the inputs declared in the front matter, then those the code uses.
  std::vector<std::string> all;
  // What each step's code uses, in the order first used; steps that use none are absent.
  std::map<const Step*, std::vector<std::string>> by_step;
  // The inputs of promptEnv exports, with the value written (the default; "" for none).
  std::map<std::string, std::string> exported;
};
InputList ListInputs(const Runbook& runbook);

// The declaration of `name` in the front matter, or null.
const InputSpec* FindInputSpec(const Runbook& runbook, std::string_view name);

// The value `name` takes when nobody gives one: its declared default, else the value its
// promptEnv export writes.
std::optional<std::string> InputDefault(const Runbook& runbook, const InputList& inputs,
                                        const std::string& name);

}  // namespace stagecraft::runbook
