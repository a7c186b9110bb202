#include "base/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace stagecraft {

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
  if (before != reinterpret_cast<void*>(-1) && after != reinterpret_cast<void*>(-1)) {
    uintptr_t begin = (reinterpret_cast<uintptr_t>(before) + kHugePage - 1) & ~(kHugePage - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(after) & ~(kHugePage - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
  std::free(probe);
}

}  // namespace stagecraft
