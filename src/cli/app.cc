#include "cli/app.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>

#include "base/text.h"
#include "cli/approvals.h"
#include "cli/history.h"
#include "cli/loading.h"
#include "cli/run_command.h"
#include "cli/state_location.h"
#include "runbook/alternatives.h"
#include "runbook/lint_json.h"
#include "runbook/parser.h"
#include "runbook/plan.h"

namespace stagecraft::cli {
namespace {

constexpr const char* kStateHelp =
    "Journal and lock directory (default: STAGECRAFT_STATE, else .stagecraft at the top of "
    "the git work tree, else beside the runbook or here)";

// The state of a command given a run id, resolved in place; false once the error is said.
bool ResolveRunsState(std::string& state_dir) {
  auto found = StateForRuns(state_dir);
  if (!found.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", found.error());
    return false;
  }
  state_dir = found.value().dir;
  return true;
}

int LintCommand(const std::string& path, bool json, bool strict) {
  auto loaded = Load(path, runbook::SourceFile::Hold::kMapped);
  if (!loaded) return kExitUsage;
  const auto& diagnostics = loaded->parsed.diagnostics;
  int errors = CountSeverity(diagnostics, runbook::Severity::kError);
  int warnings = CountSeverity(diagnostics, runbook::Severity::kWarning);
  if (json) {
    fmt::print("{}", runbook::RenderLintJson(path, diagnostics, loaded->silenced));
  } else {
    runbook::SourceLines lines(loaded->source->text());
    for (const auto& diagnostic : diagnostics)
      fmt::print("{}", TerminalSafe(runbook::FormatDiagnostic(path, lines, diagnostic)));
    std::string silenced =
        loaded->silenced ? fmt::format(" ({} silenced)", loaded->silenced) : std::string();
    if (errors == 0 && warnings == 0)
      fmt::print("{}: no problems found{}\n", path, silenced);
    else
      fmt::print("{}: {}, {}{}\n", path, Plural(errors, "error"), Plural(warnings, "warning"),
                 silenced);
  }
  KeepUntilExit(std::move(*loaded));
  return errors || (strict && warnings) ? kExitFindings : kExitOk;
}

int PlanCommand(const std::string& path, const std::string& environment_name, bool json,
                const std::vector<std::string>& choose) {
  auto loaded = Load(path, runbook::SourceFile::Hold::kMapped);
  if (!loaded) return kExitUsage;
  const auto& diagnostics = loaded->parsed.diagnostics;
  int errors = CountSeverity(diagnostics, runbook::Severity::kError);
  if (errors) {
    runbook::SourceLines lines(loaded->source->text());
    for (const auto& diagnostic : diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", TerminalSafe(runbook::FormatDiagnostic(path, lines, diagnostic)));
    fmt::print(stderr, "{}: cannot plan: {} (stagecraft lint {} lists every finding)\n", path,
               Plural(errors, "error"), path);
    return kExitUsage;
  }
  const runbook::Environment* environment = nullptr;
  if (!FindEnvironment(loaded->parsed.runbook, environment_name, &environment)) return kExitUsage;
  if (Status checked = runbook::CheckChoices(loaded->parsed.runbook, choose); !checked.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(checked.message()));
    return kExitUsage;
  }
  runbook::PlanOptions options;
  options.choose = choose;
  // The plan goes to stdout's descriptor as it is rendered (WritePlanText), and the one line
  // that may follow needs no buffer: stdio would allocate one, and the first large allocation
  // after parsing makes malloc sort through every small block the parser freed, ~20 ms on a
  // 10,000-step runbook.
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  Status written =
      json ? runbook::WritePlanJson(loaded->parsed.runbook, environment, STDOUT_FILENO, options)
           : runbook::WritePlanText(loaded->parsed.runbook, environment, STDOUT_FILENO, options);
  int warnings = CountSeverity(diagnostics, runbook::Severity::kWarning);
  if (written.ok() && !json && warnings) {
    std::string line =
        fmt::format("Lint      {} (stagecraft lint {})\n", Plural(warnings, "warning"), path);
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size())
      written = Status::Error(std::strerror(errno));
  }
  KeepUntilExit(std::move(*loaded));
  // A plan cut short by a full disk must not look like a complete one.
  if (!written.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot write the plan: {}\n", written.message());
    return kExitUsage;
  }
  return kExitOk;
}

void AddKillLeftoversFlag(CLI::App* command, ExecutionFlags& flags) {
  command->add_flag("--kill-leftovers", flags.kill_leftovers,
                    "Stop processes a killed session's step left running, instead of refusing");
}

void AddExecutionFlags(CLI::App* command, ExecutionFlags& flags) {
  command->add_flag("--yes", flags.yes, "Approve every gate (recorded as --yes)");
  command->add_option("--approve", flags.approve, "Approve the gates of this step");
  command->add_option("--wait-for-approval", flags.wait_for_approval,
                      "Wait this long (e.g. 30m) at a gate for stagecraft approve or reject");
  command->add_option("--on-failure", flags.on_failure, "rollback (default), stop or ask")
      ->check(CLI::IsMember({"rollback", "stop", "ask"}));
  command->add_option("--choose", flags.choose,
                      "Run this alternative instead of its group's default");
  command->add_option("--confirm-env", flags.confirm_env,
                      "Name of a protected environment, confirming it without a prompt");
  command->add_option("--state", flags.state_dir, kStateHelp);
  command->add_option("--lock-timeout", flags.lock_timeout,
                      "Wait this long for another run's lock (e.g. 5m); default: fail at once");
  command->add_flag("--fsync", flags.fsync,
                    "Journal commits survive power loss too (default: the engine's death)");
  command->add_flag("--no-color", flags.no_color, "No colours (also NO_COLOR)");
  command->add_flag("--quiet", flags.quiet, "Only failures, warnings and the summary");
  command->add_flag("--verbose", flags.verbose, "Also show each block's code");
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"stagecraft: run Markdown deployment runbooks as written, and prove it"};
  app.set_version_flag("--version", "stagecraft 0.1.0");
  app.name("stagecraft");  // usage lines say "stagecraft", whatever argv[0] was
  app.require_subcommand(1);

