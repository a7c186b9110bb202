#pragma once

// The shell code lint reads: every block of a runbook that a run executes — actions,
// verifications, checks, **Rollback:** blocks and the rollback procedure — each with what
// decides how a hazard in it counts (does it run in the normal flow, behind a gate, on a
// terminal) and the map from its text back to the runbook file, so a finding points at
// the command itself. Views into the Runbook, which must outlive them.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

struct LintScript {
  const Step* step = nullptr;
  const Block* block = nullptr;              // the fenced block the text comes from
  std::string_view text;                     // the block's code, or one command of a transcript
  bool rollback = false;                     // runs only when a run rolls back
  bool gated = false;                        // the operator approves it first (`confirm`)
  bool interactive = false;                  // runs on the operator's terminal (`interactive`)
  bool streams = false;                      // has a `stream=` window
  PromptEnv prompt_env = PromptEnv::kNever;  // which exports are inputs (inputs.h)
  std::optional<std::string> cwd;            // the block's `cwd` attribute
  std::optional<std::string> capture;        // the variable its `capture` attribute sets
  // Where each line of `text` starts, in the text and in the file.
  std::vector<size_t> line_offsets;
  std::vector<SourcePos> line_positions;

  SourcePos PositionOf(size_t offset) const;
  // The line of `text` holding `offset`, without its newline.
  std::string_view LineAt(size_t offset) const;
};

// Visits every shell script that a run may execute, in document order. Blocks that never
// run (skipped, in a manual step) and blocks in other languages (python...) are left out.
void ForEachLintScript(const Runbook& runbook, const SourceLines& source,
                       const std::function<void(const LintScript&)>& visit);

}  // namespace stagecraft::runbook
