#include "runbook/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "base/text.h"
#include "runbook/lint_ignore.h"
#include "runbook/lint_scripts.h"
#include "runbook/lint_shell.h"
#include "runbook/lint_text.h"
#include "runbook/rollback_rules.h"
#include "runbook/shell_syntax.h"
#include "runbook/walk.h"

namespace stagecraft::runbook {
namespace {

// What the shell actually runs: for a transcript, its commands (kept in `storage`) without
// the output lines pasted under them (output such as "Created /tmp/x" must not look like a
// command). Other blocks are not copied.
std::string_view ExecutedScript(const Action& action, std::string& storage) {
  if (!action.is_transcript()) return action.block.text;
  for (const auto& command : action.transcript) {
    storage += command.command;
    storage += '\n';
  }
  return storage;
}

void LintAction(const Action& action, Diagnostics& out) {
  int line_number = action.block.first_line;
  bool any_command = false;
  // Every line of every block is looked at: walk them in place rather than collect them.
  LineReader reader(action.block.text);
  for (std::string_view line; reader.Next(line); ++line_number) {
    std::string_view trimmed = TrimView(line);
    if (!trimmed.empty() && trimmed.front() != '#') any_command = true;
    if (StartsWith(trimmed, "#")) {
      std::string comment = ToLower(TrimView(trimmed.substr(1)));
      // "# Review the plan - should show:": the phrase may follow a lead-in and a dash.
      for (std::string_view dash : {" - ", " -- ", " \u2014 "})
        if (size_t at = comment.find(dash); at != std::string::npos) {
          std::string after = comment.substr(at + dash.size());
          if (StartsWith(after, "should ")) comment = after;
        }
      if (StartsWith(comment, "expected") || StartsWith(comment, "should show") ||
          StartsWith(comment, "should return") || StartsWith(comment, "should print")) {
        // cmark strips the fence's indentation from the contents; add it back.
        int column = action.block.pos.column + static_cast<int>(line.find('#'));
        out.push_back({Severity::kWarning,
                       {line_number, column},
                       "expectation written as a comment is not checked",
                       "move the expected lines into a fenced block after an **Expected "
                       "Output:** label, with (re) or (glob) for the parts that vary",
                       "comment-expectation"});
      }
    }
  }
  if (action.attributes.background)
    out.push_back({Severity::kWarning, action.block.pos,
                   "'background' is not supported yet: the block runs in the foreground and "
                   "the step waits for it",
                   "start a long-running process with '&' (or nohup/setsid) inside the block; "
                   "the step ends when the block's shell exits",
                   "background"});
  if (!any_command && !action.attributes.skip)
    out.push_back({Severity::kWarning, action.block.pos, "block holds only comments; nothing runs",
                   "use a ```text block for notes, or mark the step manual", "only-comments"});
}

void LintRollbackCoverage(const Runbook& runbook, Diagnostics& out) {
  bool has_rollback_section =
      std::any_of(runbook.steps.begin(), runbook.steps.end(),
                  [](const Step& s) { return s.kind == StepKind::kRollback; });
  if (has_rollback_section) return;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep || step.manual || step.skip || step.has_rollback()) continue;
    if (std::any_of(step.actions.begin(), step.actions.end(), ActionLooksMutating))
      out.push_back(
          {Severity::kWarning, step.pos,
           fmt::format("step '{}' changes things but has no rollback, and the runbook has no "
                       "rollback section",
                       step.name),
           "add a **Rollback:** block after its commands, or a '## Rollback' section that "
           "undoes the deployment",
           "no-rollback"});
  }
}

LintContext ContextOf(const Runbook& runbook) {
  namespace fs = std::filesystem;
  LintContext context;
  std::error_code error;
  fs::path root = fs::absolute(fs::path(runbook.path), error).parent_path();
  if (runbook.front_matter.root) root /= *runbook.front_matter.root;
  context.root = root.lexically_normal().string();
  while (context.root.size() > 1 && context.root.back() == '/')
    context.root.pop_back();
  auto define = [&](const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars)
      if (!value.empty()) context.defined.insert(name);
  };
  define(runbook.front_matter.vars);
  for (const Environment& environment : runbook.front_matter.environments)
    define(environment.vars);
  return context;
}

// The run-time hazards of the shell code the runbook runs.
void LintShellCode(const Runbook& runbook, const SourceLines& lines, Diagnostics& out) {
  FileOrder file_order;
  LintContext context = ContextOf(runbook);
  std::set<std::string> declared;
  for (const InputSpec& input : runbook.front_matter.inputs)
    declared.insert(input.name);
  size_t index = 0;
  ForEachLintScript(runbook, lines, [&](const LintScript& script) {
    ShellScript shell = ParseShell(script.text);
    LintExitStatus(script, shell, out);
    LintCommandHazards(script, shell, context, out);
    AddDefinitions(script, shell, context.defined);
    LintTerminal(script, shell, out);
    LintHiddenAlternative(script, out);
    LintPlaceholders(script, shell, declared, out);
    file_order.Add(index++, script, shell);
  });
  file_order.Report(out);
}

bool Before(const Diagnostic& a, const Diagnostic& b) {
  return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
}

}  // namespace

bool ActionLooksMutating(const Action& action) {
  std::string storage;
  return !action.attributes.skip && LooksMutating(ExecutedScript(action, storage));
}

const std::vector<std::string>& LintFindingIds() {
  static const std::vector<std::string> ids = {
      "absolute-cd",      "background",         "comment-expectation",  "destructive",
      "grep-pipefail",    "hidden-alternative", "hidden-failure",       "lint-ignore",
      "mojibake",         "needs-terminal",     "never-ends",           "no-rollback",
      "only-comments",    "placeholder",        "placeholder-redirect", "read-before-write",
      "rm-empty-variable"};
  return ids;
}

LintSummary Lint(const Runbook& runbook, std::string_view source, Diagnostics& diagnostics) {
  Diagnostics found;
  for (const Step& step : runbook.steps)
    ForEachAction(step, [&](const Action& action) { LintAction(action, found); });
  LintRollbackCoverage(runbook, found);
  LintRollbackScoping(runbook, found);
  SourceLines lines(source);
  LintShellCode(runbook, lines, found);
  LintMojibake(source, found);
  // A word inside $(...) is read both as part of its command and as a command of its own.
  std::stable_sort(found.begin(), found.end(), Before);
  found.erase(std::unique(found.begin(), found.end(),
                          [](const Diagnostic& a, const Diagnostic& b) {
                            return !Before(a, b) && !Before(b, a) && a.id == b.id &&
                                   a.message == b.message;
                          }),
              found.end());
  LintSummary summary;
  LintSilences silences(runbook, source, lines, diagnostics);
  Diagnostics kept;
  for (Diagnostic& diagnostic : found) {
    if (silences.Silences(diagnostic))
      ++summary.silenced;
    else
      kept.push_back(std::move(diagnostic));
  }
  MergeRepeatedMojibake(kept);
  for (Diagnostic& diagnostic : kept)
    diagnostics.push_back(std::move(diagnostic));
  std::stable_sort(diagnostics.begin(), diagnostics.end(), Before);
  return summary;
}

}  // namespace stagecraft::runbook
