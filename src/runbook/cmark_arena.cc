#include "runbook/cmark_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace stagecraft::runbook {
namespace {

// Ahead of every allocation: its size, for realloc, and whether it came from the heap.
struct alignas(16) Header {
  size_t size;
  size_t from_heap;
};
constexpr size_t kHeader = sizeof(Header);
static_assert(kHeader == 16);

// One huge page. A 64 KiB piece of Markdown needs about a block. Touching fresh memory a
// 4 KiB page at a time costs more than parsing into it on some virtual machines, so blocks
// ask for huge pages; where there are none, the pages a tree does not reach are never
// touched either.
constexpr size_t kBlockBytes = 2 << 20;
// Larger allocations get a block of their own, so they neither waste the rest of a
// regular block nor make blocks grow.
constexpr size_t kOversized = kBlockBytes / 4;

thread_local CmarkArena* t_current = nullptr;

size_t RoundUp(size_t bytes) {
  return (bytes + 15) & ~size_t{15};
}

Header* HeaderOf(void* payload) {
  return reinterpret_cast<Header*>(static_cast<std::byte*>(payload) - kHeader);
}

void* PayloadOf(void* header) {
  return static_cast<std::byte*>(header) + kHeader;
}

// Like cmark's own allocator: a parser cannot go on without memory.
[[noreturn]] void OutOfMemory() {
  std::abort();
}

std::byte* MapBlock() {
  // Twice the size, so that an aligned block fits; the rest is unmapped right away.
  size_t span = 2 * kBlockBytes;
  void* mapped = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) OutOfMemory();
  auto start = reinterpret_cast<uintptr_t>(mapped);
  uintptr_t aligned = (start + kBlockBytes - 1) & ~(kBlockBytes - 1);
  if (aligned > start) munmap(mapped, aligned - start);
  uintptr_t end = aligned + kBlockBytes;
  if (start + span > end) munmap(reinterpret_cast<void*>(end), start + span - end);
  madvise(reinterpret_cast<void*>(aligned), kBlockBytes, MADV_HUGEPAGE);
  return reinterpret_cast<std::byte*>(aligned);
}

std::byte* HeapBytes(size_t bytes) {
  auto* block = static_cast<std::byte*>(std::malloc(bytes));
  if (!block) OutOfMemory();
  return block;
}

}  // namespace

void CmarkArena::FreeBytes::operator()(std::byte* bytes) const {
  std::free(bytes);
}

void CmarkArena::Unmap::operator()(std::byte* bytes) const {
  munmap(bytes, size);
}

cmark_mem* CmarkArena::Allocator() {
  static cmark_mem allocator{&CallocHook, &ReallocHook, &FreeHook};
  return &allocator;
}

CmarkArena::Use::Use(CmarkArena& arena) : previous_(t_current) {
  t_current = &arena;
}

CmarkArena::Use::~Use() {
  t_current = previous_;
}

void CmarkArena::Reset() {
  oversized_.clear();
  current_ = 0;
  used_ = 0;
  last_ = nullptr;
}

size_t CmarkArena::reserved_bytes() const {
  size_t total = 0;
  for (const Block& block : blocks_)
    total += block.size;
  for (const Oversized& block : oversized_)
    total += block.size;
  return total;
}

void* CmarkArena::Allocate(size_t bytes) {
  size_t need = kHeader + RoundUp(bytes);
  if (need > kOversized) return AllocateOversized(bytes);
  if (blocks_.empty() || used_ + need > blocks_[current_].size) {
    if (!blocks_.empty() && current_ + 1 < blocks_.size()) {
      ++current_;
    } else {
      Block block;
      block.bytes = std::unique_ptr<std::byte, Unmap>(MapBlock(), Unmap{kBlockBytes});
      block.size = kBlockBytes;
      blocks_.push_back(std::move(block));
      current_ = blocks_.size() - 1;
    }
    used_ = 0;
  }
  std::byte* header = blocks_[current_].bytes.get() + used_;
  used_ += need;
  last_ = header;
  *reinterpret_cast<Header*>(header) = {bytes, 0};
  std::memset(PayloadOf(header), 0, bytes);
  return PayloadOf(header);
}

void* CmarkArena::AllocateOversized(size_t bytes) {
  size_t need = kHeader + bytes;
  std::byte* header = HeapBytes(need);
  oversized_.push_back({std::unique_ptr<std::byte, FreeBytes>(header), need});
  *reinterpret_cast<Header*>(header) = {bytes, 0};
  std::memset(PayloadOf(header), 0, bytes);
  return PayloadOf(header);
}

void* CmarkArena::Reallocate(void* payload, size_t bytes) {
  if (!payload) return Allocate(bytes);
  auto* header = reinterpret_cast<std::byte*>(HeaderOf(payload));
  size_t old_size = HeaderOf(payload)->size;
  // Growing buffers (cmark's strbufs) are usually the latest allocation: grow in place.
  if (header == last_ && kHeader + RoundUp(bytes) <= kOversized) {
    size_t start = static_cast<size_t>(header - blocks_[current_].bytes.get());
    if (start + kHeader + RoundUp(bytes) <= blocks_[current_].size) {
      used_ = start + kHeader + RoundUp(bytes);
      HeaderOf(payload)->size = bytes;
      return payload;
    }
  }
  if (!oversized_.empty() && header == oversized_.back().bytes.get() &&
      kHeader + bytes > kOversized)
    return ReallocateOversized(header, bytes);
  void* moved = Allocate(bytes);
  std::memcpy(moved, payload, std::min(old_size, bytes));
  return moved;
}

void* CmarkArena::ReallocateOversized(std::byte* header, size_t bytes) {
  Oversized& block = oversized_.back();
  auto* grown = static_cast<std::byte*>(std::realloc(header, kHeader + bytes));
  if (!grown) OutOfMemory();
  (void)block.bytes.release();
  block.bytes.reset(grown);
  block.size = kHeader + bytes;
  reinterpret_cast<Header*>(grown)->size = bytes;
  return PayloadOf(grown);
}

void* CmarkArena::CallocHook(size_t count, size_t size) {
  size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes) || bytes > SIZE_MAX - 2 * kHeader) OutOfMemory();
  if (t_current) return t_current->Allocate(bytes);
  auto* header = static_cast<std::byte*>(std::calloc(1, kHeader + bytes));
  if (!header) OutOfMemory();
  *reinterpret_cast<Header*>(header) = {bytes, 1};
  return PayloadOf(header);
}

void* CmarkArena::ReallocHook(void* payload, size_t bytes) {
  if (bytes > SIZE_MAX - 2 * kHeader) OutOfMemory();
  if (payload && HeaderOf(payload)->from_heap) {
    auto* header = static_cast<std::byte*>(std::realloc(HeaderOf(payload), kHeader + bytes));
    if (!header) OutOfMemory();
    reinterpret_cast<Header*>(header)->size = bytes;
    return PayloadOf(header);
  }
  if (t_current) return t_current->Reallocate(payload, bytes);
  // An arena allocation grown while its arena is not current moves to the heap.
  auto* header = static_cast<std::byte*>(std::malloc(kHeader + bytes));
  if (!header) OutOfMemory();
  *reinterpret_cast<Header*>(header) = {bytes, 1};
  if (payload) std::memcpy(PayloadOf(header), payload, std::min(HeaderOf(payload)->size, bytes));
  return PayloadOf(header);
}

void CmarkArena::FreeHook(void* payload) {
  if (payload && HeaderOf(payload)->from_heap) std::free(HeaderOf(payload));
}

}  // namespace stagecraft::runbook
