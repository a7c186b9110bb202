#include "exec/process_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37); harmless when present.
extern "C" {
#include <sys/pidfd.h>
}

#include <charconv>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace stagecraft::exec {
namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[1024];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<size_t>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return text;
}

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

std::optional<ProcessInfo> ParseProcStat(std::string_view stat) {
  size_t close_paren = stat.rfind(')');
  size_t open_paren = stat.find('(');
  if (close_paren == std::string_view::npos || open_paren == std::string_view::npos) {
    return std::nullopt;
  }
  ProcessInfo info;
  if (!ParseNumber(stat.substr(0, open_paren > 0 ? open_paren - 1 : 0), &info.pid)) {
    return std::nullopt;
  }
  // Fields after the command name, numbered as in proc(5): 3 state, 4 ppid, 5 pgrp, ...,
  // 22 starttime.
  std::vector<std::string_view> fields;
  std::string_view rest = stat.substr(close_paren + 1);
  while (fields.size() < 20) {
    size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) break;
    size_t end = rest.find_first_of(" \n", begin);
    if (end == std::string_view::npos) end = rest.size();
    fields.push_back(rest.substr(begin, end - begin));
    rest = rest.substr(end);
  }
  if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
  info.state = fields[0][0];
  if (!ParseNumber(fields[1], &info.ppid) || !ParseNumber(fields[2], &info.pgid) ||
      !ParseNumber(fields[19], &info.start_ticks)) {
    return std::nullopt;
  }
  return info;
}

std::optional<ProcessInfo> ReadProcessInfo(pid_t pid) {
  std::optional<std::string> stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  return ParseProcStat(*stat);
}

std::vector<ProcessInfo> ListProcesses() {
  std::vector<ProcessInfo> processes;
  std::unique_ptr<DIR, DirCloser> proc(opendir("/proc"));
  if (!proc) return processes;
  while (dirent* entry = readdir(proc.get())) {
    pid_t pid;
    if (!ParseNumber(std::string_view(entry->d_name), &pid)) continue;
    // Processes vanish between readdir and open; that is not an error.
    if (std::optional<ProcessInfo> info = ReadProcessInfo(pid)) processes.push_back(*info);
  }
  return processes;
}

std::vector<ProcessInfo> CollectDescendants(const std::vector<ProcessInfo>& snapshot,
                                            const std::vector<pid_t>& roots) {
  std::unordered_map<pid_t, std::vector<const ProcessInfo*>> children;
  std::unordered_map<pid_t, const ProcessInfo*> by_pid;
  for (const ProcessInfo& process : snapshot) {
    children[process.ppid].push_back(&process);
    by_pid[process.pid] = &process;
  }
  std::vector<ProcessInfo> found;
  std::unordered_set<pid_t> seen;
  std::vector<const ProcessInfo*> queue;
  for (pid_t root : roots) {
    auto it = by_pid.find(root);
    if (it != by_pid.end() && seen.insert(root).second) queue.push_back(it->second);
  }
  while (!queue.empty()) {
    const ProcessInfo* process = queue.back();
    queue.pop_back();
    found.push_back(*process);
    for (const ProcessInfo* child : children[process->pid]) {
      if (seen.insert(child->pid).second) queue.push_back(child);
    }
  }
  return found;
}

bool IsAlive(const ProcessInfo& process) {
  std::optional<ProcessInfo> now = ReadProcessInfo(process.pid);
  return now && now->start_ticks == process.start_ticks && !now->dead();
}

bool SignalProcess(const ProcessInfo& process, int signal) {
  int pidfd = pidfd_open(process.pid, 0);
  if (pidfd < 0) {
    if (errno == ESRCH) return false;
    // No pidfd support (old kernel or seccomp): fall back to a checked kill(), which
    // leaves a window of microseconds for pid reuse instead of none.
    return IsAlive(process) && kill(process.pid, signal) == 0;
  }
  // The pidfd now pins whatever process holds the pid; make sure it is ours.
  std::optional<ProcessInfo> now = ReadProcessInfo(process.pid);
  bool ok = now && now->start_ticks == process.start_ticks &&
            pidfd_send_signal(pidfd, signal, nullptr, 0) == 0;
  close(pidfd);
  return ok;
}

Status BecomeChildSubreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return Status::Error(std::string("cannot become child subreaper: ") + strerror(errno));
  }
  return Status::Ok();
}

bool IsChildSubreaper() {
  int value = 0;
  return prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) == 0 && value != 0;
}

}  // namespace stagecraft::exec
