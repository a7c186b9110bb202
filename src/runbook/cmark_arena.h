#pragma once

// Bump allocation for cmark-gfm trees. A parsed piece of a runbook is hundreds of thousands
// of small nodes and buffers that all die together; allocating them one by one from malloc
// and freeing them node by node cost about a third of parsing. An arena hands them out
// from a few large blocks, and Reset drops them all at once (the blocks are kept, so the
// next piece reuses memory that is already mapped).
//
// cmark's allocator interface carries no context, so the arena is chosen per thread:
// a `CmarkArena::Use` makes an arena current on its thread for its scope. Every thread
// that calls into cmark on a tree must have the tree's arena current (getters and
// iterators allocate too). An allocation made while no arena is current comes from the
// heap and is freed normally, so a missing Use costs speed, never correctness. Memory of
// a tree must not be touched after its arena is reset or destroyed: never cmark_node_free
// such a tree, let the arena go instead.
//
// An arena is used by one thread at a time; handing it to another thread needs the usual
// synchronisation (a mutex, a join).

#include <cmark-gfm.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace stagecraft::runbook {

class CmarkArena {
 public:
  CmarkArena() = default;
  CmarkArena(const CmarkArena&) = delete;
  CmarkArena& operator=(const CmarkArena&) = delete;

  // For cmark_parser_new_with_mem. The same for every arena: it allocates from the
  // current one.
  static cmark_mem* Allocator();

  // Makes `arena` the current one on this thread until the scope ends.
  class Use {
   public:
    explicit Use(CmarkArena& arena);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    CmarkArena* previous_;
  };

  // Drops every allocation; keeps the regular blocks for reuse.
  void Reset();

  // Bytes of blocks held, for tests and memory accounting.
  size_t reserved_bytes() const;

 private:
  struct FreeBytes {
    void operator()(std::byte* bytes) const;
  };
  struct Unmap {
    size_t size;
    void operator()(std::byte* bytes) const;
  };
  // Regular blocks are mapped whole and aligned, so that one huge page can back each.
  struct Block {
    std::unique_ptr<std::byte, Unmap> bytes;
    size_t size = 0;
  };
  struct Oversized {
    std::unique_ptr<std::byte, FreeBytes> bytes;
    size_t size = 0;
  };

  void* Allocate(size_t bytes);
  void* Reallocate(void* payload, size_t bytes);
  void* AllocateOversized(size_t bytes);
  void* ReallocateOversized(std::byte* header, size_t bytes);

  static void* CallocHook(size_t count, size_t size);
  static void* ReallocHook(void* payload, size_t bytes);
  static void FreeHook(void* payload);

  std::vector<Block> blocks_;         // regular blocks; allocation happens in blocks_[current_]
  std::vector<Oversized> oversized_;  // one allocation each, released by Reset
  size_t current_ = 0;
  size_t used_ = 0;            // bytes used in blocks_[current_]
  std::byte* last_ = nullptr;  // the latest allocation's header, for growing in place
};

}  // namespace stagecraft::runbook
