#pragma once

// Where the git work tree holding a directory begins: the nearest folder, going up, that has
// a `.git` (a directory, or a file for worktrees and submodules). Found on the filesystem, so
// that nothing depends on a `git` program being installed.

#include <optional>
#include <string>

namespace stagecraft {

// The absolute path of the top of the work tree holding `dir`, or nullopt outside one.
std::optional<std::string> WorkTreeTop(const std::string& dir);

}  // namespace stagecraft
