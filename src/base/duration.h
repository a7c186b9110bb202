#pragma once

// Durations as runbook authors write them: attribute values ("30s", "5m", "1h30m",
// "250ms") and heading budgets ("(5 minutes)", "(2-3 minutes)", "(1-2 hours)").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stagecraft {

using Millis = std::chrono::milliseconds;

// Parses a compact duration: one or more <number><unit> terms with units ms, s, m, h, d
// (also "sec", "min", "hour"...), or a bare number of seconds.
Result<Millis> ParseDuration(std::string_view text);

// Finds a budget in a heading title, e.g. "Step 2: Deploy (2-3 minutes)". The upper bound
// of a range is the budget. `budget_begin` receives the offset of the opening parenthesis
// so callers can strip it from the displayed title; `budget_end` the offset just past the
// closing parenthesis, so text after the budget survives too.
std::optional<Millis> FindHeadingBudget(std::string_view title, size_t* budget_begin = nullptr,
                                        size_t* budget_end = nullptr);

// "1h 05m", "3m", "45s", "250ms": short, for tables.
std::string FormatDuration(Millis duration);

}  // namespace stagecraft