  std::string path;
  std::string environment;
  bool json = false;
  auto* plan = app.add_subcommand("plan", "Show what would run, in order, with budgets and gates");
  plan->add_option("runbook", path, "Markdown runbook")->required();
  plan->add_option("--env", environment, "Environment from the front matter");
  plan->add_flag("--json", json, "Machine-readable plan (docs/plan-schema.md)");
  std::vector<std::string> plan_choose;
  plan->add_option("--choose", plan_choose,
                   "Plan with this alternative instead of its group's default");

  bool strict = false;
  auto* lint = app.add_subcommand("lint", "Report problems as file:line:col");
  lint->add_option("runbook", path, "Markdown runbook")->required();
  lint->add_flag("--json", json, "Findings as JSON (docs/cli.md)");
  lint->add_flag("--strict", strict, "Warnings fail too (exit 1)");

  RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run the runbook: checks, gates, captures, rollback");
  run->add_option("runbook", run_flags.path, "Markdown runbook")->required();
  run->add_option("--env", run_flags.environment, "Environment from the front matter");
  run->add_option("--var", run_flags.vars, "Set a variable for every block: NAME=value");
  run->add_flag("--dry-run", run_flags.dry_run, "Print every action with its scope; run nothing");
  AddExecutionFlags(run, run_flags.execution);

  ResumeFlags resume_flags;
  auto* resume =
      app.add_subcommand("resume", "Continue a failed or interrupted run where it stopped");
  resume->add_option("run", resume_flags.run, "Run id or unique prefix (default: the latest)");
  resume->add_flag("--rerun-interrupted", resume_flags.rerun_interrupted,
                   "Run again a step that was running when the run stopped");
  resume->add_flag("--skip-interrupted", resume_flags.skip_interrupted,
                   "Treat a step that was running when the run stopped as finished");
  resume->add_flag("--force", resume_flags.force, "Resume even though the runbook changed");
  resume->add_option("--var", resume_flags.vars,
                     "Give again a value the journal could not keep (a secret): NAME=value");
  AddExecutionFlags(resume, resume_flags.execution);
  AddKillLeftoversFlag(resume, resume_flags.execution);

  RollbackFlags rollback_flags;
  auto* rollback = app.add_subcommand(
      "rollback", "Undo a failed or stopped run: compensations, then the rollback procedure");
  rollback->add_option("run", rollback_flags.run, "Run id or unique prefix")->required();
  rollback->add_option("--var", rollback_flags.vars,
                       "Give again a value the journal could not keep (a secret): NAME=value");
  AddExecutionFlags(rollback, rollback_flags.execution);
  AddKillLeftoversFlag(rollback, rollback_flags.execution);

  RunsFlags runs_flags;
  auto* runs = app.add_subcommand("runs", "List journaled runs, newest first");
  runs->add_option("--state", runs_flags.state_dir, kStateHelp);
  runs->add_option("--limit", runs_flags.limit, "How many runs (0: all; default 20)");
  runs->add_flag("--json", runs_flags.json, "Machine-readable list");

