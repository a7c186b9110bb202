#include "runbook/parser.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>

#include "base/text.h"
#include "runbook/attributes.h"
#include "runbook/front_matter.h"
#include "runbook/section_kind.h"

namespace stagecraft::runbook {

const Environment* Runbook::FindEnvironment(const std::string& name) const {
  for (const auto& environment : front_matter.environments)
    if (environment.name == name) return &environment;
  return nullptr;
}

bool IsExecutableLanguage(std::string_view language) {
  static const std::set<std::string_view> languages = {
      "bash", "sh", "shell", "zsh", "ksh", "dash", "python", "python3", "node", "ruby", "perl"};
  return languages.count(language) > 0;
}

std::string InterpreterFor(std::string_view language, const std::string& shell) {
  if (!IsExecutableLanguage(language)) return "";
  if (language == "shell") return shell;
  if (language == "python") return "python3";
  return std::string(language);
}

namespace {

// Block quotes and lists are walked recursively, and nested checklists become nested model
// items that plan, lint and the engine recurse over too. A fixed bound keeps all of that
// far from the stack limit; real guides nest a handful of levels.
constexpr int kMaxNesting = 100;

struct ParserDeleter {
  void operator()(cmark_parser* parser) const { cmark_parser_free(parser); }
};

struct NodeDeleter {
  void operator()(cmark_node* node) const { cmark_node_free(node); }
};

std::string_view TypeString(cmark_node* node) {
  const char* type = cmark_node_get_type_string(node);
  return type ? type : "";
}

bool IsTasklistItem(cmark_node* node) {
  return cmark_node_get_type(node) == CMARK_NODE_ITEM && TypeString(node) == "tasklist";
}

void AppendPlainText(cmark_node* node, std::string& out) {
  // cmark's iterator walks without recursion: emphasis and links can nest tens of thousands
  // deep in a hostile file, and the C++ stack must not depend on that.
  cmark_iter* iter = cmark_iter_new(node);
  for (cmark_event_type event = cmark_iter_next(iter); event != CMARK_EVENT_DONE;
       event = cmark_iter_next(iter)) {
    cmark_node* current = cmark_iter_get_node(iter);
    if (event != CMARK_EVENT_ENTER || current == node) continue;
    switch (cmark_node_get_type(current)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
      case CMARK_NODE_HTML_INLINE:
        out += cmark_node_get_literal(current);
        break;
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK:
        out += ' ';
        break;
      default:
        break;
    }
  }
  cmark_iter_free(iter);
}

std::string PlainText(cmark_node* node) {
  std::string text;
  AppendPlainText(node, text);
  return Trim(text);
}

// What a bold label (`**Expected Output:**`) binds the following block to.
enum class Label {
  kNone,
  kExpected,
  kVerification,
  kRollback,
  kRedFlags,
  kTroubleshooting,
  kSuccessProse,  // **Success Indicators:** and the like: readable, but checks nothing
  kOther,
};

Label ClassifyLabel(std::string_view text) {
  std::string lower = ToLower(TrimView(text));
  auto has = [&](std::string_view word) { return lower.find(word) != std::string::npos; };
  if (StartsWith(lower, "expected")) return Label::kExpected;
  if (has("red flag") || has("must not appear")) return Label::kRedFlags;
  if (has("rollback") || has("roll back")) return Label::kRollback;
  if (has("troubleshoot") || (StartsWith(lower, "if ") && has("fail")))
    return Label::kTroubleshooting;
  if (StartsWith(lower, "verif") || StartsWith(lower, "validat")) return Label::kVerification;
  if (has("success indicator") || has("success criteria")) return Label::kSuccessProse;
  return Label::kOther;
}

// A paragraph that starts with bold text ending in ':' is a label; `rest` is whatever
// prose follows it in the same paragraph.
bool ReadLabel(cmark_node* paragraph, std::string& label, std::string& rest) {
  cmark_node* first = cmark_node_first_child(paragraph);
  if (!first || cmark_node_get_type(first) != CMARK_NODE_STRONG) return false;
  label = PlainText(first);
  std::string after;
  for (cmark_node* node = cmark_node_next(first); node; node = cmark_node_next(node)) {
    std::string piece;
    cmark_node_type type = cmark_node_get_type(node);
    if (type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE)
      piece = cmark_node_get_literal(node);
    else if (type == CMARK_NODE_SOFTBREAK || type == CMARK_NODE_LINEBREAK)
      piece = " ";
    else
      AppendPlainText(node, piece);
    after += piece;
  }
  std::string_view trimmed_after = TrimView(after);
  if (EndsWith(label, ":")) {
    label.pop_back();
  } else if (StartsWith(trimmed_after, ":")) {
    trimmed_after.remove_prefix(1);
  } else {
    return false;
  }
  rest = Trim(trimmed_after);
  return true;
}

std::vector<ExpectedLine> ParseExpectedBlock(const Block& block) {
  std::vector<ExpectedLine> lines;
  std::string_view text = block.text;
  lines.reserve(std::count(text.begin(), text.end(), '\n') + !text.ends_with('\n'));
  int line_number = block.first_line;
  LineReader reader(block.text);
  for (std::string_view line; reader.Next(line);) {
    if (!TrimView(line).empty()) lines.push_back(ParseExpectedLine(line, line_number));
    ++line_number;
  }
  return lines;
}

// `$ cmd` / `> continuation` / expected output lines. Empty when the block has no prompt
// before its first non-comment line, i.e. it is a script, not a transcript.
std::vector<TranscriptCommand> ParseTranscript(const Block& block, int column) {
  std::vector<TranscriptCommand> commands;
  bool started = false;
  bool in_command = false;
  int line_number = block.first_line - 1;
  LineReader reader(block.text);
  for (std::string_view line; reader.Next(line);) {
    ++line_number;
    std::string_view trimmed = TrimView(line);
    if (!started) {
      if (trimmed.empty() || StartsWith(trimmed, "#")) continue;
      if (!(StartsWith(trimmed, "$ ") || trimmed == "$")) return {};
      started = true;
    }
    if (StartsWith(trimmed, "$ ") || trimmed == "$") {
      TranscriptCommand command;
      command.command = trimmed.size() > 2 ? std::string(trimmed.substr(2)) : "";
      command.pos = {line_number, column};
      commands.push_back(std::move(command));
      in_command = true;
    } else if (in_command && (StartsWith(trimmed, "> ") || trimmed == ">")) {
      commands.back().command += '\n';
      commands.back().command += trimmed.size() > 2 ? trimmed.substr(2) : "";
    } else {
      in_command = false;
      if (!trimmed.empty())
        commands.back().expected.push_back(ParseExpectedLine(line, line_number));
    }
  }
  return commands;
}

// What a heading says by its text alone.
struct Heading {
  int level = 0;      // 0: no heading (the blocks before the first one)
  std::string title;  // as written, budget included
  std::string title_without_budget;
  std::optional<Millis> budget;
  SectionKind title_kind = SectionKind::kNormal;  // ClassifyTitle(title)
  SourcePos pos;
};

// A fenced block's info string, parsed, and where it starts in the file.
struct BlockInfo {
  std::string_view text;  // as written, unless cmark's copy had to do
  InfoString parsed;
  SourcePos pos;
};

// A heading and the top-level blocks under it, up to the next heading.
struct FoundSection {
  Heading heading;
  std::vector<cmark_node*> content;
  size_t leading_html = 0;  // HTML blocks at the start of `content`: maybe directives
};

// A heading on the open path (or the blocks before the first heading): only the path is
// kept, since a section needs no more than its ancestors once its own step is built.
struct Section {
  Heading heading;
  Directives directives;
  SectionKind kind = SectionKind::kNormal;
  bool skip = false;
  bool titles_runbook = false;  // the first H1, which gave the runbook its title
  int phase = -1;               // of the steps under it, once one is built
};

class Builder {
 public:
  Builder(ParseResult& result, TextStore& store)
      : result_(result), runbook_(result.runbook), store_(store) {}

