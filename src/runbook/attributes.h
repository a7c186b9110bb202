#pragma once

// Fenced-block info strings in both Runme-compatible forms:
//   bash { name=publish-layer timeout=5m retries=3 capture=LAYER_ARN confirm }
//   bash {"name":"publish-layer","timeout":"5m"}

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

struct RawAttribute {
  std::string key;
  std::string value;
  bool has_value = false;
  size_t offset = 0;  // of the key, in the info string
};

struct InfoString {
  std::string language;  // lower-cased
  std::vector<RawAttribute> attributes;
  std::string error;  // non-empty when the attribute list could not be read
  size_t error_offset = 0;
};

InfoString ParseInfoString(std::string_view info);

// The attribute names stagecraft understands, for "did you mean" suggestions.
const std::vector<std::string>& KnownAttributeNames();

// Runme's `interpreter` attribute when it names a program (ResolveAttributes reports it
// otherwise): the block's interpreter, kept in the Block rather than in every Attributes.
std::optional<std::string> InterpreterAttribute(const std::vector<RawAttribute>& raw);

// Validates and converts raw attributes. `info_pos` is where the info string starts in the
// file, so diagnostics point at the offending attribute. `keep` returns a view of a value
// that lives as long as the model (see TextStore).
Attributes ResolveAttributes(const std::vector<RawAttribute>& raw, SourcePos info_pos,
                             Diagnostics& diagnostics,
                             const std::function<std::string_view(std::string_view)>& keep);

}  // namespace stagecraft::runbook
