#pragma once

// Reads the output of bash's `declare -p` so the engine can carry shell variables from one
// block to the next and leave out what must not be carried (bash's own read-only and
// per-process variables, stagecraft's internals).

#include <string>
#include <string_view>
#include <vector>

namespace stagecraft::exec {

struct ShellDeclaration {
  std::string flags;  // "--", "-x", "-a", "-ax", "-r", ...
  std::string name;
  std::string text;  // the whole statement, re-sourceable as is
  bool exported() const { return flags.find('x') != std::string::npos; }
};

// Splits `declare -p` output into statements. Values may span lines inside quotes.
std::vector<ShellDeclaration> ParseDeclarations(std::string_view output);

// True for variables that describe the shell process itself (PPID, BASH_*, RANDOM...),
// read-only ones, and stagecraft's own (__SC_*): restoring them is wrong or impossible.
bool IsSessionLocal(const ShellDeclaration& declaration);

// The value of a scalar declaration as the shell sees it (quotes and escapes undone), or
// an empty string for arrays and unset variables.
std::string DeclaredValue(const ShellDeclaration& declaration);

// `declare -x NAME='value'` with the value single-quoted safely.
std::string ExportStatement(std::string_view name, std::string_view value);

}  // namespace stagecraft::exec
