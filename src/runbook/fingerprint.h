#pragma once

// Digests that tell whether a runbook changed under a journaled run: resume refuses to
// continue a run whose steps changed, and names the ones that did.

#include <string>

#include "runbook/model.h"

namespace stagecraft::runbook {

// Digest of everything a step would run.
std::string StepContentHash(const Step& step);
// Digest of the runbook's step structure: names, kinds and contents in order.
std::string StructureHash(const Runbook& runbook);

}  // namespace stagecraft::runbook
