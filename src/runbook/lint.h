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

}  // namespace stagecraft::runbook
