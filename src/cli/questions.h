#pragma once

// Questions a command asks the operator at a terminal before it acts, where a wrong guess
// would run work twice or undo a good release. Without a terminal each prints why nothing
// runs and what to pass instead.

#include <optional>
#include <string>

#include "journal/records.h"

namespace stagecraft::cli {

// Whether an interrupted step that is not idempotent finished: true (it did), false (run it
// again), or nullopt after printing why nothing runs.
std::optional<bool> AskWhetherFinished(const std::string& step, const std::string& run_id);

// Whether `run` may be rolled back: any run that did not succeed; a succeeded one only with
// `yes` or a yes typed now. False after printing why not.
bool MayUndoSucceeded(const journal::RunRecord& run, bool yes);

}  // namespace stagecraft::cli