  // The Markdown body is `text`; its line 1 is line `body_offset + 1` of the file.
  void Begin(std::string_view text, int body_offset);
  // Builds the sections of one piece of the body, split at its headings (`found`, whose
  // contents it takes); the piece's line 1 is line `line_offset + 1` of the file. A piece
  // ends where the next begins, before a heading, so its sections are complete and built
  // at once: the caller may free the piece's tree afterwards.
  void AddPiece(std::vector<FoundSection>& found, int line_offset);
  void Finish();

 private:
  // Line `line` of the file, which must lie in the body.
  std::string_view Line(int line);
  SourcePos PosOf(cmark_node* node) const {
    return {cmark_node_get_start_line(node) + line_offset_, cmark_node_get_start_column(node)};
  }
  void OpenSection(FoundSection& found, bool titles_runbook);
  void BuildSection(std::span<cmark_node* const> content);
  int PhaseOfParent();
  void WalkContent(cmark_node* node, Step& step, ChecklistItem* item, int depth);
  void HandleParagraph(cmark_node* paragraph, Step& step);
  void HandleCodeBlock(cmark_node* node, Step& step, ChecklistItem* item);
  ChecklistItem ReadChecklistItem(cmark_node* item_node, Step& step, int depth);
  bool WithinNestingLimit(cmark_node* node, int depth);
  std::optional<Action> MakeAction(Block block, const BlockInfo& info);
  Attributes ReadAttributes(const BlockInfo& info);
  // Also parses the info string, once: `info` receives it.
  Block ReadBlock(cmark_node* node, BlockInfo& info);
  bool CheckFenceClosed(cmark_node* node);
  void ReadSignOffTable(cmark_node* table);
  void AssignNames();
  void CheckBlockNames();
  void MarkPreflight();
  void Warn(SourcePos pos, std::string message, std::string hint = {}) {
    result_.diagnostics.push_back({Severity::kWarning, pos, std::move(message), std::move(hint)});
  }
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    result_.diagnostics.push_back({Severity::kError, pos, std::move(message), std::move(hint)});
  }

  // The body and a cursor into it: lookups mostly move forward, a few lines at a time, so
  // walking from the last one beats indexing every line of the document.
  std::string_view text_;
  int cursor_line_ = 1;  // body-relative
  size_t cursor_offset_ = 0;
  // Where the cursor was before it last moved forward: a fence's closing line is read
  // before its opening line, and stepping back from the mark beats walking back over the
  // whole block.
  int mark_line_ = 1;
  size_t mark_offset_ = 0;
  ParseResult& result_;
  Runbook& runbook_;
  TextStore& store_;
  std::vector<Section> path_;  // from the blocks before the first heading to the current one
  int body_offset_ = 0;
  int line_offset_ = 0;  // of the piece being built
  std::vector<bool> name_is_explicit_;
  bool nesting_reported_ = false;

