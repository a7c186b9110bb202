#include "cli/state_location.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "base/work_tree.h"

namespace stagecraft::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateDirName = ".stagecraft";

// A state named by the operator: a directory, or a URI this build cannot open.
Result<StateLocation> Named(const std::string& value, const std::string& source) {
  if (value.find("://") != std::string::npos)
    return Status::Error(
        fmt::format("{} {}: only a state directory is supported by this build; PostgreSQL state "
                    "(postgresql://…) is not available yet",
                    source, value));
  return StateLocation{value, source};
}

std::optional<Result<StateLocation>> FromFlagOrEnvironment(const std::string& flag) {
  if (!flag.empty()) return Named(flag, "--state");
  if (const char* env = std::getenv("STAGECRAFT_STATE"); env && *env)
    return Named(env, "STAGECRAFT_STATE");
  return std::nullopt;
}

// `path` as short as it can be written from the current directory.
std::string Shown(const fs::path& path) {
  std::error_code error;
  fs::path relative = fs::relative(path, fs::current_path(error), error);
  if (error || relative.empty()) return path.lexically_normal().string();
  std::string text = relative.lexically_normal().string();
  // Going up further than the path is long reads worse than the path itself.
  return text.rfind("../../..", 0) == 0 ? path.lexically_normal().string() : text;
}

StateLocation Default(const std::string& folder, const char* outside) {
  if (std::optional<std::string> top = WorkTreeTop(folder))
    return {Shown(fs::path(*top) / kStateDirName), "the top of the git work tree"};
  return {Shown(fs::path(folder) / kStateDirName), outside};
}

}  // namespace

Result<StateLocation> StateForRunbook(const std::string& flag, const std::string& runbook,
                                      const std::optional<std::string>& front_matter) {
  if (auto named = FromFlagOrEnvironment(flag)) return *named;
  fs::path folder = fs::path(runbook).parent_path();
  if (folder.empty()) folder = ".";
  if (front_matter) {
    if (front_matter->find("://") != std::string::npos) return Named(*front_matter, "state:");
    fs::path dir =
        fs::path(*front_matter).is_absolute() ? fs::path(*front_matter) : folder / *front_matter;
    return StateLocation{Shown(dir), "the runbook's state:"};
  }
  return Default(folder.string(), "beside the runbook");
}

Result<StateLocation> StateForRuns(const std::string& flag) {
  if (auto named = FromFlagOrEnvironment(flag)) return *named;
  return Default(".", "the current directory");
}

std::string StateOptionFor(const std::string& dir) {
  Result<StateLocation> found = StateForRuns("");
  std::error_code error;
  if (found.ok() &&
      fs::weakly_canonical(found.value().dir, error) == fs::weakly_canonical(dir, error))
    return "";
  return fmt::format("--state {} ", dir);
}

}  // namespace stagecraft::cli