  ShowFlags show_flags;
  auto* show = app.add_subcommand("show", "A run's steps with status, attempts and timings");
  show->add_option("run", show_flags.run, "Run id, unique prefix or 'latest'")->required();
  show->add_option("--state", show_flags.state_dir, kStateHelp);
  show->add_flag("--json", show_flags.json, "Machine-readable details");

  LogsFlags logs_flags;
  auto* logs = app.add_subcommand("logs", "A run's output (secrets masked)");
  logs->add_option("run", logs_flags.run, "Run id, unique prefix or 'latest'")->required();
  logs->add_option("step", logs_flags.step, "Only this step (or item key)");
  logs->add_option("--state", logs_flags.state_dir, kStateHelp);
  logs->add_flag("-f,--follow", logs_flags.follow, "Keep printing while the run goes on");
  logs->add_flag("--raw", logs_flags.raw,
                 "Print the output byte for byte, terminal escape sequences included");

  ReportFlags report_flags;
  auto* report = app.add_subcommand("report", "Render the report of a journaled run");
  report->add_option("run", report_flags.run, "Run id, unique prefix of one, or 'latest'")
      ->required();
  report->add_option("--format", report_flags.format, "md (default), html, json or junit")
      ->check(CLI::IsMember({"md", "markdown", "html", "json", "junit", "xml"}));
  report->add_option("-o,--output", report_flags.output, "Write to FILE instead of stdout");
  report->add_option("--state", report_flags.state_dir, kStateHelp);

  UnlockFlags unlock_flags;
  auto* unlock = app.add_subcommand("unlock", "Release a run lock whose holder is gone");
  unlock->add_option("lock_id", unlock_flags.lock_id, "Lock id from the error message")->required();
  unlock->add_flag("--force", unlock_flags.force, "Required: confirms the release");
  unlock->add_option("--state", unlock_flags.state_dir, kStateHelp);

  DecisionFlags approve_flags;
  auto* approve = app.add_subcommand("approve", "Approve the gate a run waits at");
  approve->add_option("run", approve_flags.run, "Run id, unique prefix or 'latest'")->required();
  approve->add_option("step", approve_flags.step, "The step whose gate waits")->required();
  approve->add_option("--comment", approve_flags.comment, "Kept with the approval");
  approve->add_option("--state", approve_flags.state_dir, kStateHelp);

  DecisionFlags reject_flags;
  reject_flags.reject = true;
  auto* reject =
      app.add_subcommand("reject", "Reject the gate a run waits at: the step fails and rolls back");
  reject->add_option("run", reject_flags.run, "Run id, unique prefix or 'latest'")->required();
  reject->add_option("step", reject_flags.step, "The step whose gate waits")->required();
  reject->add_option("--reason", reject_flags.comment, "Why, kept with the rejection")->required();
  reject->add_option("--state", reject_flags.state_dir, kStateHelp);

  PendingFlags pending_flags;
  auto* pending =
      app.add_subcommand("pending", "Gates waiting for approval, with the command that approves");
  pending->add_option("--state", pending_flags.state_dir, kStateHelp);

  // CLI11 would report a mistyped command as an unexpected extra argument; say what it is.
  if (argc > 1 && argv[1][0] != '-') {
    std::string name = argv[1];
    std::function<bool(CLI::App*)> named = [&](CLI::App* sub) { return sub->check_name(name); };
    auto matches = app.get_subcommands(named);
    if (matches.empty()) {
      fmt::print(stderr, "stagecraft: unknown command '{}'\n\n{}", name, app.help());
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*plan) return PlanCommand(path, environment, json, plan_choose);
  if (*lint) return LintCommand(path, json, strict);
  if (*run) return RunCommand(run_flags);
  for (std::string* state_dir :
       {&resume_flags.execution.state_dir, &rollback_flags.execution.state_dir,
        &runs_flags.state_dir, &show_flags.state_dir, &logs_flags.state_dir,
        &unlock_flags.state_dir, &report_flags.state_dir, &approve_flags.state_dir,
        &reject_flags.state_dir, &pending_flags.state_dir})
    if (!ResolveRunsState(*state_dir)) return kExitUsage;
  if (*resume) return ResumeCommand(resume_flags);
  if (*rollback) return RollbackCommand(rollback_flags);
  if (*runs) return RunsCommand(runs_flags);
  if (*show) return ShowCommand(show_flags);
  if (*logs) return LogsCommand(logs_flags);
  if (*unlock) return UnlockCommand(unlock_flags);
  if (*report) return ReportCommand(report_flags);
  if (*approve) return DecideCommand(approve_flags);
  if (*reject) return DecideCommand(reject_flags);
  if (*pending) return PendingCommand(pending_flags);
  return kExitUsage;
}

}  // namespace stagecraft::cli
