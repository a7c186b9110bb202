#include "cli/run_command.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "base/duration.h"
#include "base/sha256.h"
#include "base/text.h"
#include "cli/approvals.h"
#include "cli/leftovers.h"
#include "cli/loading.h"
#include "cli/notifications.h"
#include "cli/questions.h"
#include "cli/run_lock.h"
#include "cli/run_vars.h"
#include "cli/state.h"
#include "cli/state_location.h"
#include "engine/console.h"
#include "engine/engine.h"
#include "engine/journal_recorder.h"
#include "engine/prompter.h"
#include "engine/resume_plan.h"
#include "engine/runner.h"
#include "exec/process_tree.h"
#include "exec/scratch_dir.h"
#include "exec/signals.h"
#include "journal/lock.h"
#include "report/github_summary.h"
#include "report/report.h"
#include "runbook/fingerprint.h"
#include "runbook/plan.h"
#include "runbook/rollback_rules.h"

namespace stagecraft::cli {
namespace {

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

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

// The commit the runbook's directory is at, when it is in a git work tree.
std::string GitCommit(const std::filesystem::path& dir) {
  std::string command =
      fmt::format("git -C {} rev-parse HEAD 2>/dev/null </dev/null", ShellQuote(dir.string()));
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "";
  char buffer[128] = {};
  std::string out;
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
    out.append(buffer, n);
  pclose(pipe);
  out = Trim(out);
  return out.size() == 40 ? out : "";
}

// Fills engine options from the flags every executing command shares. False after
// printing the problem.
bool ApplyExecutionFlags(const ExecutionFlags& flags, engine::EngineOptions& options) {
  if (flags.on_failure == "rollback") options.on_failure = engine::OnFailure::kRollback;
  if (flags.on_failure == "stop") options.on_failure = engine::OnFailure::kStop;
  if (flags.on_failure == "ask") options.on_failure = engine::OnFailure::kAsk;
  options.process_env = ProcessEnvironment();
  options.yes = options.yes || flags.yes;
  options.approve.insert(flags.approve.begin(), flags.approve.end());
  options.confirm_environment = flags.confirm_env;
  options.user = OperatorName();
  if (!flags.choose.empty()) options.choose = flags.choose;
  if (!flags.wait_for_approval.empty()) {
    auto wait = ParseDuration(flags.wait_for_approval);
    if (!wait.ok()) {
      fmt::print(stderr, "stagecraft: error: --wait-for-approval: {}\n", wait.error());
      return false;
    }
    options.wait_for_approval = wait.value();
  }
  return true;
}

// The latest decision `stagecraft approve` or `reject` recorded for a step's gates. Read
// afresh on every call: the decision is taken by another process.
std::optional<engine::RecordedDecision> LatestDecision(journal::Journal& journal,
                                                       const std::string& run_id,
                                                       const std::string& step) {
  auto approvals = journal.ListApprovals(run_id);
  if (!approvals.ok()) return std::nullopt;
  std::optional<engine::RecordedDecision> latest;
  for (const journal::ApprovalRecord& record : approvals.value()) {
    if (record.how != ApprovalMethod::kCommand || record.step_key != step) continue;
    latest = engine::RecordedDecision{record.decision == ApprovalDecision::kApproved, record.who,
                                      record.comment};
  }
  return latest;
}

// The alternatives chosen must exist in the runbook. False after printing why not.
bool ChoicesExist(const runbook::Runbook& book, const std::vector<std::string>& chosen) {
  Status checked = runbook::CheckChoices(book, chosen);
  if (checked.ok()) return true;
  fmt::print(stderr, "stagecraft: error: {}\n", TerminalSafe(checked.message()));
  return false;
}

// A mistyped --approve would leave its gate waiting, found out only when the run reaches
// it; the names are those `plan` shows. False after printing the unknown one.
bool ApprovedStepsExist(const runbook::Runbook& book, const std::string& path,
                        const std::vector<std::string>& approved) {
  for (const std::string& name : approved) {
    auto named = [&](const runbook::Step& step) { return step.name == name; };
    if (std::any_of(book.steps.begin(), book.steps.end(), named)) continue;
    // Only for the message: a copy of every step's name grows with the runbook.
    std::vector<std::string> names;
    for (const auto& step : book.steps)
      names.push_back(step.name);
    auto suggestion = ClosestMatch(name, names);
    std::string hint = suggestion ? fmt::format("; did you mean '{}'?", *suggestion) : "";
    fmt::print(stderr,
               "stagecraft: error: --approve {}: no step of that name{} (stagecraft plan {} "
               "lists the steps)\n",
               TerminalSafe(name), TerminalSafe(hint), TerminalSafe(path));
    return false;
  }
  return true;
}

std::optional<std::filesystem::path> RootDirectory(const runbook::Runbook& book,
                                                   const std::string& path) {
  std::filesystem::path runbook_dir =
      std::filesystem::absolute(path).lexically_normal().parent_path();
  std::filesystem::path root = runbook_dir;
  if (book.front_matter.root) root = (runbook_dir / *book.front_matter.root).lexically_normal();
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    fmt::print(stderr, "{}: error: root directory '{}' does not exist\n", path, root.string());
    return std::nullopt;
  }
  return root;
}

void PrintSummary(engine::Console& console, const engine::RunResult& result) {
  std::vector<engine::SummaryRow> rows;
  for (const auto& step : result.steps) {
    engine::SummaryRow row;
    row.step = step.step->name;
    row.status = engine::ConsoleWord(step.status, step.refusal);
    if (step.over_budget && step.status == StepStatus::kSucceeded) row.status = "over budget";
    if (step.done_earlier) row.status = "done earlier";
    row.duration = step.status == StepStatus::kPending ? "-" : FormatDuration(step.elapsed);
    row.budget = step.step->budget ? FormatDuration(*step.step->budget) : "-";
    row.attempts = step.attempts;
    row.bad = step.status != StepStatus::kSucceeded && step.status != StepStatus::kSkipped &&
              step.status != StepStatus::kApproved;
    row.warn = step.over_budget || step.status == StepStatus::kPending;
    rows.push_back(row);
  }
  for (const auto& item : result.rollback) {
    engine::SummaryRow row;
    row.step = item.label;
    row.status =
        item.status == StepStatus::kSucceeded ? "rolled back" : engine::ConsoleWord(item.status);
    row.duration = FormatDuration(item.elapsed);
    row.budget = "-";
    row.attempts = item.attempts;
    row.bad = item.status == StepStatus::kFailed;
    rows.push_back(row);
  }
  std::string verdict =
      fmt::format("{}: {} (exit {})", engine::RunVerdict(result), result.message, result.exit_code);
  if (!result.steps.empty() || !result.rollback.empty())
    console.Summary(rows, verdict, result.exit_code == 0);
  else
    fmt::print(stderr, "stagecraft: {}\n", TerminalSafe(verdict));
}

enum class Mode { kRun, kRollbackOnly };

struct Execution {
  const Loaded* loaded = nullptr;
  std::string path;  // as the runbook is known to messages
  engine::EngineOptions options;
  const ExecutionFlags* flags = nullptr;
  journal::Journal* journal = nullptr;
  std::string run_id;
  const nlohmann::json* restored_scope = nullptr;  // resume
  Mode mode = Mode::kRun;
  journal::RunLock* lock = nullptr;
};

// What a resumed session gets back from the journal: what the blocks left (variables,
// functions, cwd) and the captures; the engine fills in the secrets and puts the scope on top,
// as the original run had it.
void RestoreScope(const nlohmann::json& scope, const std::filesystem::path& root,
                  engine::Console& console, Execution& execution) {
  engine::EngineOptions& options = execution.options;
  // Named, not iterated as temporaries: items() of a temporary dangles.
  const nlohmann::json captures = scope.value("captures", nlohmann::json::object());
  for (const auto& [name, value] : captures.items())
    if (value.is_string()) options.restored_captures[name] = value.get<std::string>();
  const nlohmann::json templates = scope.value("capture_templates", nlohmann::json::object());
  for (const auto& [name, value] : templates.items())
    if (value.is_string()) options.restored_capture_templates[name] = value.get<std::string>();
  const nlohmann::json chosen = scope.value("chosen", nlohmann::json::array());
  for (const auto& name : chosen)
    if (name.is_string()) options.restored_choices.push_back(name.get<std::string>());
  if (!scope.contains("shell_state")) return;
  std::string cwd = scope.value("cwd", root.string());
  std::error_code error;
  if (!std::filesystem::is_directory(cwd, error)) {
    console.Warn(fmt::format("the run's working directory {} is gone; continuing from {}", cwd,
                             root.string()));
    cwd = root.string();
  }
  options.restored_shell_state = scope.value("shell_state", "");
  options.restored_cwd = cwd;
}

std::string RunDirectory(const ExecutionFlags& flags, const std::string& run_id) {
  return (std::filesystem::path(flags.state_dir) / "runs" / run_id).lexically_normal().string();
}

notify::RunInfo NotifiedRun(const Execution& execution) {
  notify::RunInfo run;
  run.run_id = execution.run_id;
  run.title = execution.loaded->parsed.runbook.title;
  run.environment = execution.options.environment ? execution.options.environment->name : "";
  // Absolute: whoever reads the notification is not in our working directory.
  run.report_path =
      std::filesystem::absolute(RunDirectory(*execution.flags, execution.run_id) + "/report.html")
          .lexically_normal()
          .string();
  return run;
}

// Runs the engine on a prepared, journaled and locked run, then finishes its record.
int Execute(Execution& execution) {
  const runbook::Runbook& book = execution.loaded->parsed.runbook;
  const ExecutionFlags& flags = *execution.flags;
  auto root = RootDirectory(book, execution.path);
  if (!root) return kExitUsage;

  engine::ConsoleOptions console_options;
  console_options.color = isatty(STDOUT_FILENO) && !flags.no_color && !std::getenv("NO_COLOR");
  console_options.verbosity = flags.quiet     ? engine::Verbosity::kQuiet
                              : flags.verbose ? engine::Verbosity::kVerbose
                                              : engine::Verbosity::kNormal;
  const char* term = std::getenv("TERM");
  console_options.live_status =
      isatty(STDOUT_FILENO) && !(term && std::string_view(term) == "dumb");
  if (winsize size{}; ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    console_options.width = size.ws_col;
  engine::Console console(stdout, console_options);
  engine::TerminalPrompter prompter;

  // Leftovers of engines killed before they could clean up; nothing secret is in them.
  exec::ScratchDir scratch;
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
  session.root_dir = root->string();
  session.state_dir = scratch.path();
  session.interrupts = &interrupts;
  session.environment = execution.options.process_env;
  engine::SessionRunner runner(session);
  if (journal::RunLock* lock = execution.lock) {
    // A heartbeat before a step notices a force-release long before the next background
    // beat; at most one a second, so quick steps do not pay a write each.
    auto last_beat = std::make_shared<std::chrono::steady_clock::time_point>();
    execution.options.lock_problem = [lock, last_beat]() -> std::string {
      auto now = std::chrono::steady_clock::now();
      if (now - *last_beat < std::chrono::seconds(1)) return "";
      *last_beat = now;
      Status beat = lock->Heartbeat();
      return beat.ok() ? "" : beat.message();
    };
  }
  if (execution.restored_scope) RestoreScope(*execution.restored_scope, *root, console, execution);
  if (journal::Journal* journal = execution.journal) {
    execution.options.run_id = execution.run_id;
    execution.options.recorded_decision = [journal,
                                           run_id = execution.run_id](const std::string& step) {
      return LatestDecision(*journal, run_id, step);
    };
  }
  engine::JournalRecorder recorder(execution.journal, execution.run_id);
  RunNotifications notifications(book, NotifiedRun(execution), execution.journal, console,
                                 NotifyVariables(book, execution.options));
  engine::Engine engine(book, runner, prompter, &interrupts, execution.options,
                        {&console, &recorder, &notifications});
  notifications.set_masker(&engine.masker());
  if (!execution.run_id.empty()) console.Info(fmt::format("run {}", execution.run_id));

  if (execution.mode == Mode::kRun) notifications.Started(execution.restored_scope != nullptr);
  engine::RunResult result = execution.mode == Mode::kRun ? engine.Run() : engine.RollbackOnly();
  notifications.Finished(result);
  exec::ReapOrphans();
  PrintSummary(console, result);

  if (execution.journal) {
    Status finished =
        execution.journal->FinishRun(execution.run_id, result.status, result.exit_code);
    if (!finished.ok()) {
      fmt::print(stderr, "stagecraft: error: could not record the end of run {}: {}\n",
                 execution.run_id, finished.message());
      return result.exit_code == 0 ? kExitUsage : result.exit_code;
    }
    fmt::print("journal: run {} in {} (stagecraft show {}{})\n", execution.run_id, flags.state_dir,
               StateOptionFor(flags.state_dir), execution.run_id);
    // The report is written whatever the outcome; failing to write it does not change the
    // run's exit code, but it is said.
    std::string run_dir = RunDirectory(flags, execution.run_id);
    auto written = report::WriteRunReports(*execution.journal, execution.run_id, run_dir);
    if (written.ok() && !written.value().empty()) {
      std::string html = written.value().size() > 1 ? written.value()[1] : written.value()[0];
      fmt::print("report: {} (also .md, .json, .junit.xml beside it)\n", html);
    } else if (!written.ok()) {
      fmt::print(stderr, "stagecraft: warning: could not write the report: {}\n", written.error());
    }
    if (Status summary = report::AppendGithubSummary(*execution.journal, execution.run_id);
        !summary.ok())
      fmt::print(stderr, "stagecraft: warning: could not append to $GITHUB_STEP_SUMMARY: {}\n",
                 summary.message());
  }
  return result.exit_code;
}

// The plan with the code of every block, written as it is rendered: the code of a large
// runbook is as large as the runbook.
int DryRun(Loaded loaded, const engine::EngineOptions& options) {
  runbook::PlanOptions plan;
  plan.cli_vars = options.cli_vars;
  plan.is_secret = [](const std::string& name) { return exec::LooksSecret(name); };
  plan.show_code = true;
  plan.choose = options.choose;
  std::fputs("Dry run: nothing is executed\n\n", stdout);
  std::fflush(stdout);
  Status written =
      runbook::WritePlanText(loaded.parsed.runbook, options.environment, STDOUT_FILENO, plan);
  KeepUntilExit(std::move(loaded));
  if (!written.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot write the plan: {}\n", written.message());
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

int RunCommand(RunFlags flags) {
  exec::RemoveAbandonedScratchDirs();
  auto loaded = LoadForExecution(flags.path, "run");
  if (!loaded) return kExitUsage;
  const runbook::Runbook& book = loaded->parsed.runbook;
  auto state = StateForRunbook(flags.execution.state_dir, flags.path, book.front_matter.state);
  if (!state.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", state.error());
    return kExitUsage;
  }
  flags.execution.state_dir = state.value().dir;
  engine::EngineOptions options;
  if (!FindEnvironment(book, flags.environment, &options.environment)) return kExitUsage;
  if (!ParseVars(flags.vars, options.cli_vars)) return kExitUsage;
  if (!ApplyExecutionFlags(flags.execution, options)) return kExitUsage;
  if (!ChoicesExist(book, options.choose)) return kExitUsage;
  if (!ApprovedStepsExist(book, flags.path, flags.execution.approve)) return kExitUsage;

  if (flags.dry_run) return DryRun(std::move(*loaded), options);
  auto root = RootDirectory(book, flags.path);
  if (!root) return kExitUsage;
  std::set<std::string> derived;
  if (!GiveInputs(*loaded, flags.path, root->string(), options, derived)) return kExitUsage;

  // Nothing runs unjournaled: the journal must open (and be writable) first.
  auto journal = OpenJournal(flags.execution.state_dir, /*create=*/true, flags.execution.fsync);
  if (!journal.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot journal the run, so it does not start: {}\n",
               journal.error());
    return kExitUsage;
  }
  std::string absolute = std::filesystem::absolute(flags.path).lexically_normal().string();
  std::string environment = options.environment ? options.environment->name : "";
  std::string run_id = journal::NewRunId(journal::NowMs());
  auto locks = TakeLocks(LockKeys(book, flags.path, environment), run_id, flags.execution);
  if (!locks) return kExitUsage;

  journal::RunRecord record;
  record.id = run_id;
  record.runbook_path = absolute;
  record.runbook_hash = Sha256Hex(loaded->source->text());
  record.structure_hash = runbook::StructureHash(book);
  record.environment = environment;
  record.cwd = std::filesystem::current_path().string();
  nlohmann::json cli_vars = nlohmann::json::object();
  // Secret ones are not kept, only named: a resume must be given them again.
  std::vector<std::string> secret_vars;
  for (const auto& [name, value] : options.cli_vars) {
    // A secret input from a default or a command is computed again on resume.
    if (exec::LooksSecret(name) && derived.count(name)) continue;
    if (exec::LooksSecret(name))
      secret_vars.push_back(name);
    else
      cli_vars[name] = value;
  }
  record.options = {{"title", book.title},
                    {"vars", cli_vars},
                    {"secret_vars", secret_vars},
                    {"yes", flags.execution.yes},
                    {"approve", flags.execution.approve},
                    {"on_failure", flags.execution.on_failure},
                    {"choose", flags.execution.choose},
                    {"started_by", journal::CurrentIdentity().user}};
  if (!book.sign_off.empty()) record.options["sign_off"] = SignOffOption(book);
  std::string commit = GitCommit(std::filesystem::path(absolute).parent_path());
  if (!commit.empty()) record.options["git_commit"] = commit;
  auto created = journal.value()->CreateRun(record);
  if (!created.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot journal the run, so it does not start: {}\n",
               created.error());
    return kExitUsage;
  }

  Execution execution;
  execution.loaded = &*loaded;
  execution.path = flags.path;
  execution.options = std::move(options);
  execution.flags = &flags.execution;
  execution.journal = journal.value().get();
  execution.run_id = run_id;
  execution.lock = locks->front().get();
  return Execute(execution);
}

namespace {

// Loads the run to continue or roll back: its record, its runbook (unchanged unless
// `force`), its environment and variables. Prints the problem and returns false when the
// run cannot be continued.
struct Reopened {
  journal::RunRecord run;
  std::optional<Loaded> loaded;
  engine::EngineOptions options;
  std::vector<journal::StepRecord> steps;
};

std::optional<Reopened> Reopen(journal::Journal& journal, const std::string& typed,
                               const ExecutionFlags& flags, bool force, std::string_view verb,
                               const std::vector<std::string>& given_vars) {
  auto id = ResolveRun(journal, typed);
  if (!id.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", id.error());
    return std::nullopt;
  }
  auto run = journal.GetRun(id.value());
  if (!run.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", run.error());
    return std::nullopt;
  }
  Reopened reopened;
  reopened.run = run.value();
  const journal::RunRecord& record = reopened.run;
  if ((record.status == RunStatus::kRunning && !IsAbandoned(record)) || IsWaitingAttached(record)) {
    fmt::print(stderr,
               "stagecraft: error: run {} is still running (pid {} on {}); it cannot be {}d\n",
               record.id, record.pid, record.host, verb);
    return std::nullopt;
  }
  if (verb == "resume" &&
      (record.status == RunStatus::kSucceeded || record.status == RunStatus::kRolledBack)) {
    fmt::print(stderr, "stagecraft: error: run {} {}; there is nothing to resume\n", record.id,
               record.status == RunStatus::kSucceeded ? "succeeded" : "was rolled back");
    return std::nullopt;
  }
  if (verb == "roll back" && record.status == RunStatus::kRolledBack) {
    fmt::print(stderr, "stagecraft: error: run {} was already rolled back\n", record.id);
    return std::nullopt;
  }
  reopened.loaded = LoadForExecution(record.runbook_path, verb);
  if (!reopened.loaded) return std::nullopt;
  const runbook::Runbook& book = reopened.loaded->parsed.runbook;
  auto steps = journal.ListSteps(record.id);
  if (!steps.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", steps.error());
    return std::nullopt;
  }
  reopened.steps = steps.value();

  if (runbook::StructureHash(book) != record.structure_hash && !force) {
    std::vector<std::string> changed = engine::ChangedSteps(book, reopened.steps);
    fmt::print(stderr,
               "stagecraft: error: {} changed since run {} began ({}); refusing to {} it. "
               "Start a new run, or pass --force to {} anyway\n",
               record.runbook_path, record.id,
               changed.empty() ? "steps reordered or rollback edited"
                               : fmt::format("{}", fmt::join(changed, ", ")),
               verb, verb);
    return std::nullopt;
  }

  engine::EngineOptions& options = reopened.options;
  if (!FindEnvironment(book, record.environment, &options.environment)) return std::nullopt;
  // Named, not iterated as temporaries: items() of a temporary dangles.
  const nlohmann::json vars = record.options.value("vars", nlohmann::json::object());
  const nlohmann::json approved = record.options.value("approve", nlohmann::json::array());
  for (const auto& [name, value] : vars.items())
    if (value.is_string()) options.cli_vars[name] = value.get<std::string>();
  options.yes = record.options.value("yes", false);
  for (const auto& step : approved)
    if (step.is_string()) options.approve.insert(step.get<std::string>());
  const nlohmann::json chosen = record.options.value("choose", nlohmann::json::array());
  for (const auto& name : chosen)
    if (name.is_string()) options.choose.push_back(name.get<std::string>());
  if (!TakeResuppliedVars(record, given_vars, options)) return std::nullopt;
  if (!ApplyExecutionFlags(flags, options)) return std::nullopt;
  // Only secret inputs computed from a default or a command can be missing here.
  auto root = RootDirectory(book, record.runbook_path);
  std::set<std::string> derived;
  if (!root || !GiveInputs(*reopened.loaded, record.runbook_path, root->string(), options, derived))
    return std::nullopt;
  if (!ChoicesExist(book, options.choose)) return std::nullopt;
  if (!ApprovedStepsExist(book, record.runbook_path, flags.approve)) return std::nullopt;
  return reopened;
}

// Attempts a killed engine left open end as interrupted; a step-level one the operator
// declared finished (--skip-interrupted) ends as succeeded, saying who decided.
bool CloseInterruptedAttempts(journal::Journal& journal, const std::string& run_id,
                              const std::set<std::string>& completed, const std::string& user) {
  auto attempts = journal.ListAttempts(run_id);
  if (!attempts.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", attempts.error());
    return false;
  }
  for (const auto& attempt : attempts.value()) {
    if (attempt.ended_at) continue;
    journal::AttemptOutcome outcome;
    outcome.status = StepStatus::kInterrupted;
    outcome.message = "the engine stopped while this ran";
    if (completed.count(attempt.step_key)) {
      outcome.status = StepStatus::kSucceeded;
      outcome.message =
          fmt::format("interrupted; declared finished by {} on resume (--skip-interrupted)", user);
    }
    Status status = journal.EndAttempt(attempt.id, outcome);
    if (!status.ok()) {
      fmt::print(stderr, "stagecraft: error: {}\n", status.message());
      return false;
    }
  }
  return true;
}

// Takes the run's lock, closes the attempts a dead engine left open (as finished when the
// operator said so, else interrupted), reopens the run and executes it in `mode`.
int Continue(journal::Journal& journal, Reopened& reopened, const ExecutionFlags& flags,
             Mode mode) {
  const runbook::Runbook& book = reopened.loaded->parsed.runbook;
  auto locks = TakeLocks(LockKeys(book, reopened.run.runbook_path, reopened.run.environment),
                         reopened.run.id, flags);
  if (!locks) return kExitUsage;
  // Before the open attempts are closed: they say where a killed session's step runs.
  auto attempts = journal.ListAttempts(reopened.run.id);
  if (!attempts.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", attempts.error());
    return kExitUsage;
  }
  if (!HandleLeftovers(reopened.run, attempts.value(), flags.kill_leftovers,
                       std::chrono::milliseconds(5000)))
    return kExitUsage;
  const std::set<std::string> declared_finished =
      mode == Mode::kRun ? reopened.options.completed_steps : std::set<std::string>{};
  if (!CloseInterruptedAttempts(journal, reopened.run.id, declared_finished, reopened.options.user))
    return kExitUsage;
  Status status = journal.ReopenRun(reopened.run.id, journal::CurrentIdentity());
  if (!status.ok()) {
    fmt::print(stderr, "stagecraft: error: cannot reopen run {}: {}\n", reopened.run.id,
               status.message());
    return kExitUsage;
  }
  Execution execution;
  execution.loaded = &*reopened.loaded;
  execution.path = reopened.run.runbook_path;
  execution.options = std::move(reopened.options);
  execution.flags = &flags;
  execution.journal = &journal;
  execution.run_id = reopened.run.id;
  execution.lock = locks->front().get();
  execution.restored_scope = &reopened.run.scope;
  execution.mode = mode;
  return Execute(execution);
}

}  // namespace

int ResumeCommand(const ResumeFlags& flags) {
  // First: even a resume that finds nothing to do cleans what killed sessions left.
  exec::RemoveAbandonedScratchDirs();
  if (flags.rerun_interrupted && flags.skip_interrupted) {
    fmt::print(stderr,
               "stagecraft: error: --rerun-interrupted and --skip-interrupted exclude each "
               "other\n");
    return kExitUsage;
  }
  auto journal = OpenJournal(flags.execution.state_dir, /*create=*/false, flags.execution.fsync);
  if (!journal.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", journal.error());
    return kExitUsage;
  }
  auto reopened =
      Reopen(*journal.value(), flags.run, flags.execution, flags.force, "resume", flags.vars);
  if (!reopened) return kExitUsage;
  const runbook::Runbook& book = reopened->loaded->parsed.runbook;

  engine::InterruptedSteps how = flags.rerun_interrupted  ? engine::InterruptedSteps::kRerun
                                 : flags.skip_interrupted ? engine::InterruptedSteps::kSkip
                                                          : engine::InterruptedSteps::kDecideEach;
  engine::ResumePlan plan = engine::PlanResume(book, reopened->steps, how);
  for (const std::string& step : plan.undecided) {
    auto finished = AskWhetherFinished(step, reopened->run.id);
    if (!finished) return kExitUsage;
    if (*finished) plan.completed.insert(step);
  }
  reopened->options.completed_steps = std::move(plan.completed);

  return Continue(*journal.value(), *reopened, flags.execution, Mode::kRun);
}

int RollbackCommand(const RollbackFlags& flags) {
  exec::RemoveAbandonedScratchDirs();
  auto journal = OpenJournal(flags.execution.state_dir, /*create=*/false, flags.execution.fsync);
  if (!journal.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", journal.error());
    return kExitUsage;
  }
  auto reopened =
      Reopen(*journal.value(), flags.run, flags.execution, /*force=*/true, "roll back", flags.vars);
  if (!reopened) return kExitUsage;
  if (!MayUndoSucceeded(reopened->run, flags.execution.yes)) return kExitUsage;
  auto attempts = journal.value()->ListAttempts(reopened->run.id);
  if (!attempts.ok()) {
    fmt::print(stderr, "stagecraft: error: {}\n", attempts.error());
    return kExitUsage;
  }
  engine::RollbackPlan plan = engine::PlanRollback(reopened->steps, attempts.value());
  reopened->options.completed_steps = std::move(plan.to_undo);
  reopened->options.rollback_done = std::move(plan.already_undone);
  reopened->options.status_before = reopened->run.status;
  return Continue(*journal.value(), *reopened, flags.execution, Mode::kRollbackOnly);
}

}  // namespace stagecraft::cli
