#pragma once

// Checks that need the whole runbook (rather than one block) to judge: rollback coverage,
// expectations hidden in comments, blocks that run nothing, and the hazards of the shell code
// a run executes (lint_shell.h) and of garbled text (lint_text.h). Every finding has an id by
// which a runbook can silence it (lint_ignore.h).

#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

struct LintSummary {
  int silenced = 0;  // findings a lint-ignore attribute or directive silenced
};

// Appends findings about `runbook`, whose text is `source`, to `diagnostics` and sorts them
// all into source order.
LintSummary Lint(const Runbook& runbook, std::string_view source, Diagnostics& diagnostics);

// Every id a lint finding can have, in byte order.
const std::vector<std::string>& LintFindingIds();

// Heuristic: does this shell text change anything (files, services, cloud resources)?
// Read-only commands (ls, grep, curl GET, terraform plan...) do not count.
bool LooksMutating(std::string_view script);

// LooksMutating over what the action runs (a transcript's commands, not its pasted
// output); false for a block with the `skip` attribute, which never runs.
bool ActionLooksMutating(const Action& action);

}  // namespace stagecraft::runbook
