#include "journal/records.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <vector>

namespace stagecraft::journal {

TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsFlowStep(const StepRecord& record) {
  return record.parent_key.empty() && !IsRollbackKind(record.kind);
}

ProcessIdentity CurrentIdentity() {
  ProcessIdentity identity;
  identity.pid = getpid();

  // getpwuid_r rather than getpwuid: the lock heartbeat thread may ask at the same time.
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found &&
      found->pw_name && *found->pw_name) {
    identity.user = found->pw_name;
  } else if (const char* user = std::getenv("USER"); user && *user) {
    identity.user = user;
  } else {
    identity.user = fmt::format("uid{}", geteuid());
  }

  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
    identity.host = host.data();
  } else {
    identity.host = "localhost";
  }
  return identity;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> random(bytes);
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t got = getrandom(random.data() + filled, bytes - filled, 0);
    if (got <= 0) break;
    filled += static_cast<size_t>(got);
  }
  if (filled < bytes) {
    // Without kernel randomness ids only need to differ between processes and calls.
    static thread_local uint64_t counter = 0;
    uint64_t mix = static_cast<uint64_t>(NowMs()) * 6364136223846793005ULL ^
                   (static_cast<uint64_t>(getpid()) << 32) ^ ++counter;
    for (size_t i = filled; i < bytes; ++i) {
      mix ^= mix >> 33;
      mix *= 0xff51afd7ed558ccdULL;
      random[i] = static_cast<unsigned char>(mix >> 56);
    }
  }
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char byte : random)
    hex += fmt::format("{:02x}", byte);
  return hex;
}

std::string NewRunId(TimeMs at) {
  time_t seconds = static_cast<time_t>(at / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{}", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, RandomHex(3));
}

std::string NewLockId() {
  return RandomHex(6);
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> ParseJson(const std::string& text, std::string_view what) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    return Status::Error(fmt::format("journal: stored {} is not valid JSON", what));
  return value;
}

bool ProcessIsGone(int64_t pid) {
  if (pid <= 0) return false;
  // EPERM means the process exists but belongs to someone else: alive.
  if (kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace stagecraft::journal
