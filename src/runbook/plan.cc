#include "runbook/plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/json_writer.h"
#include "base/text.h"
#include "runbook/walk.h"

namespace stagecraft::runbook {
namespace {

// Where rendered bytes go: a string, or a file descriptor through a fixed buffer. A
// 10,000-step runbook makes megabytes of plan (tens of them as JSON); building that whole
// before printing it touched more memory than rendering it costs, and every large
// allocation after parsing makes malloc first sort the many small blocks the parser freed.
// Writing to the descriptor, not a FILE, keeps stdio from allocating a buffer of its own.
class Output {
 public:
  explicit Output(std::string& text) : text_(&text) {}
  explicit Output(int fd) : fd_(fd) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // From now on, what is appended is shown as TerminalSafe text: a text plan carries
  // titles, names and values from the runbook to a terminal.
  void MakeTerminalSafe() { terminal_safe_ = true; }

  void Append(std::string_view bytes) {
    if (terminal_safe_ && NeedsTerminalEscaping(bytes)) [[unlikely]] {
      AppendEscaped(bytes);
      return;
    }
    // Most pieces are a few bytes (punctuation, indentation, keys): keep their path short.
    if (!text_ && bytes.size() <= kSize - used_) {
      std::memcpy(buffer_ + used_, bytes.data(), bytes.size());
      used_ += bytes.size();
      return;
    }
    AppendSlowly(bytes);
  }
  void Append(char c) { Append(std::string_view(&c, 1)); }
  void Spaces(size_t count) {
    static constexpr std::string_view kSpaces = "                                ";
    for (; count > kSpaces.size(); count -= kSpaces.size())
      Append(kSpaces);
    Append(kSpaces.substr(0, count));
  }
  void Number(int64_t value) {
    char digits[24];
    Append(std::string_view(digits, std::to_chars(digits, digits + sizeof digits, value).ptr));
  }
  template <typename... T>
  void Format(fmt::format_string<T...> format, T&&... args) {
    fmt::memory_buffer formatted;
    fmt::format_to(std::back_inserter(formatted), format, std::forward<T>(args)...);
    Append(std::string_view(formatted.data(), formatted.size()));
  }

  // A row of the text plan is padded to a column once complete, so it is kept whole in the
  // buffer until then.
  void BeginRow() {
    row_ = Stored().size();
    row_written_ = false;
  }
  // Pads the row to `width` columns as fmt's "{:<N}" would. fmt counts display width (a wide
  // character such as most emoji takes two columns), so rows that are not plain ASCII ask
  // fmt; nearly all rows are ASCII, whose width is their size. A row that outgrew the buffer
  // (64 KiB: 16,384 characters at least) is wider than any column it is padded to.
  void PadRow(size_t width) {
    if (row_written_) return;
    std::string_view row = Stored().substr(row_);
    unsigned char high = 0;
    for (char c : row)
      high |= static_cast<unsigned char>(c);
    size_t padded =
        high < 0x80 ? std::max(width, row.size()) : fmt::formatted_size("{:<{}}", row, width);
    Spaces(padded - row.size());
  }
  void EndRow() { row_ = kNoRow; }

  // The first write error, if any; later output is dropped after one.
  Status Finish() {
    if (!text_) {
      Write(Stored());
      used_ = 0;
    }
    if (error_) return Status::Error(std::strerror(error_));
    return Status::Ok();
  }

 private:
  static constexpr size_t kSize = 64 * 1024;
  static constexpr size_t kNoRow = std::string_view::npos;

  std::string_view Stored() const {
    return text_ ? std::string_view(*text_) : std::string_view(buffer_, used_);
  }

  [[gnu::noinline]] void AppendEscaped(std::string_view bytes) {
    std::string safe = TerminalSafe(bytes);
    terminal_safe_ = false;
    Append(safe);
    terminal_safe_ = true;
  }

