#pragma once

// Mojibake: UTF-8 text that was once decoded as Mac Roman or Windows-1252 and saved again,
// so "🚀" reads "üöÄ" and "’" reads "â€™". Garbled code is not what its author typed; the
// engine matches a garbled expected line or red flag as what it was garbled from too.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"

namespace stagecraft::runbook {

struct Mojibake {
  size_t offset = 0;     // of the garbled text in the line
  std::string garbled;   // as it stands ("‚úì")
  std::string repaired;  // what it most likely was ("✓")
  const char* encoding;  // the encoding it was read as: "Mac Roman" or "Windows-1252"
};

// The runs of garbled characters in `line`, in order.
std::vector<Mojibake> FindMojibake(std::string_view line);

// A `mojibake` finding for each garbled run of `source`.
void LintMojibake(std::string_view source, Diagnostics& out);

// Keeps the first finding of each garbled text (in source order) and says on how many later
// lines it comes back: a file garbled once is garbled everywhere, and one fix mends all.
void MergeRepeatedMojibake(Diagnostics& findings);

}  // namespace stagecraft::runbook
