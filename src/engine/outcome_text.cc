#include "engine/outcome_text.h"

#include <fmt/format.h>

#include "base/duration.h"
#include "base/text.h"
#include "exec/signals.h"

namespace stagecraft::engine {

std::string CodeSummary(std::string_view interpreter, std::string_view code) {
  int lines = 0;
  std::string first;
  for (std::string_view line : SplitLines(code)) {
    std::string_view trimmed = TrimView(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (first.empty()) first = std::string(trimmed);
    ++lines;
  }
  if (first.size() > 60) first = first.substr(0, 57) + "...";
  return lines <= 1 ? fmt::format("{}: {}", interpreter, first)
                    : fmt::format("{}: {} (+{} more line{})", interpreter, first, lines - 1,
                                  lines == 2 ? "" : "s");
}

std::string OutcomeMessage(const exec::ProcessOutcome& outcome) {
  using Kind = exec::ProcessOutcome::Kind;
  switch (outcome.kind) {
    case Kind::kExited:
      return fmt::format("exited with status {}", outcome.exit_code);
    case Kind::kSignaled:
      return fmt::format("killed by {}", exec::SignalName(outcome.signal));
    case Kind::kTimedOut:
      // The configured limit, not the elapsed time: stopping a step that ignores SIGTERM
      // adds the kill grace, and the operator would look for a timeout they never set.
      return fmt::format("timed out after {}{}", FormatDuration(outcome.timeout),
                         outcome.killed ? " (it ignored SIGTERM and was killed with SIGKILL)" : "");
    case Kind::kInterrupted:
      return fmt::format("interrupted by {}", exec::SignalName(outcome.interrupt_signal));
    case Kind::kSpawnFailed:
      return outcome.error;
  }
  return outcome.error;
}

}  // namespace stagecraft::engine
