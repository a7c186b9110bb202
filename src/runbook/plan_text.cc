// The text plan that `stagecraft plan` and `run --dry-run` print.

#include <string>
#include <vector>

#include "runbook/inputs.h"
#include "runbook/plan_output.h"
#include "runbook/rollback_plan.h"
#include "runbook/walk.h"
#include "runbook/working_directory.h"

namespace stagecraft::runbook {
namespace {

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

// "1 step", "2 steps".
void Count(PlanOutput& out, int64_t count, std::string_view word) {
  out.Number(count);
  out.Append(' ');
  out.Append(word);
  if (count != 1) out.Append('s');
}

// Rows are written straight into the output, not formatted into strings first: the plan of
// a large runbook has hundreds of thousands of them.
class TextRenderer {
 public:
  TextRenderer(PlanOutput& out, bool show_code, const InputList& inputs, const Runbook* runbook,
               const std::map<const Step*, StepDirectory>& directories)
      : out_(out),
        show_code_(show_code),
        inputs_(inputs),
        runbook_(runbook),
        directories_(directories) {}

  void ActionRows(int indent, const Action& action) {
    BeginRow(indent, "run");
    ActionSummary(action);
    EndRow(action.block.pos.line);
    if (show_code_) CodeLines(indent + 4, action.block.text);
    if (action.attributes.confirm) GateRow(indent, action);
    ExpectationRows(indent, "expect", action.expectations, "in order");
    ExpectationRows(indent, "forbid", action.red_flags, "must not appear");
    for (const auto& verification : action.verifications)
      KeptBlockRows(indent, "verify", verification);
  }

  // A **Rollback:** or **Verification:** block: its attributes mean what they mean for any
  // other block.
  void KeptBlockRows(int indent, std::string_view tag, const Block& block) {
    Action undo;
    undo.block = block;
    if (runbook_) undo = runbook_->BlockAction(block);
    BeginRow(indent, tag);
    LinesSummary(undo.block.interpreter.empty() ? undo.block.language : undo.block.interpreter,
                 undo.block.text);
    AttributeSummary(undo.attributes);
    EndRow(undo.block.pos.line);
    if (show_code_) CodeLines(indent + 4, undo.block.text);
    if (undo.attributes.confirm) GateRow(indent, undo);
  }

  // "asks for approval before running", and who gives it when a role is named.
  void GateRow(int indent, const Action& action) {
    BeginRow(indent, "gate");
    out_.Append("asks for approval before running");
    std::string_view role = runbook_ && step_ ? runbook_->GateRole(*step_, &action) : "";
    const GateSpec* gate = runbook_ ? runbook_->BlockGate(action) : nullptr;
    if (!role.empty()) {
      out_.Append(" (role ");
      out_.Append(role);
      if (const ApproverRole* declared = runbook_ ? runbook_->FindRole(role) : nullptr) {
        out_.Append(": ");
        for (size_t i = 0; i < declared->accounts.size(); ++i) {
          if (i) out_.Append(", ");
          out_.Append(declared->accounts[i]);
        }
      }
      out_.Append(')');
    }
    if (gate && !gate->prompt.empty()) {
      out_.Append(": ");
      out_.Append(gate->prompt);
    }
    EndRow(0);
  }

  void ItemRows(int indent, const ChecklistItem& item) {
    BeginRow(indent, ItemKind(item));
    out_.Append(item.text.empty() ? "(untitled item)" : item.text);
    if (item.ticked_in_source) out_.Append(" (ticked in source; verified anyway)");
    EndRow(item.pos.line);
    for (const auto& action : item.actions)
      ActionRows(indent + 2, action);
    for (const auto& child : item.children)
      ItemRows(indent + 2, child);
  }

  // `number` 0 labels the step "-" (steps outside the numbered flow). `scope_note` is the
  // rollback scope shown with the other notes.
  void StepRows(int indent, const Step& step, int number, std::string_view scope_note = {}) {
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
    Notes(step.budget, step.timeout, step.manual, step.skip, scope_note);
    EndHeading(step.pos.line);
    step_ = &step;
    if (auto dir = directories_.find(&step); dir != directories_.end()) {
      BeginRow(indent + 2, "cwd");
      if (dir->second.known) {
        out_.Append(dir->second.path);
      } else {
        out_.Append("known only at run time (after the cd at line ");
        out_.Number(dir->second.since_line);
        out_.Append(')');
      }
      EndRow(0);
    }
    if (auto used = inputs_.by_step.find(&step); used != inputs_.by_step.end())
      for (const std::string& name : used->second) {
        BeginRow(indent + 2, "needs");
        out_.Append("input ");
        out_.Append(name);
        EndRow(0);
      }
    // In document order, as the engine runs them.
    size_t next_item = 0;
    for (const auto& action : step.actions) {
      for (; next_item < step.checklist.size() &&
             step.checklist[next_item].pos.line < action.block.pos.line;
           ++next_item)
        ItemRows(indent + 2, step.checklist[next_item]);
      ActionRows(indent + 2, action);
    }
    for (; next_item < step.checklist.size(); ++next_item)
      ItemRows(indent + 2, step.checklist[next_item]);
    if (step.kind != StepKind::kStep) return;
    for (const auto& block : step.compensation)
      KeptBlockRows(indent + 2, "undo", block);
    for (const auto& rollback_note : step.rollback_notes) {
      BeginRow(indent + 2, "undo");
      out_.Append("note: ");
      out_.Append(rollback_note);
      EndRow(0);
    }
    if (!step.has_rollback()) Row(indent + 2, "undo", "none", 0);
  }