  [[gnu::noinline]] void AppendSlowly(std::string_view bytes) {
    if (text_) {
      text_->append(bytes);
      return;
    }
    MakeRoom(bytes.size());
    if (bytes.size() > kSize - used_) {
      Write(bytes);  // larger than the whole buffer, which MakeRoom emptied
      return;
    }
    std::memcpy(buffer_ + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }

  // Writes out what precedes an unfinished row, or everything when `needed` bytes would
  // not fit even beside the row alone.
  void MakeRoom(size_t needed) {
    size_t out = row_ == kNoRow ? used_ : row_;
    if (used_ - out + needed > kSize) {
      out = used_;
      if (row_ != kNoRow) row_written_ = true;
    }
    Write(std::string_view(buffer_, out));
    std::memmove(buffer_, buffer_ + out, used_ - out);
    used_ -= out;
    if (row_ != kNoRow) row_ = row_written_ ? 0 : row_ - out;
  }

  void Write(std::string_view bytes) {
    while (!bytes.empty() && !error_) {
      ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written < 0) {
        if (errno != EINTR) error_ = errno;
        continue;
      }
      bytes.remove_prefix(static_cast<size_t>(written));
    }
  }

  std::string* text_ = nullptr;
  int fd_ = -1;
  int error_ = 0;
  size_t row_ = kNoRow;
  bool row_written_ = false;
  bool terminal_safe_ = false;
  size_t used_ = 0;
  char buffer_[kSize];
};

// Lines that run: neither blank nor comments. Walks the text in place; this runs for every
// block of the plan.
int CountLines(std::string_view text) {
  int lines = 0;
  LineReader reader(text);
  for (std::string_view line; reader.Next(line);) {
    std::string_view trimmed = TrimView(line);
    if (!trimmed.empty() && trimmed.front() != '#') ++lines;
  }
  return lines;
}

void CountItem(const ChecklistItem& item, PlanTotals& totals) {
  if (item.is_check()) ++totals.checks;
  if (item.is_manual()) ++totals.manual_confirmations;
  for (const auto& child : item.children)
    CountItem(child, totals);
}

// Rows are written straight into the output, not formatted into strings first: the plan of
// a large runbook has hundreds of thousands of them.
class TextRenderer {
 public:
  TextRenderer(Output& out, bool show_code) : out_(out), show_code_(show_code) {}

  void ActionRows(int indent, const Action& action) {
    BeginRow(indent, "run");
    ActionSummary(action);
    EndRow(action.block.pos.line);
    if (show_code_) CodeLines(indent + 4, action.block.text);
    if (action.attributes.confirm) Row(indent, "gate", "asks for approval before running", 0);
    for (const auto& expectation : action.expectations) {
      BeginRow(indent, "expect");
      out_.Number(static_cast<int64_t>(expectation.lines.size()));
      out_.Append(expectation.lines.size() == 1 ? " line in order" : " lines in order");
      EndRow(expectation.pos.line);
    }
    for (const auto& red_flag : action.red_flags) {
      BeginRow(indent, "forbid");
      out_.Number(static_cast<int64_t>(red_flag.lines.size()));
      out_.Append(red_flag.lines.size() == 1 ? " line must not appear" : " lines must not appear");
      EndRow(red_flag.pos.line);
    }
    for (const auto& verification : action.verifications) {
      BeginRow(indent, "verify");
      LinesSummary(verification.language, verification.text);
      EndRow(verification.pos.line);
    }
  }

  void ItemRows(int indent, const ChecklistItem& item) {
    const char* tag = item.is_check() ? "check" : item.is_group() ? "group" : "manual";
    BeginRow(indent, tag);
    out_.Append(item.text.empty() ? "(untitled item)" : item.text);
    if (item.ticked_in_source) out_.Append(" (ticked in source; verified anyway)");
    EndRow(item.pos.line);
    for (const auto& action : item.actions)
      ActionRows(indent + 2, action);
    for (const auto& child : item.children)
      ItemRows(indent + 2, child);
  }

