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
namespace {

// One table per enum keeps names and parsing in step.
template <typename E>
struct Name {
  E value;
  std::string_view text;
};

constexpr std::array<Name<RunStatus>, 7> kRunStatusNames{{
    {RunStatus::kRunning, "running"},
    {RunStatus::kSucceeded, "succeeded"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kRolledBack, "rolled_back"},
    {RunStatus::kRollbackFailed, "rollback_failed"},
    {RunStatus::kInterrupted, "interrupted"},
    {RunStatus::kStopped, "stopped"},
}};

constexpr std::array<Name<StepStatus>, 7> kStepStatusNames{{
    {StepStatus::kPending, "pending"},
    {StepStatus::kRunning, "running"},
    {StepStatus::kSucceeded, "succeeded"},
    {StepStatus::kFailed, "failed"},
    {StepStatus::kSkipped, "skipped"},
    {StepStatus::kApproved, "approved"},
    {StepStatus::kInterrupted, "interrupted"},
}};

constexpr std::array<Name<StepKind>, 6> kStepKindNames{{
    {StepKind::kStep, "step"},
    {StepKind::kCheck, "check"},
    {StepKind::kManual, "manual"},
    {StepKind::kVerification, "verification"},
    {StepKind::kRollback, "rollback"},
    {StepKind::kCompensation, "compensation"},
}};

constexpr std::array<Name<ApprovalMethod>, 3> kApprovalMethodNames{{
    {ApprovalMethod::kPrompt, "prompt"},
    {ApprovalMethod::kYesFlag, "--yes"},
    {ApprovalMethod::kCommand, "approve"},
}};

constexpr std::array<Name<ApprovalDecision>, 2> kApprovalDecisionNames{{
    {ApprovalDecision::kApproved, "approved"},
    {ApprovalDecision::kRejected, "rejected"},
}};

template <typename E, size_t N>
std::string_view NameOf(const std::array<Name<E>, N>& names, E value) {
  for (const auto& name : names)
    if (name.value == value) return name.text;
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> Parse(const std::array<Name<E>, N>& names, std::string_view text) {
  for (const auto& name : names)
    if (name.text == text) return name.value;
  return std::nullopt;
}

}  // namespace

TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view ToString(RunStatus status) {
  return NameOf(kRunStatusNames, status);
}
std::string_view ToString(StepStatus status) {
  return NameOf(kStepStatusNames, status);
}
std::string_view ToString(StepKind kind) {
  return NameOf(kStepKindNames, kind);
}
std::string_view ToString(Stream stream) {
  return stream == Stream::kStdout ? "stdout" : "stderr";
}
std::string_view ToString(ApprovalMethod method) {
  return NameOf(kApprovalMethodNames, method);
}
std::string_view ToString(ApprovalDecision decision) {
  return NameOf(kApprovalDecisionNames, decision);
}

std::optional<RunStatus> ParseRunStatus(std::string_view text) {
  return Parse(kRunStatusNames, text);
}
std::optional<StepStatus> ParseStepStatus(std::string_view text) {
  return Parse(kStepStatusNames, text);
}
std::optional<StepKind> ParseStepKind(std::string_view text) {
  return Parse(kStepKindNames, text);
}
std::optional<ApprovalMethod> ParseApprovalMethod(std::string_view text) {
  return Parse(kApprovalMethodNames, text);
}
std::optional<ApprovalDecision> ParseApprovalDecision(std::string_view text) {
  return Parse(kApprovalDecisionNames, text);
}

bool IsFinished(RunStatus status) {
  return status != RunStatus::kRunning;
}

bool IsRollbackKind(StepKind kind) {
  return kind == StepKind::kRollback || kind == StepKind::kCompensation;
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