  void PhaseRow(const Phase& phase) {
    out_.BeginRow();
    out_.Append("  Phase: ");
    out_.Append(phase.title);
    Notes(phase.budget);
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

  // "N lines in order" for each expectation.
  void ExpectationRows(int indent, std::string_view tag, const std::vector<Expectation>& all,
                       std::string_view what) {
    for (const auto& expectation : all) {
      BeginRow(indent, tag);
      Count(out_, static_cast<int64_t>(expectation.lines.size()), "line");
      out_.Append(' ');
      out_.Append(what);
      EndRow(expectation.pos.line);
    }
  }

  // "  [budget 5m, timeout 2m, manual, skipped]", or nothing without notes.
  void Notes(std::optional<Millis> budget, std::optional<Millis> timeout = std::nullopt,
             bool manual = false, bool skip = false, std::string_view extra = {}) {
    bool any_note = false;
    auto note = [&](std::string_view text, std::optional<Millis> duration = std::nullopt) {
      out_.Append(any_note ? ", " : "  [");
      out_.Append(text);
      if (duration) out_.Append(FormatDuration(*duration));
      any_note = true;
    };
    if (budget) note("budget ", budget);
    if (timeout) note("timeout ", timeout);
    if (manual) note("manual");
    if (skip) note("skipped");
    if (!extra.empty()) note(extra);
    if (any_note) out_.Append(']');
  }

  void LinesSummary(std::string_view language, std::string_view text) {
    int lines = CountLines(text);
    out_.Append(language);
    out_.Append(", ");
    Count(out_, lines, "line");
  }

  void ActionSummary(const Action& action) {
    if (action.is_transcript()) {
      int expected = 0;
      for (const auto& command : action.transcript)
        expected += static_cast<int>(command.expected.size());
      out_.Append(action.block.interpreter);
      out_.Append(" transcript, ");
      Count(out_, static_cast<int64_t>(action.transcript.size()), "command");
      out_.Append(", ");
      Count(out_, expected, "expected line");
    } else {
      LinesSummary(action.block.interpreter, action.block.text);
    }
    AttributeSummary(action.attributes);
  }

  // " {name=x timeout=5m confirm}", or nothing without attributes.
  void AttributeSummary(const Attributes& a) {
    bool any_part = false;
    auto part = [&](std::string_view text, std::optional<std::string_view> value = std::nullopt) {
      out_.Append(any_part ? " " : " {");
      out_.Append(text);
      if (value) out_.Append(*value);
      any_part = true;
    };
    if (a.name) part("name=", a.name);
    if (a.timeout) part("timeout=", FormatDuration(*a.timeout));
    if (a.retries) {
      part("retries=");
      out_.Number(a.retries);
    }
    if (a.delay.count()) part("delay=", FormatDuration(a.delay));
    if (a.until) part("until");
    if (a.capture) {
      part("capture=", a.capture->variable);
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
    if (a.cwd) part("cwd=", a.cwd);
    if (a.interactive) part("interactive");
    if (a.background) part("background");
    if (a.stream) part("stream=", FormatDuration(*a.stream));
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

  PlanOutput& out_;
  bool show_code_;
  const InputList& inputs_;
  const Runbook* runbook_;  // for the accounts of a gate's role
  const std::map<const Step*, StepDirectory>& directories_;
  const Step* step_ = nullptr;  // the step whose rows are being written
};

// The rows of one section's steps, all of one kind.
// Alternatives that do not run are listed without numbers: the numbers are those of the steps
// that run.
void StepSectionRows(const Runbook& runbook, const std::vector<const Step*>& steps, PlanOutput& out,
                     bool show_code, const InputList& inputs, const AlternativeChoice& choice,
                     bool alternatives, const std::map<const Step*, StepDirectory>& directories) {
  TextRenderer renderer(out, show_code, inputs, &runbook, directories);
  int phase = -2;  // none yet
  int number = 0;
  for (const Step* step : steps) {
    if (step->kind != StepKind::kStep || alternatives) {
      renderer.StepRows(2, *step, 0,
                        step->kind == StepKind::kRollback ? RollbackScopeNote(*step, choice)
                                                          : AlternativeNote(*step, choice));
      continue;
    }
    if (step->phase != phase) {
      phase = step->phase;
      if (phase >= 0) renderer.PhaseRow(runbook.phases[phase]);
    }
    renderer.StepRows(phase >= 0 ? 4 : 2, *step, ++number, AlternativeNote(*step, choice));
  }
}

// The lines above the steps: what the runbook is, and what a run of it needs.
void Header(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
            const InputList& input_list, PlanOutput& out) {
  out.Format("Runbook   {}\n", runbook.title);
  out.Format("File      {}\n", runbook.path);
  if (environment)
    out.Format("Env       {}{}\n", environment->name,
               environment->is_protected ? " (protected: asks for its name before running)" : "");
  auto list = [&](std::string_view label, const std::vector<std::string>& items) {
    if (!items.empty()) out.Format("{}{}\n", label, fmt::join(items, ", "));
  };
  std::vector<std::string> vars;
  for (const auto& [name, value] : Scope(runbook, environment, options.cli_vars))
    vars.push_back(name + "=" + (options.is_secret && options.is_secret(name) ? "***" : value));
  list("Vars      ", vars);
  std::vector<std::string> secrets;
  for (const auto& secret : runbook.front_matter.secrets)
    secrets.push_back(fmt::format("{} ({})", secret.name, SecretSourceName(secret.source)));
  list("Secrets   ", secrets);
  std::vector<std::string> inputs;
  const std::map<std::string, std::string> scope = Scope(runbook, environment, options.cli_vars);
  for (const std::string& name : input_list.all) {
    const InputSpec* spec = FindInputSpec(runbook, name);
    std::optional<std::string> default_value = InputDefault(runbook, input_list, name);
    if (scope.count(name))
      inputs.push_back(name + " (given)");
    else if (default_value)
      inputs.push_back(fmt::format(
          "{} (default {})", name,
          options.is_secret && options.is_secret(name) ? std::string("***") : *default_value));
    else if (spec && spec->command)
      inputs.push_back(name + " (from its command)");
    else
      inputs.push_back(name);
  }
  list("Inputs    ", inputs);
  std::vector<std::string> tools;
  for (const auto& r : runbook.front_matter.requires_tools)
    tools.push_back(r.op.empty() ? r.tool : fmt::format("{} {} {}", r.tool, r.op, r.version));
  list("Requires  ", tools);
}

}  // namespace

void RenderText(const Runbook& runbook, const Environment* environment, const PlanOptions& options,
                PlanOutput& out) {
  out.MakeTerminalSafe();
  const InputList inputs = ListInputs(runbook);
  Header(runbook, environment, options, inputs, out);
  if (std::none_of(runbook.steps.begin(), runbook.steps.end(), [](const Step& step) {
        return !step.actions.empty() || !step.checklist.empty();
      })) {
    out.Append(
        "\nNothing to run: the runbook has no executable blocks (```bash and the like) and "
        "no checklists.\n");
    return;
  }
  const std::map<const Step*, StepDirectory> directories = StepDirectories(runbook);
  // Alternatives that do not run as chosen have a section of their own.
  const AlternativeChoice choice(runbook, options.choose);
  auto section = [&](std::initializer_list<StepKind> kinds, std::string_view heading,
                     bool alternatives = false) {
    std::vector<const Step*> steps;
    for (StepKind kind : kinds)
      for (const Step& step : runbook.steps)
        if (step.kind == kind && IsOtherAlternative(step, choice) == alternatives)
          steps.push_back(&step);
    if (steps.empty()) return;
    out.Format("\n{}\n", heading);
    StepSectionRows(runbook, steps, out, options.show_code, inputs, choice, alternatives,
                    directories);
  };
  section({StepKind::kPreflight},
          "PREFLIGHT  runs before anything changes; a failure stops the run without rollback");
  section({StepKind::kStep}, "STEPS  in document order");
  section({StepKind::kSuccessCriteria}, "SUCCESS CRITERIA  checked after the last step");
  section({StepKind::kRollback},
          "ROLLBACK PROCEDURE  on failure, after the completed steps' own undo blocks (newest "
          "first)");
  section({StepKind::kStep, StepKind::kRollback},
          "ALTERNATIVES  run only when chosen: --choose NAME", true);
  out.Append(RenderFailureText(runbook, options.choose));
  std::vector<std::string_view> roles;
  for (const auto& role : runbook.sign_off)
    roles.push_back(role.role);
  if (!roles.empty()) out.Format("\nSIGN-OFF  {}\n", fmt::join(roles, ", "));
  if (!runbook.documentation.empty()) {
    out.Append("\nDOCUMENTATION  read, not run\n");
    for (const DocumentationSection& section : runbook.documentation)
      out.Format("  {} (line {})\n", section.title, section.pos.line);
  }

  PlanTotals totals = ComputeTotals(runbook, options.choose);
  out.Append("\nTotals    ");
  Count(out, totals.steps, "step");
  out.Format(" ({} with rollback)", totals.steps_with_rollback);
  for (auto [count, word] : {std::pair<int, std::string_view>{totals.actions, "action"},
                             {totals.checks, "check"},
                             {totals.manual_confirmations, "manual confirmation"},
                             {totals.gates, "gate"}}) {
    out.Append(", ");
    Count(out, count, word);
  }
  out.Append('\n');
  out.Format("Planned   {} (budgets cover {} of {} steps)\n",
             totals.planned.count() ? FormatDuration(totals.planned) : "no budgets",
             totals.budgeted_steps, totals.steps);
}

}  // namespace stagecraft::runbook
