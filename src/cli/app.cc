#include "cli/app.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>

#include "base/text.h"
#include "engine/console.h"
#include "engine/engine.h"
#include "engine/prompter.h"
#include "engine/runner.h"
#include "exec/process_tree.h"
#include "exec/signals.h"
#include "runbook/lint.h"
#include "runbook/parser.h"
#include "runbook/plan.h"

namespace stagecraft::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;

struct Loaded {
  std::string source;
  runbook::ParseResult parsed;
};

// Reads, parses and lints a runbook. Returns nullopt after printing the reason when the
// file cannot be used at all.
std::optional<Loaded> Load(const std::string& path) {
  auto source = runbook::LoadRunbookSource(path);
  if (!source.ok()) {
    fmt::print(stderr, "{}\n", source.error());
    return std::nullopt;
  }
  Loaded loaded{std::move(source.value()), {}};
  loaded.parsed = runbook::ParseRunbook(path, loaded.source);
  if (loaded.parsed.unusable) {
    runbook::SourceLines lines(loaded.source);
    for (const auto& diagnostic : loaded.parsed.diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", runbook::FormatDiagnostic(path, lines, diagnostic));
    return std::nullopt;
  }
  runbook::Lint(loaded.parsed.runbook, loaded.parsed.diagnostics);
  return loaded;
}

int CountSeverity(const runbook::Diagnostics& diagnostics, runbook::Severity severity) {
  int count = 0;
  for (const auto& d : diagnostics)
    count += d.severity == severity;
  return count;
}

std::string Plural(int count, std::string_view word) {
  return fmt::format("{} {}{}", count, word, count == 1 ? "" : "s");
}

int LintCommand(const std::string& path) {
  auto loaded = Load(path);
  if (!loaded) return kExitUsage;
  runbook::SourceLines lines(loaded->source);
  for (const auto& diagnostic : loaded->parsed.diagnostics)
    fmt::print("{}", runbook::FormatDiagnostic(path, lines, diagnostic));
  int errors = CountSeverity(loaded->parsed.diagnostics, runbook::Severity::kError);
  int warnings = CountSeverity(loaded->parsed.diagnostics, runbook::Severity::kWarning);
  if (errors == 0 && warnings == 0)
    fmt::print("{}: no problems found\n", path);
  else
    fmt::print("{}: {}, {}\n", path, Plural(errors, "error"), Plural(warnings, "warning"));
  return errors ? kExitFindings : kExitOk;
}

// Resolves --env against the runbook; prints the problem and returns false when unknown.
bool FindEnvironment(const runbook::Runbook& book, const std::string& name,
                     const runbook::Environment** out) {
  *out = nullptr;
  if (name.empty()) return true;
  *out = book.FindEnvironment(name);
  if (*out) return true;
  std::vector<std::string> names;
  for (const auto& environment : book.front_matter.environments)
    names.push_back(environment.name);
  if (names.empty())
    fmt::print(stderr, "{}: error: unknown environment '{}': the runbook defines no environments\n",
               book.path, name);
  else
    fmt::print(stderr, "{}: error: unknown environment '{}' (the runbook defines: {})\n", book.path,
               name, fmt::join(names, ", "));
  return false;
}

int PlanCommand(const std::string& path, const std::string& environment_name, bool json) {
  auto loaded = Load(path);
  if (!loaded) return kExitUsage;
  const auto& diagnostics = loaded->parsed.diagnostics;
  int errors = CountSeverity(diagnostics, runbook::Severity::kError);
  if (errors) {
    runbook::SourceLines lines(loaded->source);
    for (const auto& diagnostic : diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", runbook::FormatDiagnostic(path, lines, diagnostic));
    fmt::print(stderr, "{}: cannot plan: {} (stagecraft lint {} lists every finding)\n", path,
               Plural(errors, "error"), path);
    return kExitUsage;
  }
  const runbook::Environment* environment = nullptr;
  if (!FindEnvironment(loaded->parsed.runbook, environment_name, &environment)) return kExitUsage;
  if (json) {
    fmt::print("{}\n", runbook::RenderPlanJson(loaded->parsed.runbook, environment).dump(2));
  } else {
    fmt::print("{}", runbook::RenderPlanText(loaded->parsed.runbook, environment));
    int warnings = CountSeverity(diagnostics, runbook::Severity::kWarning);
    if (warnings)
      fmt::print("Lint      {} (stagecraft lint {})\n", Plural(warnings, "warning"), path);
  }
  return kExitOk;
}

struct RunFlags {
  std::string path;
  std::string environment;
  std::vector<std::string> vars;
  std::vector<std::string> approve;
  std::string on_failure;
  std::string confirm_env;
  bool dry_run = false;
  bool yes = false;
  bool no_color = false;
  bool quiet = false;
  bool verbose = false;
};

std::string OperatorName() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  if (passwd* entry = getpwuid(getuid()); entry && entry->pw_name) return entry->pw_name;
  return "operator";
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string_view::npos)
      env[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
  }
  return env;
}

