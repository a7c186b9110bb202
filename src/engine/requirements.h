#pragma once

// Front-matter `requires: [aws >= 2.0, terraform >= 1.0]`: reading a tool's version from
// what `TOOL --version` prints, and checking it against the constraint. Pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace stagecraft::engine {

// The first version-looking token in `version_output`: a run of digits followed by at least
// one ".digits" component ("2.15.3", "1.6"), optionally written with a leading 'v' (which is
// not returned). Suffixes end the token: "15.18-0+deb12u1" gives "15.18", "5.2.15(1)-release"
// gives "5.2.15". Digits glued to letters still count ("jq-1.6", "aws-cli/2.15.3",
// "python3.11"), because tools print their names that way; a lone number without a dot
// ("x86_64", "Debian 12") is skipped. nullopt when there is none.
std::optional<std::string> ExtractVersion(std::string_view version_output);

// Negative, zero or positive as a <, ==, > b, comparing dot-separated numeric components
// from the left, a missing component counting as 0 ("2.0" == "2", "1.10" > "1.9"). A leading
// 'v' is ignored, and each version ends where it stops looking like one (so "1.2.3-rc1"
// compares as 1.2.3: pre-releases are not ordered). Components are compared as digit
// strings, so any length works without overflow.
int CompareVersions(std::string_view a, std::string_view b);

// Whether version `actual` meets `op wanted`, for op ">=", ">", "=" (also "=="), "<=" or
// "<". An empty op only asks for the tool to be present: true. An unknown op is false (the
// front-matter parser rejects those first).
bool SatisfiesRequirement(std::string_view actual, std::string_view op, std::string_view wanted);

}  // namespace stagecraft::engine
