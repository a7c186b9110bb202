#include "runbook/lint_scripts.h"

#include <algorithm>
#include <tuple>

#include "base/text.h"
#include "runbook/command_needs.h"
#include "runbook/walk.h"

namespace stagecraft::runbook {

SourcePos LintScript::PositionOf(size_t offset) const {
  auto after = std::upper_bound(line_offsets.begin(), line_offsets.end(), offset);
  size_t line = after == line_offsets.begin() ? 0 : (after - line_offsets.begin()) - 1;
  return {line_positions[line].line,
          line_positions[line].column + static_cast<int>(offset - line_offsets[line])};
}

std::string_view LintScript::LineAt(size_t offset) const {
  size_t start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  start = start == std::string_view::npos || offset == 0 ? 0 : start + 1;
  size_t end = text.find('\n', offset);
  return text.substr(start, (end == std::string_view::npos ? text.size() : end) - start);
}

namespace {

std::string_view TrimEnd(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// Column where a line of a block's text starts in the file: cmark removes the fence's
// indentation (and that of a list item or a quote) from the block's lines, and a transcript
// drops its prompt, so the text is the end of the file's line.
int ColumnOf(const SourceLines& source, int line, std::string_view text_line, int fallback) {
  std::string_view file_line = TrimEnd(source.Line(line));
  text_line = TrimEnd(text_line);
  if (text_line.empty()) return fallback;
  if (EndsWith(file_line, text_line))
    return static_cast<int>(file_line.size() - text_line.size()) + 1;
  size_t found = file_line.rfind(text_line);
  return found == std::string_view::npos ? fallback : static_cast<int>(found) + 1;
}

LintScript MapScript(std::string_view text, int first_line, int column, const SourceLines& source) {
  LintScript script;
  script.text = text;
  size_t offset = 0;
  for (int line = first_line;; ++line) {
    size_t end = std::min(text.find('\n', offset), text.size());
    script.line_offsets.push_back(offset);
    script.line_positions.push_back(
        {line, ColumnOf(source, line, text.substr(offset, end - offset), column)});
    if (end >= text.size()) break;
    offset = end + 1;
  }
  return script;
}

class Collector {
 public:
  Collector(const Runbook& runbook, const SourceLines& source, std::vector<LintScript>& out)
      : runbook_(runbook), source_(source), out_(out) {}

  void AddAction(const Step& step, const Action& action) {
    if (action.attributes.skip) return;
    const Block& block = action.block;
    if (IsShellInterpreter(block.interpreter)) {
      if (action.is_transcript()) {
        for (const TranscriptCommand& command : action.transcript)
          Add(step, block, command.command, command.pos.line, command.pos.column, &action);
      } else {
        Add(step, block, block.text, block.first_line, block.pos.column, &action);
      }
    }
    for (const Block& verification : action.verifications)
      if (IsShellInterpreter(verification.interpreter))
        // Approved along with the action it checks; its own attributes are not read.
        Add(step, verification, verification.text, verification.first_line, verification.pos.column,
            nullptr)
            .gated = action.attributes.confirm;
  }

  void AddCompensation(const Step& step, const Block& block) {
    Action undo = runbook_.BlockAction(block);
    if (IsShellInterpreter(block.interpreter) && !undo.attributes.skip)
      Add(step, block, block.text, block.first_line, block.pos.column, &undo).rollback = true;
  }

 private:
  LintScript& Add(const Step& step, const Block& block, std::string_view text, int first_line,
                  int column, const Action* action) {
    LintScript script = MapScript(text, first_line, column, source_);
    script.step = &step;
    script.block = &block;
    script.rollback = step.kind == StepKind::kRollback;
    script.prompt_env = runbook_.PromptEnvOf(action ? action->attributes : Attributes{});
    if (action) {
      script.gated = action->attributes.confirm;
      script.interactive = action->attributes.interactive;
      script.streams = action->attributes.stream.has_value();
      script.cwd = action->attributes.cwd;
      if (action->attributes.capture) script.capture = action->attributes.capture->variable;
    }
    out_.push_back(std::move(script));
    return out_.back();
  }

  const Runbook& runbook_;
  const SourceLines& source_;
  std::vector<LintScript>& out_;
};

}  // namespace

void ForEachLintScript(const Runbook& runbook, const SourceLines& source,
                       const std::function<void(const LintScript&)>& visit) {
  // One step's scripts at a time: a step's blocks lie within its section, so sorting each
  // step's puts them all in document order without holding every script of the runbook.
  std::vector<LintScript> scripts;
  Collector collector(runbook, source, scripts);
  for (const Step& step : runbook.steps) {
    // A manual step is shown to the operator, never executed; a skipped one never runs.
    if (step.skip || step.manual) continue;
    scripts.clear();
    ForEachAction(step, [&](const Action& action) { collector.AddAction(step, action); });
    for (const Block& block : step.compensation)
      collector.AddCompensation(step, block);
    std::stable_sort(scripts.begin(), scripts.end(), [](const LintScript& a, const LintScript& b) {
      return std::tie(a.line_positions[0].line, a.line_positions[0].column) <
             std::tie(b.line_positions[0].line, b.line_positions[0].column);
    });
    for (const LintScript& script : scripts)
      visit(script);
  }
}

}  // namespace stagecraft::runbook
