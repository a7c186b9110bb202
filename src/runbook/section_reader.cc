#include "runbook/section_reader.h"

#include <cmark-gfm-core-extensions.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/text.h"
#include "runbook/section_kind.h"

namespace stagecraft::runbook {
namespace {

// Block quotes and lists are walked recursively, and nested checklists become nested model
// items that plan, lint and the engine recurse over too. A fixed bound keeps all of that
// far from the stack limit; real guides nest a handful of levels.
constexpr int kMaxNesting = 100;

// cmark-gfm's name for the node's type ("table" for the extension's tables).
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

}  // namespace

std::string PlainText(cmark_node* node) {
  std::string text;
  AppendPlainText(node, text);
  return Trim(text);
}

namespace {

// Troubleshooting text gathers one line per paragraph or block.
void AddLine(std::string& text, std::string_view line) {
  if (!text.empty()) text += '\n';
  text += line;
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

}  // namespace

namespace {

std::string_view FirstWord(std::string_view text) {
  size_t start = 0;
  while (start < text.size() && text[start] == ' ')
    ++start;
  size_t end = start;
  while (end < text.size() && text[end] >= 'a' && text[end] <= 'z')
    ++end;
  return text.substr(start, end - start);
}

// "Expected Duration", "Expected Resources to Create": what the reader should expect, not
// lines of output.
bool IsSummaryWord(std::string_view word) {
  for (std::string_view summary : {"duration", "time", "timeline", "runtime", "resources", "cost",
                                   "costs", "downtime", "impact", "effort", "completion"})
    if (word == summary) return true;
  return false;
}

// "Expected Log Output", "Expected logs": the lines are messages of a log, whose lines
// carry a prefix of their own (time, host, unit) before the message.
bool NamesLogOutput(std::string_view label_text) {
  std::string lower = ToLower(TrimView(label_text));
  for (size_t at = lower.find("log"); at != std::string::npos; at = lower.find("log", at + 1)) {
    bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(lower[at - 1]));
    size_t end = at + 3;
    if (end < lower.size() && lower[end] == 's') ++end;
    bool ends = end == lower.size() || !std::isalnum(static_cast<unsigned char>(lower[end]));
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

SectionReader::Label SectionReader::ClassifyLabel(std::string_view text) {
  std::string lower = ToLower(TrimView(text));
  auto has = [&](std::string_view word) { return lower.find(word) != std::string::npos; };
  if (StartsWith(lower, "expected"))
    return IsSummaryWord(FirstWord(std::string_view(lower).substr(8))) ? Label::kSummary
                                                                       : Label::kExpected;
  if (has("red flag") || has("must not appear")) return Label::kRedFlags;
  if (has("rollback") || has("roll back")) return Label::kRollback;
  if (has("troubleshoot") || (StartsWith(lower, "if ") && has("fail")))
    return Label::kTroubleshooting;
  if (StartsWith(lower, "verif") || StartsWith(lower, "validat")) return Label::kVerification;
  if (has("success indicator") || has("success criteria")) return Label::kSuccessProse;
  return Label::kOther;
}

void SectionReader::Read(std::span<cmark_node* const> content, Step& step) {
  pending_label_ = Label::kNone;
  ended_rollback_label_.reset();
  last_action_ = nullptr;
  for (cmark_node* node : content)
    WalkContent(node, step, nullptr, 0);
  last_action_ = nullptr;
}

void SectionReader::ReadSignOff(std::span<cmark_node* const> content) {
  for (cmark_node* node : content)
    if (TypeString(node) == "table") ReadSignOffTable(node);
}

std::string_view SectionReader::Line(int line) {
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

bool SectionReader::CheckFenceClosed(cmark_node* node) {
  int fence_length = 0;
  int offset = 0;
  char fence_char = 0;
  if (!cmark_node_get_fenced(node, &fence_length, &offset, &fence_char)) return true;
  int start = cmark_node_get_start_line(node) + line_offset_;
  int end = cmark_node_get_end_line(node) + line_offset_;
  Line(start);  // leaves the mark on the opening line, which ReadBlock reads next
  // Inside block quotes the closing fence line carries the quote markers (`> > ````).
  std::string_view closing = Line(end);
  closing = TrimView(closing.substr(std::min(closing.find_first_not_of("> \t"), closing.size())));
  size_t run = std::min(closing.find_first_not_of(fence_char), closing.size());
  if (end > start && static_cast<int>(run) >= fence_length && run == closing.size()) return true;
  Error(PosOf(node), "code fence is never closed; everything after it is treated as code",
        fmt::format("close the block with a line of {} '{}' characters", std::max(3, fence_length),
                    fence_char));
  return false;
}

Block SectionReader::ReadBlock(cmark_node* node, BlockInfo& info) {
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
    at = std::min(line.find_first_not_of(" \t", at), line.size());
    size_t run = std::min(line.find_first_not_of(fence_char, at), line.size()) - at;
    if (run >= static_cast<size_t>(fence_length) && run > 0) text = TrimView(line.substr(at + run));
    // Where the info string starts, so attribute problems point at their columns.
    size_t info_offset = line.find(TrimView(text).substr(0, 1), block.pos.column - 1);
    if (!TrimView(text).empty() && info_offset != std::string_view::npos)
      info.pos.column = static_cast<int>(info_offset) + 1;
  }
  info.text = text;
  info.parsed = ParseInfoString(text);
  block.language = store_.Keep(info.parsed.language, text);
  block.interpreter = InterpreterFor(block.language, shell_);
  return block;
}

// Parses and checks the block's attributes, reporting problems at their columns.
Attributes SectionReader::ReadAttributes(const BlockInfo& info) {
  if (!info.parsed.error.empty())
    Error({info.pos.line, info.pos.column + static_cast<int>(info.parsed.error_offset)},
          info.parsed.error);
  return ResolveAttributes(info.parsed.attributes, info.pos, result_.diagnostics,
                           [&](std::string_view value) { return store_.Keep(value, info.text); });
}

void SectionReader::KeepBlockAttributes(Block& block, const BlockInfo& info) {
  Attributes attributes = ReadAttributes(info);
  KeepGate(info);
  if (auto interpreter = InterpreterAttribute(info.parsed.attributes))
    block.interpreter = store_.Keep(*interpreter, info.text);
  if (!info.parsed.attributes.empty())
    result_.runbook.block_attributes[block.pos.line] = attributes;
}

void SectionReader::KeepGate(const BlockInfo& info) {
  for (const RawAttribute& attribute : info.parsed.attributes) {
    if ((attribute.key != "role" && attribute.key != "prompt") || attribute.value.empty()) continue;
    GateSpec& gate = result_.runbook.block_gates[info.pos.line];
    if (attribute.key == "prompt") {
      gate.prompt = attribute.value;
      continue;
    }
    gate.role = attribute.value;
    gate.role_pos = {info.pos.line, info.pos.column + static_cast<int>(attribute.offset)};
  }
}

std::optional<Action> SectionReader::MakeAction(Block block, const BlockInfo& info) {
  Action action;
  action.attributes = ReadAttributes(info);
  KeepGate(info);
  action.block = std::move(block);
  std::string_view language = action.block.language;
  if (language == "console" || language == "terminal") {
    action.transcript = ParseTranscript(action.block, action.block.pos.column);
    if (action.transcript.empty()) return std::nullopt;  // console output, not commands
    action.block.interpreter = shell_;
    return action;
  }
  if (!IsExecutableLanguage(language)) return std::nullopt;
  if (auto interpreter = InterpreterAttribute(info.parsed.attributes))
    action.block.interpreter = store_.Keep(*interpreter, info.text);
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

void SectionReader::HandleParagraph(cmark_node* paragraph, Step& step) {
  std::string label_text;
  std::string rest;
  if (!ReadLabel(paragraph, label_text, rest)) {
    std::string text = PlainText(paragraph);
    std::string lower = ToLower(text);
    if (StartsWith(lower, "expected:") || StartsWith(lower, "expected output:") ||
        StartsWith(lower, "expected result:") || StartsWith(lower, "expected results:"))
      Warn(PosOf(paragraph), "expectation written as prose is not checked",
           "put the expected lines in a fenced block right after an **Expected Output:** "
           "label, or capture a value and test it in a **Verification:** block");
    if (pending_label_ == Label::kTroubleshooting) AddLine(step.troubleshooting, text);
    if (pending_label_ == Label::kRollback) step.rollback_notes.push_back(text);
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
  pending_label_names_log_ = label == Label::kExpected && NamesLogOutput(label_text);
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
      AddLine(step.troubleshooting, rest);
      break;
    case Label::kExpected:
    case Label::kRedFlags:
    case Label::kVerification:
      Warn(pos, fmt::format("'{}: {}' is prose; nothing checks it", label_text, rest),
           label == Label::kVerification
               ? "put a command that proves it in a ```bash block right after **Verification:**"
               : "put the lines in a fenced block right after the label so they are matched "
                 "against the output");
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

void SectionReader::HandleCodeBlock(cmark_node* node, Step& step, ChecklistItem* item) {
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
      if (expected && pending_label_names_log_)
        for (auto& line : expectation.lines)
          line.log_message = true;
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
        KeepBlockAttributes(block, info);
        last_action_->verifications.push_back(std::move(block));
        return;
      }
      break;  // a verification that stands alone is simply an action of the step
    case Label::kRollback:
      if (IsExecutableLanguage(block.language)) {
        KeepBlockAttributes(block, info);
        step.compensation.push_back(std::move(block));
      } else {
        step.rollback_notes.push_back(Trim(block.text));
      }
      return;
    case Label::kTroubleshooting:
      AddLine(step.troubleshooting, TrimRight(block.text));
      return;
    case Label::kSuccessProse:
    case Label::kSummary:
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

ChecklistItem SectionReader::ReadChecklistItem(cmark_node* item_node, Step& step, int depth) {
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

bool SectionReader::WithinNestingLimit(cmark_node* node, int depth) {
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

void SectionReader::WalkContent(cmark_node* node, Step& step, ChecklistItem* item, int depth) {
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

void SectionReader::ReadSignOffTable(cmark_node* table) {
  bool header = true;
  for (cmark_node* row = cmark_node_first_child(table); row; row = cmark_node_next(row)) {
    if (header) {
      header = false;
      continue;
    }
    cmark_node* first_cell = cmark_node_first_child(row);
    if (!first_cell) continue;
    std::string role = PlainText(first_cell);
    if (!role.empty()) result_.runbook.sign_off.push_back({role, PosOf(row)});
  }
}

}  // namespace stagecraft::runbook
