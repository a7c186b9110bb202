#pragma once

// Heap tuning for commands about to build a large model in memory.

#include <cstddef>

namespace stagecraft {

// Prepares the heap to grow by about `bytes` in one piece backed by transparent huge pages
// (where the kernel offers them on request). On virtual machines the first touch of every
// fresh 4 KiB page is expensive, tens of microseconds, which made page faults the largest
// cost of planning a large runbook; 2 MiB pages cut their number by 512. Large blocks are
// kept in the heap too, and freed memory is not handed back early, so a model that is
// built, freed and rebuilt reuses pages it already touched. Untouched reserve costs no
// memory. Safe to call more than once; does nothing useful where THP is disabled.
void PrepareHeapForLargeModel(size_t bytes);

}  // namespace stagecraft
