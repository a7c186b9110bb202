#include "base/heap.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace stagecraft {
namespace {

// True when this process has one thread, so nothing else can allocate from the heap while
// PrepareHeapForLargeModel drops pages of its free top. Unknown counts as false.
bool SingleThreaded() {
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1024];
  ssize_t size = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (size <= 0) return false;
  std::string_view stat(buffer, static_cast<size_t>(size));
  // "pid (comm) state ppid ...": the command may hold spaces and parentheses, so count
  // fields after the last ')'; num_threads is the 18th of them.
  size_t at = stat.rfind(')');
  for (int field = 0; field < 18 && at != std::string_view::npos; ++field)
    at = stat.find(' ', at + 1);
  if (at == std::string_view::npos) return false;
  return stat.substr(at + 1, 2) == "1 ";
}

}  // namespace

void PrepareHeapForLargeModel(size_t bytes) {
  constexpr uintptr_t kHugePage = 2u << 20;
  // Capped so the thresholds below stay well inside an int.
  int pad = static_cast<int>(std::min<size_t>(bytes, 256u << 20));
  mallopt(M_TOP_PAD, pad);
  mallopt(M_TRIM_THRESHOLD, 2 * pad + static_cast<int>(kHugePage));
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // An allocation the heap's free top cannot serve makes malloc extend the heap by the
  // pad at once; that range is then marked for huge pages. Later extensions are not, which
  // only costs speed.
  void* before = sbrk(0);
  // volatile: the compiler may otherwise drop an allocation that is freed unused.
  void* volatile probe = std::malloc(kHugePage);
  void* after = sbrk(0);
  std::free(probe);
  if (before == reinterpret_cast<void*>(-1) || after == reinterpret_cast<void*>(-1)) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(before) + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(after) & ~(kHugePage - 1);
  if (end <= begin) return;
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  // malloc wrote its bookkeeping past the probe before the advice: a 2 MiB range with a
  // page already in it gets no huge page later. With the probe freed, everything after
  // the first aligned boundary is unused top space, so dropping those pages lets each
  // range start over as one huge page; safe only while no other thread can allocate.
  if (SingleThreaded()) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace stagecraft
