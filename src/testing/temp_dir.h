#pragma once

// Test support shared by the unit tests, the end-to-end tests and the bench helpers: a
// private directory that disappears with its owner.

#include <string>

namespace stagecraft::testing {

// A fresh directory under $TMPDIR (else /tmp), mode 0700, removed with everything in it
// when the object dies. Aborts when it cannot be made: no test can go on without it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace stagecraft::testing
