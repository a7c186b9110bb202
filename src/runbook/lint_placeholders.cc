#include <fmt/format.h>

#include "runbook/inputs.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

std::string Hint(const std::string& variable) {
  return fmt::format(
      "declare {0} under the front matter's inputs: (a run then takes --var {0}=... or asks "
      "for it), or write \"${0}\" here and give it a value",
      variable);
}

}  // namespace

void LintPlaceholders(const LintScript& script, const ShellScript& shell,
                      const std::set<std::string>& declared, Diagnostics& out) {
  for (const InputUse& use : FindInputUses(script.text, shell, script.prompt_env)) {
    if (declared.count(use.name) || use.exported) continue;
    if (use.redirect) {
      std::string name = use.written.substr(1, use.written.size() - 2);
      out.push_back(Finding(
          Severity::kError, script, use.begin, "placeholder-redirect",
          fmt::format("'<{}>' is a placeholder, but bash reads it as redirections: input from a "
                      "file named '{}'",
                      name, name),
          Hint(use.name)));
      continue;
    }
    out.push_back(
        Finding(Severity::kWarning, script, use.begin, "placeholder",
                fmt::format("'{}' is a placeholder for {}: the block would run with it as written",
                            use.written, use.what),
                Hint(use.name)));
  }
}

}  // namespace stagecraft::runbook
