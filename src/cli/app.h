#pragma once

// The `stagecraft` command line. Exit codes are part of the interface: 0 success, 1 lint
// found errors (later: run failed), 2 usage error or unusable input.

namespace stagecraft::cli {

int Main(int argc, char** argv);

}  // namespace stagecraft::cli