// A private scratch directory for block files and shell state; removed when the run ends.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/stagecraft-run-XXXXXX";
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int RunCommand(const RunFlags& flags) {
  auto loaded = Load(flags.path);
  if (!loaded) return kExitUsage;
  const runbook::Runbook& book = loaded->parsed.runbook;
  const auto& diagnostics = loaded->parsed.diagnostics;
  if (int errors = CountSeverity(diagnostics, runbook::Severity::kError)) {
    runbook::SourceLines lines(loaded->source);
    for (const auto& diagnostic : diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", runbook::FormatDiagnostic(flags.path, lines, diagnostic));
    fmt::print(stderr, "{}: cannot run: {} (stagecraft lint {} lists every finding)\n", flags.path,
               Plural(errors, "error"), flags.path);
    return kExitUsage;
  }
  engine::EngineOptions options;
  if (!FindEnvironment(book, flags.environment, &options.environment)) return kExitUsage;
  for (const auto& assignment : flags.vars) {
    size_t equals = assignment.find('=');
    std::string name = assignment.substr(0, equals);
    if (equals == std::string::npos || !IsShellIdentifier(name)) {
      fmt::print(stderr, "stagecraft: error: --var expects NAME=value, got '{}'\n", assignment);
      return kExitUsage;
    }
    options.cli_vars[name] = assignment.substr(equals + 1);
  }
  if (flags.on_failure == "rollback") options.on_failure = engine::OnFailure::kRollback;
  if (flags.on_failure == "stop") options.on_failure = engine::OnFailure::kStop;
  if (flags.on_failure == "ask") options.on_failure = engine::OnFailure::kAsk;
  options.process_env = ProcessEnvironment();
  options.yes = flags.yes;
  options.approve.insert(flags.approve.begin(), flags.approve.end());
  options.confirm_environment = flags.confirm_env;
  options.user = OperatorName();

  std::filesystem::path runbook_dir =
      std::filesystem::absolute(flags.path).lexically_normal().parent_path();
  std::filesystem::path root = runbook_dir;
  if (book.front_matter.root) root = (runbook_dir / *book.front_matter.root).lexically_normal();
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    fmt::print(stderr, "{}: error: root directory '{}' does not exist\n", flags.path,
               root.string());
    return kExitUsage;
  }

  engine::ConsoleOptions console_options;
  console_options.color = isatty(STDOUT_FILENO) && !flags.no_color && !std::getenv("NO_COLOR");
  console_options.verbosity = flags.quiet     ? engine::Verbosity::kQuiet
                              : flags.verbose ? engine::Verbosity::kVerbose
                                              : engine::Verbosity::kNormal;
  engine::Console console(stdout, console_options);
  engine::TerminalPrompter prompter;

  ScratchDir scratch;
  if (scratch.path().empty()) {
    fmt::print(stderr, "stagecraft: error: cannot create a scratch directory: {}\n",
               std::strerror(errno));
    return kExitUsage;
  }
  exec::InterruptWatcher interrupts;
  exec::IgnoreSigpipe();
  // Daemons a step starts and abandons are re-parented to us, so a timed-out or
  // interrupted step can be cleaned up completely.
  (void)exec::BecomeChildSubreaper();

  exec::ShellSessionOptions session;
  session.root_dir = root.string();
  session.state_dir = scratch.path();
  session.interrupts = &interrupts;
  session.environment = options.process_env;
  engine::SessionRunner runner(session);
  engine::Engine engine(book, runner, console, prompter, &interrupts, options);
  for (const auto& [name, value] : engine.Scope())
    runner.SetVariable(name, value);

  if (flags.dry_run) {
    engine.DryRun();
    return kExitOk;
  }
  engine::RunResult result = engine.Run();
  exec::ReapOrphans();

  std::vector<engine::SummaryRow> rows;
  for (const auto& step : result.steps) {
    engine::SummaryRow row;
    row.step = step.step->name;
    row.status = engine::ItemStatusName(step.status);
    if (step.over_budget && step.status == engine::ItemStatus::kPassed) row.status = "over budget";
    row.duration =
        step.status == engine::ItemStatus::kNotReached ? "-" : FormatDuration(step.elapsed);
    row.budget = step.step->budget ? FormatDuration(*step.step->budget) : "-";
    row.attempts = step.attempts;
    row.bad = step.status != engine::ItemStatus::kPassed &&
              step.status != engine::ItemStatus::kSkipped &&
              step.status != engine::ItemStatus::kApproved;
    row.warn = step.over_budget || step.status == engine::ItemStatus::kNotReached;
    rows.push_back(row);
  }
  for (const auto& item : result.rollback) {
    engine::SummaryRow row;
    row.step = item.label;
    row.status = item.status == engine::ItemStatus::kPassed ? "rolled back"
                                                            : engine::ItemStatusName(item.status);
    row.duration = FormatDuration(item.elapsed);
    row.budget = "-";
    row.attempts = item.attempts;
    row.bad = item.status == engine::ItemStatus::kFailed;
    rows.push_back(row);
  }
  std::string verdict = fmt::format("{}: {} (exit {})", engine::RunStatusName(result.status),
                                    result.message, result.exit_code);
  if (!result.steps.empty() || !result.rollback.empty())
    console.Summary(rows, verdict, result.exit_code == 0);
  else
    fmt::print(stderr, "stagecraft: {}\n", verdict);
  return result.exit_code;
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

  auto* lint = app.add_subcommand("lint", "Report problems as file:line:col");
  lint->add_option("runbook", path, "Markdown runbook")->required();

  RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run the runbook: checks, gates, captures, rollback");
  run->add_option("runbook", run_flags.path, "Markdown runbook")->required();
  run->add_option("--env", run_flags.environment, "Environment from the front matter");
  run->add_option("--var", run_flags.vars, "Set a variable for every block: NAME=value");
  run->add_flag("--dry-run", run_flags.dry_run, "Print every action with its scope; run nothing");
  run->add_flag("--yes", run_flags.yes, "Approve every gate (recorded as --yes)");
  run->add_option("--approve", run_flags.approve, "Approve the gates of this step");
  run->add_option("--on-failure", run_flags.on_failure, "rollback (default), stop or ask")
      ->check(CLI::IsMember({"rollback", "stop", "ask"}));
  run->add_option("--confirm-env", run_flags.confirm_env,
                  "Name of a protected environment, confirming it without a prompt");
  run->add_flag("--no-color", run_flags.no_color, "No colours (also NO_COLOR)");
  run->add_flag("--quiet", run_flags.quiet, "Only failures, warnings and the summary");
  run->add_flag("--verbose", run_flags.verbose, "Also show each block's code");

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
  if (*plan) return PlanCommand(path, environment, json);
  if (*lint) return LintCommand(path);
  if (*run) return RunCommand(run_flags);
  return kExitUsage;
}

}  // namespace stagecraft::cli
