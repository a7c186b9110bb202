#pragma once

// How the engine names what it runs and how a process ended, in the operator's words.

#include <string>
#include <string_view>

#include "exec/subprocess.h"

namespace stagecraft::engine {

// "exited with status 1", "killed by SIGKILL", "timed out after 5s"...
std::string OutcomeMessage(const exec::ProcessOutcome& outcome);

// "bash: terraform apply (+2 more lines)": the first line that runs, and how many follow.
std::string CodeSummary(std::string_view interpreter, std::string_view code);

}  // namespace stagecraft::engine
