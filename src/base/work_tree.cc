#include "base/work_tree.h"

#include <filesystem>
#include <system_error>

namespace stagecraft {

std::optional<std::string> WorkTreeTop(const std::string& dir) {
  std::error_code error;
  std::filesystem::path start = std::filesystem::absolute(dir, error).lexically_normal();
  if (error) return std::nullopt;
  for (std::filesystem::path at = start; !at.empty(); at = at.parent_path()) {
    if (std::filesystem::exists(at / ".git", error)) {
      std::string top = at.string();
      if (top.size() > 1 && top.back() == '/') top.pop_back();
      return top;
    }
    if (at == at.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace stagecraft
