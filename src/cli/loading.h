#pragma once

// Reading a runbook for a command, and the small helpers every command's messages share.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runbook/diagnostic.h"
#include "runbook/model.h"
#include "runbook/parser.h"
#include "runbook/source_file.h"

namespace stagecraft::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitWaiting = 4;  // a gate waits for `stagecraft approve`

struct Loaded {
  std::shared_ptr<const runbook::SourceFile> source;  // the model refers to its text too
  runbook::ParseResult parsed;
  int silenced = 0;  // lint findings the runbook's lint-ignore silenced
};

// Reads, parses and lints a runbook. Returns nullopt after printing the reason when the
// file cannot be used at all.
std::optional<Loaded> Load(const std::string& path, runbook::SourceFile::Hold hold);

// Loads a runbook that is about to be executed: also refuses (printing every error) when
// lint finds errors. `verb` says what could not be done ("run", "resume").
std::optional<Loaded> LoadForExecution(const std::string& path, std::string_view verb);

// For a command that is about to exit: the model is left for the process's end to reclaim.
// Destroying a 10,000-step model piece by piece takes longer than the OS takes to drop it.
void KeepUntilExit(Loaded loaded);

int CountSeverity(const runbook::Diagnostics& diagnostics, runbook::Severity severity);
std::string Plural(int count, std::string_view word);

// Resolves --env against the runbook; prints the problem and returns false when unknown.
bool FindEnvironment(const runbook::Runbook& book, const std::string& name,
                     const runbook::Environment** out);

}  // namespace stagecraft::cli
