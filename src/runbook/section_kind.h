#pragma once

// What a heading section is for, judged by its title (case-insensitive, emoji and numbering
// ignored) or by a `<!-- stagecraft: ... -->` directive right after the heading.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "runbook/diagnostic.h"

namespace stagecraft::runbook {

enum class SectionKind {
  kNormal,
  kRollback,         // "Rollback", "Roll back": the rollback procedure
  kDocumentation,    // "Troubleshooting", "Contacts", "References", "Validation Results"…
  kSuccessCriteria,  // "Success Criteria"
  kSignOff,          // "Sign-off": its table lists the roles that approve
};

SectionKind ClassifyTitle(std::string_view title);

// Is the title that of a to-do list ("Completion", "Next Steps", "Follow-up")? Such a
// section whose items are all ticked and that has no blocks records what was done: it is
// documentation.
bool IsToDoTitle(std::string_view title);

// Is the title that of approvals needed before the work ("Approval required from")? Such a
// checklist is confirmed in the preflight.
bool IsApprovalTitle(std::string_view title);

// Is the title that of one of several alternatives ("Option 1: …", "Alternative: …",
// "… (alternative)", "… (optional)")? Leading numbering and emoji are ignored.
bool IsAlternativeTitle(std::string_view title);

// Is the title that of a fallback for the section before it ("If the script fails", "If
// that doesn't work", "Fallback: …")? Such a section is an alternative to its previous
// sibling, which stays the default. Leading numbering and emoji are ignored.
bool IsFallbackTitle(std::string_view title);

struct Directives {
  std::optional<SectionKind> kind;
  bool skip = false;
  bool manual = false;
  bool preflight = false;
  bool idempotent = false;
  std::optional<std::string> name;
  std::optional<std::string> role;  // `role=NAME`: who decides the section's gates
  SourcePos role_pos;
  std::optional<Millis> timeout;
  // `after=NAME` words (rollback scoping), each with where its name is written.
  std::vector<std::string> after;
  std::vector<SourcePos> after_pos;
  bool is_default = false;  // `default`: the alternative of its group that runs
  SourcePos default_pos;
  std::vector<std::string> lint_ignore;  // lint finding ids silenced in the section
};

// Returns true when `html` is a stagecraft directive comment, filling `out` and reporting
// unknown or malformed words as diagnostics at `pos`.
bool ParseDirective(std::string_view html, SourcePos pos, Directives& out,
                    Diagnostics& diagnostics);

}  // namespace stagecraft::runbook
