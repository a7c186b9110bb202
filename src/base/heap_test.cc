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

TEST(HeapTest, PreparingKeepsWhatIsAlreadyAllocated) {
  // Preparing drops pages of the heap's free top; live blocks below it must keep their bytes.
  std::vector<std::vector<char>> live;
  for (size_t size : {24u, 3000u, 200'000u, 3u << 20})
    live.emplace_back(size, static_cast<char>(size % 251));
  PrepareHeapForLargeModel(96 << 20);
  for (const auto& block : live)
    for (char c : block)
      ASSERT_EQ(c, static_cast<char>(block.size() % 251));
  std::vector<char> after(5 << 20, 7);  // and the prepared top is usable
  EXPECT_EQ(after[(5 << 20) - 1], 7);
}

}  // namespace
}  // namespace stagecraft
