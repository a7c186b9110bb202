#include <fmt/format.h>

#include "base/text.h"
#include "runbook/lint_shell.h"

namespace stagecraft::runbook {
namespace {

// Does this comment (after its '#') announce another way of doing what the commands before
// it did: "Or roll back the whole stack", "Alternatively…", "Option 2: …"?
bool AnnouncesAlternative(std::string_view comment) {
  std::string lower = ToLower(TrimView(comment));
  std::string_view text(lower);
  size_t end = 0;
  while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '-'))
    ++end;
  std::string_view word = text.substr(0, end);
  if (word == "or" || word == "alternatively" || word == "alternative") return end > 0;
  if (word != "option") return false;
  // "Option 2", "Option B:", not "Options are…" or "option flags below".
  std::string_view rest = TrimView(text.substr(end));
  if (rest.empty()) return false;
  size_t label = 0;
  while (label < rest.size() && rest[label] != ' ' && rest[label] != ':' && rest[label] != ')' &&
         rest[label] != '.')
    ++label;
  return label > 0 && label <= 2;
}

bool IsCommandLine(std::string_view line) {
  std::string_view text = TrimView(line);
  return !text.empty() && text.front() != '#';
}

}  // namespace

void LintHiddenAlternative(const LintScript& script, Diagnostics& out) {
  bool commands_before = false;
  std::optional<size_t> announced;  // offset of the '#' of the comment, once one is seen
  size_t offset = 0;
  while (offset < script.text.size()) {
    size_t end = std::min(script.text.find('\n', offset), script.text.size());
    std::string_view line = script.text.substr(offset, end - offset);
    std::string_view text = TrimView(line);
    if (announced && IsCommandLine(line)) {
      SourcePos pos = script.PositionOf(*announced);
      out.push_back({Severity::kWarning, pos,
                     fmt::format("alternative hidden in one block: the commands after line {} "
                                 "run too; split them into sibling 'Option' sections",
                                 pos.line),
                     "every command of a block runs; of sibling sections titled 'Option 1: …', "
                     "'Option 2: …' one runs, and --choose picks which",
                     "hidden-alternative"});
      return;
    }
    if (!announced && commands_before && StartsWith(text, "#") && !StartsWith(text, "#!") &&
        AnnouncesAlternative(text.substr(1)))
      announced = offset + (text.data() - line.data());
    commands_before = commands_before || IsCommandLine(line);
    offset = end + 1;
  }
}

}  // namespace stagecraft::runbook