  // Label state while walking one section's content.
  Label pending_label_ = Label::kNone;
  std::optional<SourcePos> ended_rollback_label_;  // a **Rollback:** just ended by a paragraph
  SourcePos pending_label_pos_;
  Action* last_action_ = nullptr;
};

std::string_view Builder::Line(int line) {
  int wanted = line - body_offset_;
  if (wanted < 1) return {};
  if (wanted < cursor_line_ && wanted >= mark_line_) {
    cursor_line_ = mark_line_;
    cursor_offset_ = mark_offset_;
  } else if (wanted > cursor_line_) {
    mark_line_ = cursor_line_;
    mark_offset_ = cursor_offset_;
  }
  while (cursor_line_ > wanted) {
    size_t newline =
        cursor_offset_ >= 2 ? text_.rfind('\n', cursor_offset_ - 2) : std::string_view::npos;
    cursor_offset_ = newline == std::string_view::npos ? 0 : newline + 1;
    --cursor_line_;
  }
  while (cursor_line_ < wanted) {
    size_t newline = text_.find('\n', cursor_offset_);
    if (newline == std::string_view::npos) return {};
    cursor_offset_ = newline + 1;
    ++cursor_line_;
  }
  std::string_view rest = text_.substr(cursor_offset_);
  std::string_view text = rest.substr(0, rest.find('\n'));
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

// "Deploy (5 minutes) — blue/green" -> budget 5 minutes, title "Deploy — blue/green".
std::optional<Millis> SplitBudget(const std::string& heading, std::string& title) {
  size_t begin = std::string::npos;
  size_t end = std::string::npos;
  std::optional<Millis> budget = FindHeadingBudget(heading, &begin, &end);
  if (!budget) {
    title = heading;
    return budget;
  }
  std::string before = Trim(std::string_view(heading).substr(0, begin));
  std::string after = Trim(std::string_view(heading).substr(end));
  title = before.empty() ? after : after.empty() ? before : before + " " + after;
  return budget;
}

std::string FileStem(std::string_view path) {
  std::string_view name = path.substr(path.find_last_of('/') + 1);
  return std::string(name.substr(0, name.rfind('.')));
}

bool Builder::CheckFenceClosed(cmark_node* node) {
  int fence_length = 0;
  int offset = 0;
  char fence_char = 0;
  if (!cmark_node_get_fenced(node, &fence_length, &offset, &fence_char)) return true;
  int start = cmark_node_get_start_line(node) + line_offset_;
  int end = cmark_node_get_end_line(node) + line_offset_;
  Line(start);  // leaves the mark on the opening line, which ReadBlock reads next
  // Inside block quotes the closing fence line carries the quote markers (`> > ````).
  std::string_view closing = Line(end);
  while (!closing.empty() &&
         (closing.front() == '>' || closing.front() == ' ' || closing.front() == '\t'))
    closing.remove_prefix(1);
  closing = TrimView(closing);
  size_t run = 0;
  while (run < closing.size() && closing[run] == fence_char)
    ++run;
  if (end > start && static_cast<int>(run) >= fence_length && run == closing.size()) return true;
  Error(PosOf(node), "code fence is never closed; everything after it is treated as code",
        fmt::format("close the block with a line of {} '{}' characters", std::max(3, fence_length),
                    fence_char));
  return false;
}

Block Builder::ReadBlock(cmark_node* node, BlockInfo& info) {
  Block block;
  block.pos = PosOf(node);
  int fence_length = 0;
  int offset = 0;
  char fence_char = 0;
  bool fenced = cmark_node_get_fenced(node, &fence_length, &offset, &fence_char);
  block.first_line = block.pos.line + (fenced ? 1 : 0);
  const char* literal = cmark_node_get_literal(node);
  std::string_view code = literal ? literal : "";
  // In the file the code starts on its first line, unless it lost indentation or markers.
  const char* first = Line(block.first_line).data();
  size_t room = first ? text_.data() + text_.size() - first : 0;
  block.text = store_.Keep(code, {first, std::min(room, code.size())});
  const char* fence_info = cmark_node_get_fence_info(node);
  std::string_view text = fence_info ? fence_info : "";
  info.pos = block.pos;
  if (fenced) {
    // cmark resolves backslash escapes and entities in the info string, which would turn
    // capture="V:/\d+\.\d+/" into a different regex: take the info string as written.
    std::string_view line = Line(block.pos.line);
    size_t at = std::min(line.size(), static_cast<size_t>(std::max(0, block.pos.column - 1)));
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t'))
      ++at;
    size_t run = 0;
    while (at + run < line.size() && line[at + run] == fence_char)
      ++run;
    if (run >= static_cast<size_t>(fence_length) && run > 0) text = TrimView(line.substr(at + run));
    // Where the info string starts, so attribute problems point at their columns.
    size_t info_offset = line.find(TrimView(text).substr(0, 1), block.pos.column - 1);
    if (!TrimView(text).empty() && info_offset != std::string_view::npos)
      info.pos.column = static_cast<int>(info_offset) + 1;
  }
  info.text = text;
  info.parsed = ParseInfoString(text);
  block.language = info.parsed.language;
  block.interpreter = InterpreterFor(block.language, runbook_.front_matter.shell);
  return block;
}

// Parses and checks the block's attributes, reporting problems at their columns.
Attributes Builder::ReadAttributes(const BlockInfo& info) {
  if (!info.parsed.error.empty())
    Error({info.pos.line, info.pos.column + static_cast<int>(info.parsed.error_offset)},
          info.parsed.error);
  return ResolveAttributes(info.parsed.attributes, info.pos, result_.diagnostics,
                           [&](std::string_view value) { return store_.Keep(value, info.text); });
}

std::optional<Action> Builder::MakeAction(Block block, const BlockInfo& info) {
  Action action;
  action.attributes = ReadAttributes(info);
  action.block = std::move(block);
  const std::string& language = action.block.language;
  if (language == "console" || language == "terminal") {
    action.transcript = ParseTranscript(action.block, action.block.pos.column);
    if (action.transcript.empty()) return std::nullopt;  // console output, not commands
    action.block.interpreter = runbook_.front_matter.shell;
    return action;
  }
  if (!IsExecutableLanguage(language)) return std::nullopt;
  bool is_shell = language == "bash" || language == "sh" || language == "shell" ||
                  language == "zsh" || language == "ksh" || language == "dash";
  if (is_shell) action.transcript = ParseTranscript(action.block, action.block.pos.column);
  for (const auto& command : action.transcript)
    for (const auto& line : command.expected)
      if (line.kind == ExpectedLine::Kind::kRegex)
        if (auto problem = CheckRegex(line.pattern))
          Error({line.line, 1}, fmt::format("invalid (re) pattern: {} at offset {}",
                                            problem->message, problem->offset));
  return action;
}

void Builder::HandleParagraph(cmark_node* paragraph, Step& step) {
  std::string label_text;
  std::string rest;
  if (!ReadLabel(paragraph, label_text, rest)) {
    std::string text = PlainText(paragraph);
    std::string lower = ToLower(text);
    if (StartsWith(lower, "expected:") || StartsWith(lower, "expected output:") ||
        StartsWith(lower, "expected result:") || StartsWith(lower, "expected results:")) {
      Warn(PosOf(paragraph), "expectation written as prose is not checked",
           "put the expected lines in a fenced block right after an **Expected Output:** "
           "label, or capture a value and test it in a **Verification:** block");
    }
    if (pending_label_ == Label::kTroubleshooting) {
      if (!step.troubleshooting.empty()) step.troubleshooting += '\n';
      step.troubleshooting += text;
    } else if (pending_label_ == Label::kRollback) {
      step.rollback_notes.push_back(text);
    }
    // A label covers the blocks right after it, and a list under it ("**Rollback:**" then
    // bullet points). A paragraph of its own ends it: otherwise a later, unrelated block
    // would silently become a compensation or troubleshooting text.
    cmark_node* parent = cmark_node_parent(paragraph);
    if (!parent || cmark_node_get_type(parent) != CMARK_NODE_ITEM) {
      // "**Rollback:**", "If needed, run:", then a bash block: that block now runs in the
      // normal flow. Remember the label so the block can be flagged, since running an undo
      // by accident is worse than not running it.
      if (pending_label_ == Label::kRollback) ended_rollback_label_ = pending_label_pos_;
      pending_label_ = Label::kNone;
    }
    return;
  }
  Label label = ClassifyLabel(label_text);
  SourcePos pos = PosOf(paragraph);
  ended_rollback_label_.reset();
  pending_label_ = label;
  pending_label_pos_ = pos;
  if (rest.empty()) {
    if (label == Label::kSuccessProse)
      Warn(pos, fmt::format("'{}' is not checked", label_text),
           "label the block **Expected Output:** to check these lines against the step's "
           "output");
    return;
  }
  switch (label) {
    case Label::kRollback:
      step.rollback_notes.push_back(rest);
      break;
    case Label::kTroubleshooting:
      if (!step.troubleshooting.empty()) step.troubleshooting += '\n';
      step.troubleshooting += rest;
      break;
    case Label::kExpected:
    case Label::kRedFlags:
      Warn(pos, fmt::format("'{}: {}' is prose; nothing checks it", label_text, rest),
           "put the lines in a fenced block right after the label so they are matched "
           "against the output");
      pending_label_ = Label::kNone;
      break;
    case Label::kVerification:
      Warn(pos, fmt::format("'{}: {}' is prose; nothing checks it", label_text, rest),
           "put a command that proves it in a ```bash block right after **Verification:**");
      pending_label_ = Label::kNone;
      break;
    case Label::kSuccessProse:
      Warn(pos, fmt::format("'{}' is not checked", label_text),
           "write each indicator as an expected line in an **Expected Output:** block");
      pending_label_ = Label::kNone;
      break;
    default:
      pending_label_ = Label::kNone;
  }
}

void Builder::HandleCodeBlock(cmark_node* node, Step& step, ChecklistItem* item) {
  if (!CheckFenceClosed(node)) {
    pending_label_ = Label::kNone;
    return;
  }
  BlockInfo info;
  Block block = ReadBlock(node, info);
  Label label = pending_label_;
  pending_label_ = Label::kNone;
  std::optional<SourcePos> ended_rollback = ended_rollback_label_;
  ended_rollback_label_.reset();
  if (ended_rollback && label == Label::kNone && IsExecutableLanguage(block.language))
    Warn(block.pos,
         fmt::format("this block runs in the normal flow: the **Rollback:** label at line {} "
                     "was ended by the paragraph in between",
                     ended_rollback->line),
         "put the block right after the label, with the explanation in the label's own "
         "paragraph: **Rollback:** If needed, run:");
  auto needs_action = [&](const char* what) {
    if (last_action_) return true;
    Error(block.pos, fmt::format("{} block has no preceding action to check", what),
          "place it right after the ```bash block whose output it describes");
    return false;
  };
  switch (label) {
    case Label::kExpected:
    case Label::kRedFlags: {
      bool expected = label == Label::kExpected;
      if (!needs_action(expected ? "expectation" : "red-flag")) return;
      Expectation expectation{ParseExpectedBlock(block), block.pos};
      for (const auto& line : expectation.lines)
        if (line.kind == ExpectedLine::Kind::kRegex)
          if (auto problem = CheckRegex(line.pattern))
            Error({line.line, static_cast<int>(problem->offset) + 1},
                  fmt::format("invalid (re) pattern: {}", problem->message));
      (expected ? last_action_->expectations : last_action_->red_flags)
          .push_back(std::move(expectation));
      return;
    }
    case Label::kVerification:
      if (!IsExecutableLanguage(block.language)) {
        Warn(block.pos, "verification block has no shell language, so it does not run",
             "start the fence with ```bash");
        return;
      }
      if (last_action_) {
        // Checked like an action's, though only the block itself is kept.
        (void)ReadAttributes(info);
        last_action_->verifications.push_back(std::move(block));
        return;
      }
      break;  // a verification that stands alone is simply an action of the step
    case Label::kRollback:
      if (IsExecutableLanguage(block.language)) {
        (void)ReadAttributes(info);
        step.compensation.push_back(std::move(block));
      } else {
        step.rollback_notes.push_back(Trim(block.text));
      }
      return;
    case Label::kTroubleshooting:
      if (!step.troubleshooting.empty()) step.troubleshooting += '\n';
      step.troubleshooting += TrimRight(block.text);
      return;
    case Label::kSuccessProse:
      return;
    default:
      break;
  }
  std::optional<Action> action = MakeAction(std::move(block), info);
  if (!action) return;
  if (item) {
    item->actions.push_back(std::move(*action));
    last_action_ = &item->actions.back();
  } else {
    step.actions.push_back(std::move(*action));
    last_action_ = &step.actions.back();
  }
}

ChecklistItem Builder::ReadChecklistItem(cmark_node* item_node, Step& step, int depth) {
  ChecklistItem item;
  item.pos = PosOf(item_node);
  item.ticked_in_source = cmark_gfm_extensions_get_tasklist_item_checked(item_node);
  Action* saved_last_action = last_action_;
  last_action_ = nullptr;
  for (cmark_node* child = cmark_node_first_child(item_node); child;
       child = cmark_node_next(child)) {
    if (cmark_node_get_type(child) == CMARK_NODE_PARAGRAPH && item.text.empty()) {
      item.text = PlainText(child);
      continue;
    }
    WalkContent(child, step, &item, depth);
  }
  // Pointers into item.actions die when the item is moved; the label state must not
  // outlive the item.
  last_action_ = saved_last_action;
  pending_label_ = Label::kNone;
  return item;
}

bool Builder::WithinNestingLimit(cmark_node* node, int depth) {
  if (depth <= kMaxNesting) return true;
  // Once is enough: every deeper level would repeat the same finding.
  if (!nesting_reported_) {
    nesting_reported_ = true;
    result_.unusable = true;
    Error(PosOf(node), fmt::format("nesting deeper than {} levels", kMaxNesting),
          "block quotes and lists nest at most this deep in a runbook; flatten the document");
  }
  return false;
}

void Builder::WalkContent(cmark_node* node, Step& step, ChecklistItem* item, int depth) {
  switch (cmark_node_get_type(node)) {
    case CMARK_NODE_PARAGRAPH:
      HandleParagraph(node, step);
      return;
    case CMARK_NODE_CODE_BLOCK:
      HandleCodeBlock(node, step, item);
      return;
    case CMARK_NODE_HTML_BLOCK: {
      Directives ignored;
      Diagnostics scratch;
      if (ParseDirective(cmark_node_get_literal(node), PosOf(node), ignored, scratch))
        Warn(PosOf(node), "stagecraft directive ignored: it must come right after a heading");
      return;
    }
    case CMARK_NODE_LIST:
      if (!WithinNestingLimit(node, depth + 1)) return;
      for (cmark_node* child = cmark_node_first_child(node); child;
           child = cmark_node_next(child)) {
        if (IsTasklistItem(child)) {
          ChecklistItem checklist_item = ReadChecklistItem(child, step, depth + 1);
          if (item)
            item->children.push_back(std::move(checklist_item));
          else
            step.checklist.push_back(std::move(checklist_item));
        } else {
          WalkContent(child, step, item, depth + 1);
        }
      }
      return;
    case CMARK_NODE_ITEM:
      // The list around the item already counted this level.
      for (cmark_node* child = cmark_node_first_child(node); child; child = cmark_node_next(child))
        WalkContent(child, step, item, depth);
      return;
    case CMARK_NODE_BLOCK_QUOTE:
      if (!WithinNestingLimit(node, depth + 1)) return;
      for (cmark_node* child = cmark_node_first_child(node); child; child = cmark_node_next(child))
        WalkContent(child, step, item, depth + 1);
      return;
    default:
      if (TypeString(node) == "table") return;  // tables are read only in sign-off sections
      return;
  }
}

void Builder::ReadSignOffTable(cmark_node* table) {
  bool header = true;
  for (cmark_node* row = cmark_node_first_child(table); row; row = cmark_node_next(row)) {
    if (header) {
      header = false;
      continue;
    }
    cmark_node* first_cell = cmark_node_first_child(row);
    if (!first_cell) continue;
    std::string role = PlainText(first_cell);
    if (!role.empty()) runbook_.sign_off.push_back({role, PosOf(row)});
  }
}

// Opens the section of a heading, after closing those at its level or deeper; the
// directive right after it, and its parent, give the section its kind.
void Builder::OpenSection(FoundSection& found, bool titles_runbook) {
  while (path_.size() > 1 && path_.back().heading.level >= found.heading.level)
    path_.pop_back();
  const Section& parent = path_.back();
  Section section{std::move(found.heading)};
  section.titles_runbook = titles_runbook;
  size_t next = 0;
  for (; next < found.leading_html; ++next) {
    cmark_node* node = found.content[next];
    if (!ParseDirective(cmark_node_get_literal(node), PosOf(node), section.directives,
                        result_.diagnostics))
      break;
  }
  found.content.erase(found.content.begin(), found.content.begin() + next);
  // The document's title names the whole runbook ("# Rollback drill for orders"); its words
  // must not turn every section under it into documentation or rollback.
  SectionKind by_title = titles_runbook ? SectionKind::kNormal : section.heading.title_kind;
  SectionKind own = section.directives.kind.value_or(by_title);
  section.kind = own != SectionKind::kNormal ? own : parent.kind;
  section.skip = section.directives.skip || parent.skip;
  path_.push_back(std::move(section));
}

// The phase of the current section's steps: its parent heading, listed once it has one.
int Builder::PhaseOfParent() {
  if (path_.size() < 3) return -1;  // no parent heading
  Section& parent = path_[path_.size() - 2];
  if (parent.phase < 0) {
    runbook_.phases.push_back(
        {parent.heading.title_without_budget, parent.heading.pos, parent.heading.budget});
    parent.phase = static_cast<int>(runbook_.phases.size()) - 1;
  }
  return parent.phase;
}

void Builder::BuildSection(std::span<cmark_node* const> content) {
  const Section& section = path_.back();
  bool before_headings = path_.size() == 1;
  if (section.kind == SectionKind::kDocumentation) return;
  if (section.kind == SectionKind::kSignOff) {
    for (cmark_node* node : content)
      if (TypeString(node) == "table") ReadSignOffTable(node);
    return;
  }
  Step step;
  step.budget = section.heading.budget;
  if (before_headings) {
    std::string title = runbook_.title.empty() ? FileStem(runbook_.path) : runbook_.title;
    step.title = store_.Keep(title, {});
  } else {
    step.title = store_.Keep(section.heading.title_without_budget, Line(section.heading.pos.line));
  }
  step.pos = before_headings && !content.empty() ? PosOf(content.front()) : section.heading.pos;
  step.manual = section.directives.manual;
  step.skip = section.skip;
  step.timeout = section.directives.timeout;
  if (section.directives.name) step.name = *section.directives.name;
  switch (section.kind) {
    case SectionKind::kRollback:
      step.kind = StepKind::kRollback;
      break;
    case SectionKind::kSuccessCriteria:
      step.kind = StepKind::kSuccessCriteria;
      break;
    default:
      step.kind = section.directives.preflight ? StepKind::kPreflight : StepKind::kStep;
  }
  pending_label_ = Label::kNone;
  ended_rollback_label_.reset();
  last_action_ = nullptr;
  for (cmark_node* node : content)
    WalkContent(node, step, nullptr, 0);
  last_action_ = nullptr;
  if (step.actions.empty() && step.checklist.empty() && step.compensation.empty()) return;
  step.idempotent = section.directives.idempotent ||
                    (!step.actions.empty() &&
                     std::all_of(step.actions.begin(), step.actions.end(),
                                 [](const Action& a) { return a.attributes.idempotent; }));
  step.phase = PhaseOfParent();
  name_is_explicit_.push_back(!step.name.empty());
  runbook_.steps.push_back(std::move(step));
}

// "Step 2: Deploy", "1.3 Deploy", "Phase 2 - Deploy" -> "Deploy": the numbering is for
// readers; names stay stable when steps are renumbered.
std::string_view WithoutNumbering(std::string_view title) {
  std::string_view rest = TrimView(title);
  auto starts_with_word = [&](std::string_view word) {
    if (rest.size() <= word.size() || rest[word.size()] != ' ') return false;
    for (size_t i = 0; i < word.size(); ++i)
      if ((rest[i] | 0x20) != word[i]) return false;  // ASCII letters, any case
    return true;
  };
  for (std::string_view word : {"step", "phase", "stage", "part", "test"}) {
    if (starts_with_word(word)) {
      std::string_view after = TrimView(rest.substr(word.size()));
      if (!after.empty() && std::isdigit(static_cast<unsigned char>(after[0]))) rest = after;
      break;
    }
  }
  bool after_keyword = rest.data() != TrimView(title).data();
  size_t pos = 0;
  while (pos < rest.size() &&
         (std::isdigit(static_cast<unsigned char>(rest[pos])) || rest[pos] == '.'))
    ++pos;
  if (pos == 0) return title;
  // "30 Minutes Before" is a title, not a number: bare numbering ends in '.', ':' or ')',
  // or is dotted like a section number ("1.3 Deploy").
  bool dotted = rest.substr(0, pos).find('.') != std::string_view::npos;
  bool punctuated = dotted || rest[pos - 1] == '.' ||
                    (pos < rest.size() && (rest[pos] == ':' || rest[pos] == ')'));
  if (!after_keyword && !punctuated) return title;
  while (pos < rest.size() &&
         (rest[pos] == ':' || rest[pos] == ')' || rest[pos] == '-' || rest[pos] == ' '))
    ++pos;
  std::string_view stripped = rest.substr(pos);
  return stripped.empty() ? title : stripped;
}

// Names in use, each held by the first id (an index into the model) that used it: an
// open-addressing table of ids, a few bytes per name where a map node costs tens.
class NameTable {
 public:
  using NameOf = std::function<std::string_view(uint32_t id)>;
  // Room for `count` ids.
  NameTable(size_t count, NameOf name_of)
      : slots_(std::bit_ceil(2 * count + 1), kEmpty), name_of_(std::move(name_of)) {}
  std::optional<uint32_t> Find(std::string_view name) {
    uint32_t slot = Slot(name);
    return slot == kEmpty ? std::nullopt : std::optional(slot);
  }
  // Gives `id` its name unless an earlier id holds it; returns the id that holds it.
  uint32_t Add(uint32_t id) {
    uint32_t& slot = Slot(name_of_(id));
    if (slot == kEmpty) slot = id;
    return slot;
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  uint32_t& Slot(std::string_view name) {
    size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<std::string_view>{}(name)&mask;; i = (i + 1) & mask)
      if (slots_[i] == kEmpty || name_of_(slots_[i]) == name) return slots_[i];
  }

  std::vector<uint32_t> slots_;
  NameOf name_of_;
};

void Builder::AssignNames() {
  std::vector<Step>& steps = runbook_.steps;
  NameTable taken(steps.size(), [&](uint32_t i) -> std::string_view { return steps[i].name; });
  std::unordered_map<std::string, int> next_suffix;
  for (uint32_t i = 0; i < steps.size(); ++i) {
    if (!name_is_explicit_[i]) continue;
    if (uint32_t first = taken.Add(i); first != i)
      Error(steps[i].pos,
            fmt::format("duplicate step name '{}' (first used at line {})", steps[i].name,
                        steps[first].pos.line),
            "step names identify steps in logs, resume and reports; make each one unique");
  }
  for (uint32_t i = 0; i < steps.size(); ++i) {
    Step& step = steps[i];
    if (name_is_explicit_[i]) continue;
    std::string base = Slugify(WithoutNumbering(step.title));
    if (base.empty()) base = "step";
    std::string name = base;
    if (taken.Find(name)) {
      // Remember the last suffix per base so a thousand "Verify" steps stay linear.
      int& suffix = next_suffix[base];
      if (suffix == 0) suffix = 2;
      while (taken.Find(name))
        name = fmt::format("{}-{}", base, suffix++);
    }
    if (name != base)
      Warn(step.pos,
           fmt::format("duplicate step name '{}' (first used at line {}); this one is called '{}'",
                       base, steps[*taken.Find(base)].pos.line, name),
           "give the step its own name with <!-- stagecraft: name=... --> after the heading");
    step.name = std::move(name);
    taken.Add(i);
  }
}

// Action names must be unique too: logs and captures refer to them.
void Builder::CheckBlockNames() {
  std::vector<const Action*> named;
  for (const Step& step : runbook_.steps)
    for (const Action& action : step.actions)
      if (action.attributes.name) named.push_back(&action);
  NameTable names(named.size(),
                  [&](uint32_t i) -> std::string_view { return *named[i]->attributes.name; });
  for (uint32_t i = 0; i < named.size(); ++i)
    if (uint32_t first = names.Add(i); first != i)
      Error(named[i]->block.pos,
            fmt::format("duplicate block name '{}' (first used at line {})",
                        *named[i]->attributes.name, named[first]->block.pos.line));
}

void Builder::MarkPreflight() {
  // A checklist before the first step that does something is the preflight: it all runs
  // before anything changes.
  for (Step& step : runbook_.steps) {
    if (step.kind != StepKind::kStep) continue;
    if (!step.actions.empty()) break;
    step.kind = StepKind::kPreflight;
  }
}

void Builder::Begin(std::string_view text, int body_offset) {
  text_ = text;
  body_offset_ = body_offset;
  path_.emplace_back();  // the blocks before the first heading
}

void Builder::AddPiece(std::vector<FoundSection>& found, int line_offset) {
  line_offset_ = line_offset;
  // The first H1 titles the runbook, and the blocks before it (built first) take that title.
  FoundSection* title = nullptr;
  if (runbook_.title.empty()) {
    auto h1 = std::find_if(found.begin(), found.end(),
                           [](const FoundSection& f) { return f.heading.level == 1; });
    if (h1 != found.end()) {
      title = &*h1;
      runbook_.title = title->heading.title;
    }
  }
  for (FoundSection& section : found) {
    if (section.heading.level > 0) OpenSection(section, &section == title);
    BuildSection(section.content);
  }
}

void Builder::Finish() {
  AssignNames();
  CheckBlockNames();
  MarkPreflight();
}

using Document = std::unique_ptr<cmark_node, NodeDeleter>;

// A large document is parsed a piece of about this size at a time, and each piece's tree
// is freed once it is built: a cmark tree is many times larger than its text, so peak
// memory stays a small multiple of the runbook instead of growing with the whole tree.
constexpr size_t kPieceBytes = 1 << 20;

Document ParseMarkdown(std::string_view text) {
  cmark_gfm_core_extensions_ensure_registered();
  std::unique_ptr<cmark_parser, ParserDeleter> parser(cmark_parser_new(CMARK_OPT_SOURCEPOS));
  for (const char* name : {"tasklist", "table"})
    if (cmark_syntax_extension* extension = cmark_find_syntax_extension(name))
      cmark_parser_attach_syntax_extension(parser.get(), extension);
  cmark_parser_feed(parser.get(), text.data(), text.size());
  return Document(cmark_parser_finish(parser.get()));
}

// Splits the document's top-level blocks at its headings (see FoundSection).
std::vector<FoundSection> FindSections(cmark_node* document, int line_offset) {
  std::vector<FoundSection> found(1);  // the blocks before the first heading
  for (cmark_node* node = cmark_node_first_child(document); node; node = cmark_node_next(node)) {
    cmark_node_type type = cmark_node_get_type(node);
    if (type != CMARK_NODE_HEADING) {
      FoundSection& current = found.back();
      if (type == CMARK_NODE_HTML_BLOCK && current.leading_html == current.content.size())
        ++current.leading_html;
      current.content.push_back(node);
      continue;
    }
    Heading& heading = found.emplace_back().heading;
    heading.level = cmark_node_get_heading_level(node);
    heading.title = PlainText(node);
    heading.budget = SplitBudget(heading.title, heading.title_without_budget);
    heading.title_kind = ClassifyTitle(heading.title);
    heading.pos = {cmark_node_get_start_line(node) + line_offset,
                   cmark_node_get_start_column(node)};
  }
  if (found.front().content.empty()) found.erase(found.begin());
  return found;
}

// Link reference definitions (`[label]: url`) apply to the whole document, so a document
// that may hold one is parsed in one piece. Conservative: anything at the start of a line
// (after list and quote markers) that opens a bracket and does not close it as a task box.
bool MayDefineLinkReferences(std::string_view text) {
  for (size_t colon = text.find("]:"); colon != std::string_view::npos;
       colon = text.find("]:", colon + 2)) {
    size_t line_start = text.rfind('\n', colon);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    std::string_view before = text.substr(line_start, colon - line_start);
    size_t open = before.find('[');
    if (open == std::string_view::npos) return true;  // a label may span lines
    if (before.find_first_not_of(" \t>-*+0123456789.)") == open) return true;
  }
  return false;
}

// The start of the first line after `from` that opens an ATX heading, or npos.
size_t NextHeadingLine(std::string_view text, size_t from) {
  for (size_t at = text.find("\n#", from); at != std::string_view::npos;
       at = text.find("\n#", at + 1)) {
    size_t hashes = 0;
    while (at + 1 + hashes < text.size() && text[at + 1 + hashes] == '#')
      ++hashes;
    char after = at + 1 + hashes < text.size() ? text[at + 1 + hashes] : '\n';
    if (hashes <= 6 && (after == ' ' || after == '\t' || after == '\r' || after == '\n'))
      return at + 1;
  }
  return std::string_view::npos;
}

int CountLines(std::string_view text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Parses `body` piece by piece and builds each. A cut before a heading line is kept only
// when cmark, given the piece plus that line, ends the piece with a top-level heading on
// it: then nothing (a fence, an HTML block, a list, a quote) is open across the cut, and
// the pieces parse exactly as the whole body would. Otherwise the piece grows.
void ParseInPieces(std::string_view body, int line_offset, size_t piece_bytes, Builder& builder) {
  bool cuttable = body.size() > piece_bytes && !MayDefineLinkReferences(body);
  size_t start = 0;
  while (start < body.size()) {
    size_t cut = cuttable ? NextHeadingLine(body, start + piece_bytes) : std::string_view::npos;
    for (; cut != std::string_view::npos; cut = NextHeadingLine(body, start + 2 * (cut - start))) {
      size_t heading_end = body.find('\n', cut);
      heading_end = heading_end == std::string_view::npos ? body.size() : heading_end + 1;
      Document document = ParseMarkdown(body.substr(start, heading_end - start));
      int piece_lines = CountLines(body.substr(start, cut - start));
      cmark_node* last = cmark_node_last_child(document.get());
      if (!last || cmark_node_get_type(last) != CMARK_NODE_HEADING ||
          cmark_node_get_start_line(last) != piece_lines + 1)
        continue;
      cmark_node_free(last);  // the next piece's first line, parsed only to prove the cut
      std::vector<FoundSection> found = FindSections(document.get(), line_offset);
      builder.AddPiece(found, line_offset);
      line_offset += piece_lines;
      start = cut;
      break;
    }
    if (cut == std::string_view::npos) {
      Document document = ParseMarkdown(body.substr(start));
      std::vector<FoundSection> found = FindSections(document.get(), line_offset);
      builder.AddPiece(found, line_offset);
      return;
    }
  }
}

ParseResult Parse(std::string path, std::string_view source, std::shared_ptr<const void> owner,
                  size_t piece_bytes) {
  ParseResult result;
  Runbook& runbook = result.runbook;
  runbook.path = std::move(path);
  auto store = std::make_shared<TextStore>(source, std::move(owner));
  runbook.text_store = store;

  FrontMatterSplit split = SplitFrontMatter(source);
  ParseFrontMatter(split, runbook.front_matter, result.diagnostics);
  // The Markdown starts after the front matter; its line numbers continue the file's.
  bool has_front_matter = split.present && split.terminated;
  std::string_view body = has_front_matter ? source.substr(split.body_offset) : source;
  int body_line_offset = has_front_matter ? split.end_line : 0;

  // Title: front matter, else the first H1 (found while building), else the file name.
  runbook.title = runbook.front_matter.title;
  Builder builder(result, *store);
  builder.Begin(body, body_line_offset);
  ParseInPieces(body, body_line_offset, piece_bytes, builder);
  builder.Finish();
  if (runbook.title.empty()) runbook.title = FileStem(runbook.path);
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
  return result;
}

ParseResult ParseCopy(std::string path, std::string_view source, size_t piece_bytes) {
  auto copy = std::make_shared<const std::string>(source);
  return Parse(std::move(path), *copy, copy, piece_bytes);
}

}  // namespace

ParseResult ParseRunbook(std::string path, std::string_view source,
                         std::shared_ptr<const void> owner) {
  return Parse(std::move(path), source, std::move(owner), kPieceBytes);
}

ParseResult ParseRunbook(std::string path, std::string_view source) {
  return ParseCopy(std::move(path), source, kPieceBytes);
}

ParseResult ParseRunbook(std::string path, std::string_view source, size_t piece_bytes) {
  return ParseCopy(std::move(path), source, piece_bytes);
}

}  // namespace stagecraft::runbook
