#pragma once

// Lets the journal keep, for resume, values that were built from secrets without keeping
// the secrets: each occurrence of a known secret's value is replaced by a placeholder naming
// the secret, and on resume the placeholder is replaced by the value read again from the
// secret's source (or given again with --var). The placeholder is the secret's name between
// two NUL bytes: shell values cannot hold NUL, so a placeholder never collides with text.
//
// Only exact occurrences are recognised; an encoded form of a secret (base64, hex...) in a
// value is left to the masker, and the value cannot be restored (see Engine::SaveScope).

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stagecraft::engine {

class SecretTemplates {
 public:
  // Registers `value` under `name`. Values too short to be masked, or holding NUL, are
  // ignored: they are not hidden anywhere, so there is nothing to restore.
  void Add(const std::string& name, const std::string& value);

  // `text` with every occurrence of a registered value (longest first) replaced by its
  // placeholder; nullopt when `text` holds NUL itself and so could not be read back.
  std::optional<std::string> Template(std::string_view text) const;

  // The inverse of Template() with the values registered now. An error names the
  // placeholders whose secret is not registered any more.
  Result<std::string> Fill(std::string_view templated) const;

 private:
  std::map<std::string, std::string> values_;  // name -> value
};

}  // namespace stagecraft::engine
