#include "cli/questions.h"

#include <fmt/format.h>

#include "base/text.h"
#include "engine/prompter.h"

namespace stagecraft::cli {

// Asks whether an interrupted step that is not idempotent finished: true (it did), false
// (run it again), or nullopt after printing why nothing runs.
std::optional<bool> AskWhetherFinished(const std::string& step, const std::string& run_id) {
  engine::TerminalPrompter prompter;
  if (!prompter.available()) {
    fmt::print(stderr,
               "stagecraft: error: step {} was running when run {} stopped and is not "
               "marked idempotent: it may have done part of its work. Check, then pass "
               "--rerun-interrupted (run it again) or --skip-interrupted (it finished)\n",
               step, run_id);
    return std::nullopt;
  }
  auto answer = prompter.Ask(fmt::format(
      "  ? Step {} was running when the run stopped. Run it again? (n: it finished) [y/n] ", step));
  std::string lower = answer ? ToLower(Trim(*answer)) : "";
  if (lower == "y" || lower == "yes") return false;
  if (lower == "n" || lower == "no") return true;
  fmt::print(stderr, "stagecraft: error: no decision for step {}; nothing ran\n", step);
  return std::nullopt;
}

// Undoing a release that went well is rarely meant, so it takes a yes given now: a --yes
// journaled with the run approved its gates, not its undoing. False after printing why not.
bool MayUndoSucceeded(const journal::RunRecord& run, bool yes) {
  if (run.status != RunStatus::kSucceeded) return true;
  if (yes) {
    fmt::print("run {} succeeded; rolling it back as --yes says\n", run.id);
    return true;
  }
  engine::TerminalPrompter prompter;
  if (!prompter.available()) {
    fmt::print(stderr,
               "stagecraft: error: run {} succeeded; undoing a good release needs --yes (or "
               "answer at a terminal)\n",
               run.id);
    return false;
  }
  auto answer = prompter.Ask(fmt::format("  ? Run {} of {} ({}) succeeded. Undo it? [y/N] ", run.id,
                                         TerminalSafe(run.options.value("title", std::string())),
                                         TerminalSafe(run.runbook_path)));
  std::string lower = answer ? ToLower(Trim(*answer)) : "";
  if (lower == "y" || lower == "yes") return true;
  fmt::print(stderr, "stagecraft: error: run {} was not rolled back; nothing ran\n", run.id);
  return false;
}

}  // namespace stagecraft::cli
