#include "runbook/working_directory.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "base/text.h"
#include "runbook/lint_commands.h"

namespace stagecraft::runbook {
namespace {

// Guides repeat `cd app/dir` in every step; a path grown by one that was not followed the
// engine's way would make lint's time and memory grow with its square.
constexpr size_t kLongestPath = 512;

// `dir` ends with the path `tail` ("infra/queues" ends with "queues" and "infra/queues").
bool EndsWithPath(std::string_view dir, std::string_view tail) {
  if (tail.empty() || tail == "." || tail.size() > dir.size() || !EndsWith(dir, tail)) return false;
  return tail.size() == dir.size() || dir[dir.size() - tail.size() - 1] == '/';
}

}  // namespace

std::string NormalPath(std::string_view directory, std::string_view path) {
  std::vector<std::string_view> parts;
  bool absolute = StartsWith(path, "/") || StartsWith(directory, "/");
  for (std::string_view text : {StartsWith(path, "/") ? std::string_view() : directory, path}) {
    while (!text.empty()) {
      size_t slash = std::min(text.find('/'), text.size());
      std::string_view part = text.substr(0, slash);
      text.remove_prefix(std::min(slash + 1, text.size()));
      if (part.empty() || part == ".") continue;
      if (part == ".." && !parts.empty() && parts.back() != "..")
        parts.pop_back();
      else if (part != ".." || !absolute)
        parts.push_back(part);
    }
  }
  std::string normal = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i)
    normal += (i ? "/" : "") + std::string(parts[i]);
  return normal.empty() ? "." : normal;
}

std::string WorkingDirectory::For(const LintScript& script) const {
  return script.cwd ? NormalPath(current_, *script.cwd) : current_;
}

void WorkingDirectory::Apply(const ShellCommand& command, int line) {
  CommandWords cd = Unwrap(command);
  if (cd.program() != "cd" || command.in_substitution) return;
  std::vector<const ShellWord*> operands;
  for (size_t i = 1; i < cd.words.size(); ++i)
    if (cd.at(i).empty() || cd.at(i)[0] != '-') operands.push_back(cd.words[i]);
  std::string next;
  if (operands.size() == 1 && operands[0]->literal() && operands[0]->text != "-") {
    std::string_view target = operands[0]->text;
    while (target.size() > 1 && target.back() == '/')
      target.remove_suffix(1);
    if (target.front() == '/')
      next = NormalPath("", target);
    else if (known() && EndsWithPath(current_, target))
      next = current_;  // the engine's cd: already there, nothing changes
    else if (known())
      next = NormalPath(current_, target);
  }
  if (!next.empty() && next.size() <= kLongestPath) {
    current_ = std::move(next);
    return;
  }
  current_ = fmt::format("?{}", ++unknown_);
  unknown_line_ = line;
}

std::map<const Step*, StepDirectory> StepDirectories(const Runbook& runbook) {
  std::map<const Step*, StepDirectory> found;
  WorkingDirectory cwd;
  const Step* last = nullptr;
  SourceLines no_source("");
  ForEachLintScript(runbook, no_source, [&](const LintScript& script) {
    // The rollback runs after everything else, from wherever the run stopped.
    if (script.rollback || script.step->kind == StepKind::kRollback) return;
    if (script.step != last) {
      last = script.step;
      if (cwd.get() != ".")
        found[last] = {cwd.known() ? cwd.get() : "", cwd.known(), cwd.line_unknown_since()};
    }
    ShellScript shell = ParseShell(script.text);
    for (const ShellCommand& command : shell.commands)
      cwd.Apply(command, script.PositionOf(command.begin).line);
  });
  return found;
}

}  // namespace stagecraft::runbook