  // `number` 0 labels the step "-" (steps outside the numbered flow).
  void StepRows(int indent, const Step& step, int number) {
    out_.BeginRow();
    out_.Spaces(static_cast<size_t>(indent));
    if (number > 0) {
      out_.Number(number);
      out_.Append('.');
    } else {
      out_.Append('-');
    }
    out_.Append(' ');
    out_.Append(step.name);
    out_.Append("  ");
    out_.Append(step.title);
    bool any_note = false;
    auto note = [&](std::string_view text) {
      out_.Append(any_note ? ", " : "  [");
      out_.Append(text);
      any_note = true;
    };
    if (step.budget) {
      note("budget ");
      out_.Append(FormatDuration(*step.budget));
    }
    if (step.timeout) {
      note("timeout ");
      out_.Append(FormatDuration(*step.timeout));
    }
    if (step.manual) note("manual");
    if (step.skip) note("skipped");
    if (any_note) out_.Append(']');
    EndHeading(step.pos.line);
    for (const auto& action : step.actions)
      ActionRows(indent + 2, action);
    for (const auto& item : step.checklist)
      ItemRows(indent + 2, item);
    if (step.kind == StepKind::kStep) {
      for (const auto& block : step.compensation) {
        BeginRow(indent + 2, "undo");
        LinesSummary(block.language, block.text);
        EndRow(block.pos.line);
      }
      for (const auto& rollback_note : step.rollback_notes) {
        BeginRow(indent + 2, "undo");
        out_.Append("note: ");
        out_.Append(rollback_note);
        EndRow(0);
      }
      if (!step.has_rollback()) Row(indent + 2, "undo", "none", 0);
    }
  }

  void PhaseRow(const Phase& phase) {
    out_.BeginRow();
    out_.Append("  Phase: ");
    out_.Append(phase.title);
    if (phase.budget) {
      out_.Append("  [budget ");
      out_.Append(FormatDuration(*phase.budget));
      out_.Append(']');
    }
    EndHeading(phase.pos.line);
  }

 private:
  static constexpr size_t kLineColumn = 66;

  // A row is the indentation, a tag padded to 7 columns, the text and, when known, the
  // source line in a column of its own.
  void BeginRow(int indent, std::string_view tag) {
    out_.BeginRow();
    out_.Spaces(static_cast<size_t>(indent));
    out_.Append(tag);
    out_.Spaces(tag.size() < 7 ? 8 - tag.size() : 1);
  }
  void EndRow(int line) {
    if (line > 0) {
      EndHeading(line);
      return;
    }
    out_.Append('\n');
    out_.EndRow();
  }
  // Step and phase headings name their line even when it is unknown.
  void EndHeading(int line) {
    out_.PadRow(kLineColumn);
    out_.Append(" line ");
    out_.Number(line);
    out_.Append('\n');
    out_.EndRow();
  }
  void Row(int indent, std::string_view tag, std::string_view text, int line) {
    BeginRow(indent, tag);
    out_.Append(text);
    EndRow(line);
  }

  void LinesSummary(std::string_view language, std::string_view text) {
    int lines = CountLines(text);
    out_.Append(language);
    out_.Append(", ");
    out_.Number(lines);
    out_.Append(lines == 1 ? " line" : " lines");
  }

  void ActionSummary(const Action& action) {
    if (action.is_transcript()) {
      int expected = 0;
      for (const auto& command : action.transcript)
        expected += static_cast<int>(command.expected.size());
      out_.Append(action.block.interpreter);
      out_.Append(" transcript, ");
      out_.Number(static_cast<int64_t>(action.transcript.size()));
      out_.Append(action.transcript.size() == 1 ? " command, " : " commands, ");
      out_.Number(expected);
      out_.Append(expected == 1 ? " expected line" : " expected lines");
    } else {
      LinesSummary(action.block.interpreter, action.block.text);
    }
    AttributeSummary(action.attributes);
  }

  // " {name=x timeout=5m confirm}", or nothing without attributes.
  void AttributeSummary(const Attributes& a) {
    bool any_part = false;
    auto part = [&](std::string_view text) {
      out_.Append(any_part ? " " : " {");
      out_.Append(text);
      any_part = true;
    };
    if (a.name) {
      part("name=");
      out_.Append(*a.name);
    }
    if (a.timeout) {
      part("timeout=");
      out_.Append(FormatDuration(*a.timeout));
    }
    if (a.retries) {
      part("retries=");
      out_.Number(a.retries);
    }
    if (a.delay.count()) {
      part("delay=");
      out_.Append(FormatDuration(a.delay));
    }
    if (a.until) part("until");
    if (a.capture) {
      part("capture=");
      out_.Append(a.capture->variable);
      if (a.capture->regex) {
        out_.Append(":/");
        out_.Append(*a.capture->regex);
        out_.Append('/');
      }
    }
    if (a.confirm) part("confirm");
    if (a.idempotent) part("idempotent");
    if (a.ignore) part("ignore");
    if (a.skip) part("skip");
    if (a.cwd) {
      part("cwd=");
      out_.Append(*a.cwd);
    }
    if (a.interactive) part("interactive");
    if (a.background) part("background");
    if (any_part) out_.Append('}');
  }

