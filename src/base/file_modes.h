#pragma once

// Permissions of what stagecraft creates in its state directory (the journal, output side
// files, reports and the directories holding them): they hold the output of deployments.
//
// A state directory stagecraft creates is private: 0700, its files 0600. One that already
// exists sets the modes: its group's read and write permissions carry over to everything
// created beneath it (and its set-group-ID bit to directories, so their files keep the
// group), the world's never. So a directory an administrator made 2770 for a team gets
// files 0660 and directories 2770. Modes are set exactly, whatever the umask.

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace stagecraft {

struct CreationModes {
  mode_t directory = 0700;
  mode_t file = 0600;
};

// The modes for entries created in a directory whose mode is `directory_mode`.
CreationModes ModesBeneath(mode_t directory_mode);

// The modes for entries created in the existing directory `dir`; the private ones when it
// cannot be read.
CreationModes ModesBeneath(const std::string& dir);

// Makes `dir` and any missing parents, each 0700. An existing directory is left as it is.
Status CreatePrivateDirectories(const std::string& dir);

// Makes `dir` and any missing parents below its nearest existing ancestor, each with the
// modes that ancestor (or the directory just made above it) gives. An existing directory is
// left as it is.
Status CreateDirectoriesBeneath(const std::string& dir);

// Opens `path` with `flags` (which include O_CREAT), creating it with `mode` exactly when it
// is new. Returns the descriptor, or -1 with errno set.
int OpenWithMode(const std::string& path, int flags, mode_t mode);

}  // namespace stagecraft
