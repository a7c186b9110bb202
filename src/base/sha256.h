#pragma once

// SHA-256, for the runbook hash a run records: users compare it with `sha256sum FILE`, and
// resume compares it to notice an edited runbook. Not for anything security-sensitive
// beyond that (no constant-time guarantees).

#include <string>
#include <string_view>

namespace stagecraft {

// Lower-case hex digest of `bytes` (64 characters).
std::string Sha256Hex(std::string_view bytes);

}  // namespace stagecraft