  void CodeLines(int indent, std::string_view text) {
    LineReader reader(text);
    for (std::string_view line; reader.Next(line);) {
      out_.Spaces(static_cast<size_t>(indent));
      out_.Append("| ");
      out_.Append(TrimRight(line));
      out_.Append('\n');
    }
  }

  Output& out_;
  bool show_code_;
};

// The rows of one section's steps, all of one kind.
void StepSectionRows(const Runbook& runbook, const std::vector<const Step*>& steps, Output& out,
                     bool show_code) {
  TextRenderer renderer(out, show_code);
  int phase = -2;  // none yet
  int number = 0;
  for (const Step* step : steps) {
    if (step->kind != StepKind::kStep) {
      renderer.StepRows(2, *step, 0);
      continue;
    }
    if (step->phase != phase) {
      phase = step->phase;
      if (phase >= 0) renderer.PhaseRow(runbook.phases[phase]);
    }
    renderer.StepRows(phase >= 0 ? 4 : 2, *step, ++number);
  }
}

Millis PlannedDuration(const Runbook& runbook, int* budgeted_steps) {
  // A phase's own budget covers its steps; otherwise its steps' budgets add up.
  std::map<int, Millis> step_sum;
  Millis total{0};
  *budgeted_steps = 0;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep) continue;
    bool phase_budgeted = step.phase >= 0 && runbook.phases[step.phase].budget;
    if (step.budget || phase_budgeted) ++*budgeted_steps;
    if (step.budget) step_sum[step.phase] += *step.budget;
  }
  std::map<int, bool> phase_seen;
  for (const Step& step : runbook.steps) {
    if (step.kind != StepKind::kStep || phase_seen[step.phase]) continue;
    phase_seen[step.phase] = true;
    const Phase* phase = step.phase >= 0 ? &runbook.phases[step.phase] : nullptr;
    if (phase && phase->budget)
      total += *phase->budget;
    else
      total += step_sum[step.phase];
  }
  return total;
}

const char* SecretSourceName(SecretSource source) {
  switch (source) {
    case SecretSource::kEnv:
      return "env";
    case SecretSource::kFile:
      return "file";
    case SecretSource::kCommand:
      return "command";
  }
  return "";
}

}  // namespace

PlanTotals ComputeTotals(const Runbook& runbook) {
  PlanTotals totals;
  for (const Step& step : runbook.steps) {
    if (step.kind == StepKind::kRollback) continue;
    if (step.kind == StepKind::kStep) {
      ++totals.steps;
      if (step.has_rollback()) ++totals.steps_with_rollback;
      if (step.manual) ++totals.gates;
    }
    totals.actions += static_cast<int>(step.actions.size());
    for (const Action& action : step.actions)
      if (action.attributes.confirm) ++totals.gates;
    for (const auto& item : step.checklist)
      CountItem(item, totals);
  }
  totals.planned = PlannedDuration(runbook, &totals.budgeted_steps);
  return totals;
}

