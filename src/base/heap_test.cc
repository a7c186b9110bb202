#include "base/heap.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

namespace stagecraft {
namespace {

TEST(HeapTest, MemoryStaysUsableAfterPreparing) {
  PrepareHeapForLargeModel(64 << 20);
  PrepareHeapForLargeModel(8 << 20);  // a second call only changes the tuning
  std::vector<std::unique_ptr<char[]>> blocks;
  for (size_t size : {16u, 4096u, 1u << 20, 40u << 20}) {
    blocks.push_back(std::make_unique<char[]>(size));
    std::memset(blocks.back().get(), 0x5a, size);
    EXPECT_EQ(blocks.back()[size - 1], 0x5a);
  }
  blocks.clear();
  auto again = std::make_unique<char[]>(1 << 20);
  std::memset(again.get(), 1, 1 << 20);
  EXPECT_EQ(again[12345], 1);
}

}  // namespace
}  // namespace stagecraft
