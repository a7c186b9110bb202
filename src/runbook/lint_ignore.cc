#include "runbook/lint_ignore.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"
#include "runbook/attributes.h"
#include "runbook/lint.h"
#include "runbook/section_kind.h"
#include "runbook/walk.h"

namespace stagecraft::runbook {
namespace {

std::vector<std::string> SplitIds(std::string_view value) {
  std::vector<std::string> ids;
  std::string current;
  for (char c : std::string(value) + ' ') {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!current.empty()) ids.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return ids;
}

int LastLine(const Block& block) {
  return block.first_line +
         static_cast<int>(std::count(block.text.begin(), block.text.end(), '\n'));
}

// A fence line: ``` or ~~~, three or more, after any indentation (list items indent theirs).
struct Fence {
  char mark = 0;
  size_t length = 0;
};
Fence FenceOf(std::string_view line) {
  std::string_view text = TrimView(line);
  if (text.empty() || (text[0] != '`' && text[0] != '~')) return {};
  size_t length = text.find_first_not_of(text[0]);
  if (length == std::string_view::npos) length = text.size();
  return length >= 3 ? Fence{text[0], length} : Fence{};
}

// `# Title` up to `###### Title`, indented three spaces at most: its level, else 0.
int HeadingLevel(std::string_view line) {
  size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || indent > 3) return 0;
  size_t hashes = line.find_first_not_of('#', indent);
  if (hashes == std::string_view::npos) hashes = line.size();
  int level = static_cast<int>(hashes - indent);
  if (level < 1 || level > 6) return 0;
  return hashes == line.size() || line[hashes] == ' ' || line[hashes] == '\t' ? level : 0;
}

}  // namespace

LintSilences::LintSilences(const Runbook& runbook, std::string_view source,
                           const SourceLines& lines, Diagnostics& out) {
  for (const Step& step : runbook.steps) {
    ForEachAction(step, [&](const Action& action) {
      AddBlock(action.block, lines, out);
      for (const Block& block : action.verifications)
        AddBlock(block, lines, out);
    });
    for (const Block& block : step.compensation)
      AddBlock(block, lines, out);
  }
  AddSections(runbook, source, out);
}

bool LintSilences::Silences(const Diagnostic& diagnostic) const {
  if (diagnostic.id.empty()) return false;
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& range) {
    return diagnostic.pos.line >= range.first && diagnostic.pos.line <= range.last &&
           std::find(range.ids.begin(), range.ids.end(), diagnostic.id) != range.ids.end();
  });
}

void LintSilences::AddBlock(const Block& block, const SourceLines& lines, Diagnostics& out) {
  // The model keeps no info string: read it from the fence line, after the fence characters.
  std::string_view fence = lines.Line(block.pos.line);
  fence.remove_prefix(std::min(fence.size(), static_cast<size_t>(block.pos.column - 1)));
  std::string_view info = fence.substr(std::min(fence.size(), fence.find_first_not_of("`~")));
  if (info.find("lint-ignore") == std::string_view::npos) return;
  for (const RawAttribute& attribute : ParseInfoString(info).attributes) {
    if (attribute.key != "lint-ignore" || !attribute.has_value) continue;
    size_t at = lines.Line(block.pos.line).find("lint-ignore");
    SourcePos pos{block.pos.line,
                  at == std::string_view::npos ? block.pos.column : static_cast<int>(at) + 1};
    AddIds({block.pos.line, LastLine(block), {}}, SplitIds(attribute.value), pos, out);
  }
}

void LintSilences::AddSections(const Runbook& runbook, std::string_view source, Diagnostics& out) {
  // Only the headings whose silences are still open are kept, not every heading of the
  // document: a heading's section ends at the next heading of its level or higher, so the
  // open ones nest, each deeper than the one before.
  struct Heading {
    int line = 0;
    int level = 0;
    std::vector<std::string> lint_ignore;
    SourcePos pos;
  };
  std::vector<Heading> open_sections;
  Heading current;  // the last heading read, which a directive after it belongs to
  auto close = [&](const Heading& heading, int last) {
    std::vector<std::string> ids;
    for (const std::string& value : heading.lint_ignore)
      for (std::string& id : SplitIds(value))
        ids.push_back(std::move(id));
    AddIds({heading.line, last, {}}, ids, heading.pos, out);
  };
  Fence open;
  bool after_heading = false;
  int number = 0;
  LineReader reader(source);
  for (std::string_view line; reader.Next(line);) {
    ++number;
    if (number <= runbook.front_matter.end_line) continue;
    Fence fence = FenceOf(line);
    if (open.mark) {
      if (fence.mark == open.mark && fence.length >= open.length &&
          TrimView(line).size() == fence.length)
        open = {};
      continue;
    }
    if (fence.mark) {
      open = fence;
      after_heading = false;
    } else if (int level = HeadingLevel(line)) {
      for (; !open_sections.empty() && open_sections.back().level >= level;
           open_sections.pop_back())
        close(open_sections.back(), number - 1);
      current = {number, level, {}, {}};
      after_heading = true;
    } else if (after_heading && StartsWith(TrimView(line), "<!--")) {
      // A directive may run over several lines.
      int first = number;
      std::string comment(line);
      while (comment.find("-->") == std::string::npos && reader.Next(line)) {
        ++number;
        comment += '\n';
        comment += line;
      }
      Diagnostics ignored;  // the parser reported them already
      Directives directives;
      ParseDirective(comment, {first, 1}, directives, ignored);
      bool listed = !open_sections.empty() && open_sections.back().line == current.line;
      if (!listed && directives.lint_ignore.empty()) continue;
      if (!listed) open_sections.push_back(current);
      Heading& heading = open_sections.back();
      for (std::string& id : directives.lint_ignore)
        heading.lint_ignore.push_back(std::move(id));
      heading.pos = {first, 1};
    } else if (!TrimView(line).empty()) {
      after_heading = false;
    }
  }
  for (const Heading& heading : open_sections)
    close(heading, number);
}

void LintSilences::AddIds(Range range, const std::vector<std::string>& ids, SourcePos pos,
                          Diagnostics& out) {
  const std::vector<std::string>& known = LintFindingIds();
  for (const std::string& id : ids) {
    if (std::find(known.begin(), known.end(), id) != known.end()) {
      range.ids.push_back(id);
      continue;
    }
    auto suggestion = ClosestMatch(id, known);
    out.push_back({Severity::kWarning, pos,
                   suggestion ? fmt::format("lint-ignore names no finding '{}'; did you mean '{}'?",
                                            id, *suggestion)
                              : fmt::format("lint-ignore names no finding '{}'", id),
                   "the ids are listed in docs/runbook-format.md, section 18", "lint-ignore"});
  }
  if (!range.ids.empty()) ranges_.push_back(std::move(range));
}

}  // namespace stagecraft::runbook
