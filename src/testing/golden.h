#pragma once

// Golden files: expected output kept beside the tests, rewritten on request.

#include <string>

namespace stagecraft::testing {

// Compares `actual` with the file at `path`. With STAGECRAFT_UPDATE_GOLDEN=1 in the
// environment the file is rewritten instead. Returns "" on a match, else a message for
// the test failure showing both texts.
std::string CompareWithGoldenFile(const std::string& path, const std::string& actual);

}  // namespace stagecraft::testing
