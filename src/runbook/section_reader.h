#pragma once

// Reads what a heading section holds into a Step: its code blocks with their attributes and
// interpreter, what bold labels (**Expected Output:**, **Rollback:**...) bind to them, and
// its checklists; and the roles of a sign-off table. The parser (parser.cc) cuts the
// document into sections and hands each one's top-level blocks here. Positions are the
// file's; problems go to the parse result's diagnostics. Not thread-safe.

#include <cmark-gfm.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runbook/attributes.h"
#include "runbook/parser.h"
#include "runbook/text_store.h"

namespace stagecraft::runbook {

// The text of `node` and everything under it as a reader sees it: markup dropped, line
// breaks as spaces, trimmed.
std::string PlainText(cmark_node* node);

class SectionReader {
 public:
  SectionReader(ParseResult& result, TextStore& store) : result_(result), store_(store) {}

  // The Markdown body is `text`; its line 1 is line `body_offset + 1` of the file.
  void Begin(std::string_view text, int body_offset) {
    text_ = text;
    body_offset_ = body_offset;
    shell_ = store_.Keep(result_.runbook.front_matter.shell, {});
  }
  // The nodes read next come from a piece of the body whose line 1 is line
  // `line_offset + 1` of the file.
  void SetPiece(int line_offset) { line_offset_ = line_offset; }

  // Reads a section's top-level blocks into `step`.
  void Read(std::span<cmark_node* const> content, Step& step);
  // Adds the roles in the first column of a sign-off section's tables to the runbook.
  void ReadSignOff(std::span<cmark_node* const> content);

  SourcePos PosOf(cmark_node* node) const {
    return {cmark_node_get_start_line(node) + line_offset_, cmark_node_get_start_column(node)};
  }
  // Line `line` of the file, which must lie in the body.
  std::string_view Line(int line);
  // Problems go to the parse result's diagnostics.
  void Warn(SourcePos pos, std::string message, std::string hint = {}) {
    result_.diagnostics.push_back({Severity::kWarning, pos, std::move(message), std::move(hint)});
  }
  void Error(SourcePos pos, std::string message, std::string hint = {}) {
    result_.diagnostics.push_back({Severity::kError, pos, std::move(message), std::move(hint)});
  }

 private:
  // What a bold label (`**Expected Output:**`) binds the following block to.
  enum class Label {
    kNone,
    kExpected,
    kVerification,
    kRollback,
    kRedFlags,
    kTroubleshooting,
    kSuccessProse,  // **Success Indicators:** and the like: readable, but checks nothing
    kSummary,       // **Expected Duration:** and the like: for the reader; its block never runs
    kOther,
  };
  // A fenced block's info string, parsed, and where it starts in the file.
  struct BlockInfo {
    std::string_view text;  // as written, unless cmark's copy had to do
    InfoString parsed;
    SourcePos pos;
  };

  static Label ClassifyLabel(std::string_view text);
  void WalkContent(cmark_node* node, Step& step, ChecklistItem* item, int depth);
  void HandleParagraph(cmark_node* paragraph, Step& step);
  void HandleCodeBlock(cmark_node* node, Step& step, ChecklistItem* item);
  ChecklistItem ReadChecklistItem(cmark_node* item_node, Step& step, int depth);
  bool WithinNestingLimit(cmark_node* node, int depth);
  std::optional<Action> MakeAction(Block block, const BlockInfo& info);
  Attributes ReadAttributes(const BlockInfo& info);
  // For a block kept as a Block (rollback, verification): its attributes go to
  // Runbook::block_attributes, its interpreter= to the block.
  void KeepBlockAttributes(Block& block, const BlockInfo& info);
  // Keeps the block's `role=` and `prompt=` in Runbook::block_gates.
  void KeepGate(const BlockInfo& info);
  // Also parses the info string, once: `info` receives it.
  Block ReadBlock(cmark_node* node, BlockInfo& info);
  bool CheckFenceClosed(cmark_node* node);
  void ReadSignOffTable(cmark_node* table);

  ParseResult& result_;
  TextStore& store_;
  // The body and a cursor into it: lookups mostly move forward, a few lines at a time, so
  // walking from the last one beats indexing every line of the document.
  std::string_view text_;
  int body_offset_ = 0;
  std::string_view shell_;  // the front matter's, kept once for every block's interpreter
  int line_offset_ = 0;     // of the piece being read
  int cursor_line_ = 1;     // body-relative
  size_t cursor_offset_ = 0;
  // Where the cursor was before it last moved forward: a fence's closing line is read
  // before its opening line, and stepping back from the mark beats walking back over the
  // whole block.
  int mark_line_ = 1;
  size_t mark_offset_ = 0;
  bool nesting_reported_ = false;

  // Label state while walking one section's content.
  Label pending_label_ = Label::kNone;
  std::optional<SourcePos> ended_rollback_label_;  // a **Rollback:** just ended by a paragraph
  SourcePos pending_label_pos_;
  bool pending_label_names_log_ = false;  // `**Expected Log Output:**`, `**Expected logs:**`
  Action* last_action_ = nullptr;
};

}  // namespace stagecraft::runbook
