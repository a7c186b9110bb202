#include "cli/app.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

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

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"stagecraft: run Markdown deployment runbooks as written, and prove it"};
  app.set_version_flag("--version", "stagecraft 0.1.0");
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*plan) return PlanCommand(path, environment, json);
  if (*lint) return LintCommand(path);
  return kExitUsage;
}

}  // namespace stagecraft::cli
