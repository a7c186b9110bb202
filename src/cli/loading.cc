#include "cli/loading.h"

#include <fmt/format.h>

#include <vector>

#include "base/text.h"
#include "runbook/lint.h"

namespace stagecraft::cli {

std::optional<Loaded> Load(const std::string& path, runbook::SourceFile::Hold hold) {
  auto source = runbook::SourceFile::Load(path, hold);
  if (!source.ok()) {
    fmt::print(stderr, "{}\n", source.error());
    return std::nullopt;
  }
  Loaded loaded{std::make_shared<const runbook::SourceFile>(std::move(source.value())), {}};
  loaded.parsed = runbook::ParseRunbook(path, loaded.source->text(), loaded.source);
  if (loaded.parsed.unusable) {
    runbook::SourceLines lines(loaded.source->text());
    for (const auto& diagnostic : loaded.parsed.diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", TerminalSafe(runbook::FormatDiagnostic(path, lines, diagnostic)));
    return std::nullopt;
  }
  loaded.silenced =
      runbook::Lint(loaded.parsed.runbook, loaded.source->text(), loaded.parsed.diagnostics)
          .silenced;
  return loaded;
}

void KeepUntilExit(Loaded loaded) {
  // Reachable from a static, so leak checkers do not count it, and never destroyed.
  static std::vector<Loaded*>& kept = *new std::vector<Loaded*>;
  kept.push_back(new Loaded(std::move(loaded)));
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
               name, TerminalSafe(fmt::format("{}", fmt::join(names, ", "))));
  return false;
}

std::optional<Loaded> LoadForExecution(const std::string& path, std::string_view verb) {
  auto loaded = Load(path, runbook::SourceFile::Hold::kCopied);
  if (!loaded) return std::nullopt;
  const auto& diagnostics = loaded->parsed.diagnostics;
  if (int errors = CountSeverity(diagnostics, runbook::Severity::kError)) {
    runbook::SourceLines lines(loaded->source->text());
    for (const auto& diagnostic : diagnostics)
      if (diagnostic.severity == runbook::Severity::kError)
        fmt::print(stderr, "{}", TerminalSafe(runbook::FormatDiagnostic(path, lines, diagnostic)));
    fmt::print(stderr, "{}: cannot {}: {} (stagecraft lint {} lists every finding)\n", path, verb,
               Plural(errors, "error"), path);
    return std::nullopt;
  }
  return loaded;
}

}  // namespace stagecraft::cli
