#include "testing/golden.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace stagecraft::testing {

std::string CompareWithGoldenFile(const std::string& path, const std::string& actual) {
  const char* update = std::getenv("STAGECRAFT_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return "";
  }
  if (!std::filesystem::exists(path))
    return "missing golden file " + path + " (rerun with STAGECRAFT_UPDATE_GOLDEN=1)";
  std::ifstream file(path, std::ios::binary);
  std::ostringstream expected;
  expected << file.rdbuf();
  if (expected.str() == actual) return "";
  return "output differs from " + path + "\n--- expected\n" + expected.str() + "\n--- actual\n" +
         actual + "\n(rerun with STAGECRAFT_UPDATE_GOLDEN=1 after checking the change is intended)";
}

}  // namespace stagecraft::testing
