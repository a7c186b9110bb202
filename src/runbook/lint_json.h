#pragma once

// `stagecraft lint --json`: the findings as one JSON object, schema `stagecraft.lint/v1`
// (docs/cli.md).

#include <string>
#include <string_view>

#include "runbook/diagnostic.h"

namespace stagecraft::runbook {

// The id a finding without one of its own gets in JSON: those about how the file is
// written (front matter, attributes, labels...), which are fixed rather than silenced.
inline constexpr std::string_view kFormatFindingId = "format";

// `path` as given on the command line; `silenced` counts findings lint-ignore hid.
std::string RenderLintJson(std::string_view path, const Diagnostics& diagnostics, int silenced);

}  // namespace stagecraft::runbook