namespace {

void PlanText(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
              Output& out) {
  out.MakeTerminalSafe();
  out.Format("Runbook   {}\n", runbook.title);
  out.Format("File      {}\n", runbook.path);
  if (environment)
    out.Format("Env       {}{}\n", environment->name,
               environment->is_protected ? " (protected: asks for its name before running)" : "");
  auto vars = Scope(runbook, environment, options.cli_vars);
  if (!vars.empty()) {
    std::vector<std::string> pairs;
    for (const auto& [name, value] : vars)
      pairs.push_back(name + "=" + (options.is_secret && options.is_secret(name) ? "***" : value));
    out.Format("Vars      {}\n", fmt::join(pairs, ", "));
  }
  if (!runbook.front_matter.secrets.empty()) {
    std::vector<std::string> names;
    for (const auto& secret : runbook.front_matter.secrets)
      names.push_back(fmt::format("{} ({})", secret.name, SecretSourceName(secret.source)));
    out.Format("Secrets   {}\n", fmt::join(names, ", "));
  }
  if (!runbook.front_matter.requires_tools.empty()) {
    std::vector<std::string> tools;
    for (const auto& r : runbook.front_matter.requires_tools)
      tools.push_back(r.op.empty() ? r.tool : fmt::format("{} {} {}", r.tool, r.op, r.version));
    out.Format("Requires  {}\n", fmt::join(tools, ", "));
  }

  bool any_executable = false;
  for (const Step& step : runbook.steps)
    if (!step.actions.empty() || !step.checklist.empty()) any_executable = true;
  if (!any_executable) {
    out.Append(
        "\nNothing to run: the runbook has no executable blocks (```bash and the like) and "
        "no checklists.\n");
    return;
  }

  auto section = [&](StepKind kind, std::string_view heading) {
    std::vector<const Step*> steps;
    for (const Step& step : runbook.steps)
      if (step.kind == kind) steps.push_back(&step);
    if (steps.empty()) return;
    out.Format("\n{}\n", heading);
    StepSectionRows(runbook, steps, out, options.show_code);
  };
  section(StepKind::kPreflight,
          "PREFLIGHT  runs before anything changes; a failure stops the run without rollback");
  section(StepKind::kStep, "STEPS  in document order");
  section(StepKind::kSuccessCriteria, "SUCCESS CRITERIA  checked after the last step");
  section(StepKind::kRollback,
          "ROLLBACK PROCEDURE  on failure, after the completed steps' own undo blocks (newest "
          "first)");
  if (!runbook.sign_off.empty()) {
    std::vector<std::string> roles;
    for (const auto& role : runbook.sign_off)
      roles.push_back(role.role);
    out.Format("\nSIGN-OFF  {}\n", fmt::join(roles, ", "));
  }

  PlanTotals totals = ComputeTotals(runbook);
  out.Format(
      "\nTotals    {} step{} ({} with rollback), {} action{}, {} check{}, {} manual "
      "confirmation{}, {} gate{}\n",
      totals.steps, totals.steps == 1 ? "" : "s", totals.steps_with_rollback, totals.actions,
      totals.actions == 1 ? "" : "s", totals.checks, totals.checks == 1 ? "" : "s",
      totals.manual_confirmations, totals.manual_confirmations == 1 ? "" : "s", totals.gates,
      totals.gates == 1 ? "" : "s");
  out.Format("Planned   {} (budgets cover {} of {} steps)\n",
             totals.planned.count() ? FormatDuration(totals.planned) : "no budgets",
             totals.budgeted_steps, totals.steps);
}

using JsonWriter = stagecraft::JsonWriter<Output&>;

void OptionalMillis(JsonWriter& json, const std::optional<Millis>& value) {
  if (value)
    json.Number(value->count());
  else
    json.Null();
}

void PositionJson(JsonWriter& json, SourcePos pos) {
  json.BeginObject();
  json.Key("column");
  json.Number(pos.column);
  json.Key("line");
  json.Number(pos.line);
  json.EndObject();
}

void ExpectedJson(JsonWriter& json, const std::vector<ExpectedLine>& lines) {
  static const char* kinds[] = {"literal", "regex", "glob", "any_lines"};
  json.BeginArray();
  for (const auto& line : lines) {
    json.BeginObject();
    json.Key("kind");
    json.String(kinds[static_cast<int>(line.kind)]);
    json.Key("line");
    json.Number(line.line);
    json.Key("pattern");
    json.String(line.pattern);
    json.EndObject();
  }
  json.EndArray();
}

void ExpectationsJson(JsonWriter& json, const std::vector<Expectation>& expectations) {
  json.BeginArray();
  for (const auto& expectation : expectations) {
    json.BeginObject();
    json.Key("line");
    json.Number(expectation.pos.line);
    json.Key("lines");
    ExpectedJson(json, expectation.lines);
    json.EndObject();
  }
  json.EndArray();
}

// Verifications and rollback blocks.
void BlocksJson(JsonWriter& json, const std::vector<Block>& blocks) {
  json.BeginArray();
  for (const auto& block : blocks) {
    json.BeginObject();
    json.Key("code");
    json.String(block.text);
    json.Key("language");
    json.String(block.language);
    json.Key("line");
    json.Number(block.pos.line);
    json.EndObject();
  }
  json.EndArray();
}

void AttributesJson(JsonWriter& json, const Attributes& a) {
  json.BeginObject();
  json.Key("background");
  json.Bool(a.background);
  json.Key("capture");
  if (a.capture) {
    json.BeginObject();
    json.Key("regex");
    json.Optional(a.capture->regex);
    json.Key("variable");
    json.String(a.capture->variable);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Key("confirm");
  json.Bool(a.confirm);
  json.Key("cwd");
  json.Optional(a.cwd);
  json.Key("delay_ms");
  json.Number(a.delay.count());
  json.Key("idempotent");
  json.Bool(a.idempotent);
  json.Key("ignore");
  json.Bool(a.ignore);
  json.Key("interactive");
  json.Bool(a.interactive);
  json.Key("name");
  json.Optional(a.name);
  json.Key("retries");
  json.Number(a.retries);
  json.Key("skip");
  json.Bool(a.skip);
  json.Key("timeout_ms");
  OptionalMillis(json, a.timeout);
  json.Key("until");
  json.Bool(a.until);
  json.EndObject();
}

void ActionJson(JsonWriter& json, const Action& action) {
  json.BeginObject();
  json.Key("attributes");
  AttributesJson(json, action.attributes);
  json.Key("code");
  json.String(action.block.text);
  json.Key("expectations");
  ExpectationsJson(json, action.expectations);
  json.Key("interpreter");
  json.String(action.block.interpreter);
  json.Key("language");
  json.String(action.block.language);
  json.Key("position");
  PositionJson(json, action.block.pos);
  json.Key("red_flags");
  ExpectationsJson(json, action.red_flags);
  json.Key("transcript");
  json.BeginArray();
  for (const auto& command : action.transcript) {
    json.BeginObject();
    json.Key("command");
    json.String(command.command);
    json.Key("expected");
    ExpectedJson(json, command.expected);
    json.Key("line");
    json.Number(command.pos.line);
    json.EndObject();
  }
  json.EndArray();
  json.Key("verifications");
  BlocksJson(json, action.verifications);
  json.EndObject();
}

void ActionsJson(JsonWriter& json, const std::vector<Action>& actions) {
  json.BeginArray();
  for (const auto& action : actions)
    ActionJson(json, action);
  json.EndArray();
}

void ItemJson(JsonWriter& json, const ChecklistItem& item) {
  json.BeginObject();
  json.Key("actions");
  ActionsJson(json, item.actions);
  json.Key("children");
  json.BeginArray();
  for (const auto& child : item.children)
    ItemJson(json, child);
  json.EndArray();
  json.Key("kind");
  json.String(item.is_check() ? "check" : item.is_group() ? "group" : "manual");
  json.Key("position");
  PositionJson(json, item.pos);
  json.Key("text");
  json.String(item.text);
  json.Key("ticked_in_source");
  json.Bool(item.ticked_in_source);
  json.EndObject();
}

void StepJson(JsonWriter& json, const Step& step) {
  json.BeginObject();
  json.Key("actions");
  ActionsJson(json, step.actions);
  json.Key("budget_ms");
  OptionalMillis(json, step.budget);
  json.Key("checklist");
  json.BeginArray();
  for (const auto& item : step.checklist)
    ItemJson(json, item);
  json.EndArray();
  json.Key("kind");
  json.String(Name(step.kind));
  json.Key("manual");
  json.Bool(step.manual);
  json.Key("name");
  json.String(step.name);
  json.Key("phase");
  if (step.phase >= 0)
    json.Number(step.phase);
  else
    json.Null();
  json.Key("position");
  PositionJson(json, step.pos);
  json.Key("rollback");
  json.BeginObject();
  json.Key("blocks");
  BlocksJson(json, step.compensation);
  json.Key("notes");
  json.BeginArray();
  for (const auto& note : step.rollback_notes)
    json.String(note);
  json.EndArray();
  json.EndObject();
  json.Key("skip");
  json.Bool(step.skip);
  json.Key("timeout_ms");
  OptionalMillis(json, step.timeout);
  json.Key("title");
  json.String(step.title);
  json.Key("troubleshooting");
  json.String(step.troubleshooting);
  json.EndObject();
}

// The document of docs/plan-schema.md, and the newline `plan --json` ends it with.
void PlanJson(const Runbook& runbook, const Environment* environment, Output& out) {
  JsonWriter json(out);
  json.BeginObject();
  json.Key("environment");
  if (environment)
    json.String(environment->name);
  else
    json.Null();
  json.Key("file");
  json.String(runbook.path);
  json.Key("phases");
  json.BeginArray();
  for (const auto& phase : runbook.phases) {
    json.BeginObject();
    json.Key("budget_ms");
    OptionalMillis(json, phase.budget);
    json.Key("position");
    PositionJson(json, phase.pos);
    json.Key("title");
    json.String(phase.title);
    json.EndObject();
  }
  json.EndArray();
  json.Key("protected");
  json.Bool(environment ? environment->is_protected : false);
  json.Key("requires");
  json.BeginArray();
  for (const auto& r : runbook.front_matter.requires_tools) {
    json.BeginObject();
    json.Key("op");
    json.String(r.op);
    json.Key("tool");
    json.String(r.tool);
    json.Key("version");
    json.String(r.version);
    json.EndObject();
  }
  json.EndArray();
  json.Key("schema");
  json.String("stagecraft.plan/v1");
  json.Key("secrets");
  json.BeginArray();
  for (const auto& secret : runbook.front_matter.secrets) {
    json.BeginObject();
    json.Key("name");
    json.String(secret.name);
    json.Key("source");
    json.String(SecretSourceName(secret.source));
    json.EndObject();
  }
  json.EndArray();
  json.Key("shell");
  json.String(runbook.front_matter.shell);
  json.Key("sign_off");
  json.BeginArray();
  for (const auto& role : runbook.sign_off)
    json.String(role.role);
  json.EndArray();
  json.Key("steps");
  json.BeginArray();
  for (const auto& step : runbook.steps)
    StepJson(json, step);
  json.EndArray();
  json.Key("title");
  json.String(runbook.title);
  PlanTotals totals = ComputeTotals(runbook);
  json.Key("totals");
  json.BeginObject();
  json.Key("actions");
  json.Number(totals.actions);
  json.Key("budgeted_steps");
  json.Number(totals.budgeted_steps);
  json.Key("checks");
  json.Number(totals.checks);
  json.Key("gates");
  json.Number(totals.gates);
  json.Key("manual_confirmations");
  json.Number(totals.manual_confirmations);
  json.Key("planned_ms");
  json.Number(totals.planned.count());
  json.Key("steps");
  json.Number(totals.steps);
  json.Key("steps_with_rollback");
  json.Number(totals.steps_with_rollback);
  json.EndObject();
  json.Key("vars");
  json.BeginObject();
  for (const auto& [name, value] : Scope(runbook, environment)) {
    json.Key(name);
    json.String(value);
  }
  json.EndObject();
  json.EndObject();
  out.Append('\n');
}

}  // namespace

std::string RenderPlanText(const Runbook& runbook, const Environment* environment,
                           const PlanOptions& options) {
  std::string text;
  Output out(text);
  PlanText(runbook, environment, options, out);
  return text;
}

Status WritePlanText(const Runbook& runbook, const Environment* environment, int fd) {
  Output out(fd);
  PlanText(runbook, environment, {}, out);
  return out.Finish();
}

std::string RenderPlanJsonText(const Runbook& runbook, const Environment* environment) {
  std::string text;
  Output out(text);
  PlanJson(runbook, environment, out);
  return text;
}

Status WritePlanJson(const Runbook& runbook, const Environment* environment, int fd) {
  Output out(fd);
  PlanJson(runbook, environment, out);
  return out.Finish();
}

nlohmann::json RenderPlanJson(const Runbook& runbook, const Environment* environment) {
  return nlohmann::json::parse(RenderPlanJsonText(runbook, environment));
}

}  // namespace stagecraft::runbook
