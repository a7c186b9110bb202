#pragma once

// Checks that need the whole runbook (rather than one block) to judge: rollback coverage,
// expectations hidden in comments, blocks that run nothing.

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

// Appends findings about `runbook` to `diagnostics`, keeping them in source order.
void Lint(const Runbook& runbook, Diagnostics& diagnostics);

// Heuristic: does this shell text change anything (files, services, cloud resources)?
// Read-only commands (ls, grep, curl GET, terraform plan...) do not count.
bool LooksMutating(std::string_view script);

// LooksMutating over what the action runs (a transcript's commands, not its pasted
// output); false for a block with the `skip` attribute, which never runs.
bool ActionLooksMutating(const Action& action);

}  // namespace stagecraft::runbook
