#pragma once

// The private scratch directory of one executing stagecraft process, and the removal of
// those whose process died without removing its own (kill -9, power loss).
//
// The directory is $TMPDIR/stagecraft-run-PID-XXXXXX (mode 0700), and its owner holds an
// exclusive flock on it for as long as it lives; the kernel drops the lock when the process
// dies, however it dies. Another stagecraft removes the directory only when both say the
// owner is gone: no process PID exists (checked first, so a directory being created, not yet
// locked, is never taken) and nobody holds the lock (which also covers a PID from another
// PID namespace sharing $TMPDIR). Only directories of the current user are considered.
//
// The directory only ever holds the code of the blocks, never secrets (see shell_session.h),
// so a leftover is clutter rather than a leak; it is still removed.

#include <string>

namespace stagecraft::exec {

class ScratchDir {
 public:
  // Creates and locks the directory; path() is empty when that failed (errno says why).
  ScratchDir();
  // Removes the directory and everything in it.
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int lock_fd_ = -1;
};

// Removes the scratch directories under $TMPDIR (or /tmp) whose owner is dead, as described
// above. Returns how many it removed; never fails (what cannot be checked is left alone).
int RemoveAbandonedScratchDirs();

}  // namespace stagecraft::exec
