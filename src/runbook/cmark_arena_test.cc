#include "runbook/cmark_arena.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace stagecraft::runbook {
namespace {

// Parses with the tasklist and table extensions, as the runbook parser does.
cmark_node* Parse(const std::string& markdown, CmarkArena& arena) {
  CmarkArena::Use use(arena);
  cmark_gfm_core_extensions_ensure_registered();
  cmark_parser* parser = cmark_parser_new_with_mem(CMARK_OPT_SOURCEPOS, CmarkArena::Allocator());
  for (const char* name : {"tasklist", "table"})
    cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension(name));
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  cmark_node* document = cmark_parser_finish(parser);
  cmark_parser_free(parser);
  return document;
}

std::string Render(cmark_node* document, CmarkArena& arena) {
  CmarkArena::Use use(arena);
  char* text = cmark_render_commonmark(document, 0, 0);
  std::string rendered = text;
  CmarkArena::Allocator()->free(text);  // rendered with the tree's allocator
  return rendered;
}

const std::string kDocument =
    "# Deploy\n\n"
    "- [ ] backup taken\n- [x] window announced\n\n"
    "| role | who |\n|------|-----|\n| lead | ana |\n\n"
    "```bash { name=migrate }\nmigrate --to 42\n```\n\n"
    "Some *emphasis* and `code`.\n";

TEST(CmarkArena, TreesParseAndReadAsWithTheHeap) {
  CmarkArena arena;
  cmark_node* in_arena = Parse(kDocument, arena);

  cmark_parser* parser = cmark_parser_new(CMARK_OPT_SOURCEPOS);
  for (const char* name : {"tasklist", "table"})
    cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension(name));
  cmark_parser_feed(parser, kDocument.data(), kDocument.size());
  cmark_node* on_heap = cmark_parser_finish(parser);
  cmark_parser_free(parser);
  char* expected = cmark_render_commonmark(on_heap, 0, 0);

  EXPECT_EQ(Render(in_arena, arena), expected);
  free(expected);
  cmark_node_free(on_heap);
}

TEST(CmarkArena, ResetKeepsBlocksForTheNextTree) {
  CmarkArena arena;
  std::string large;
  for (int i = 0; i < 2000; ++i)
    large += "## Step " + std::to_string(i) + "\n\nSome prose with **bold** text.\n\n";
  Parse(large, arena);
  size_t reserved = arena.reserved_bytes();
  EXPECT_GT(reserved, 0u);
  for (int round = 0; round < 3; ++round) {
    arena.Reset();
    cmark_node* document = Parse(large, arena);
    ASSERT_NE(cmark_node_first_child(document), nullptr);
    EXPECT_EQ(arena.reserved_bytes(), reserved) << "round " << round;
  }
}

TEST(CmarkArena, AHugeCodeBlockGrowsInItsOwnBlock) {
  CmarkArena arena;
  std::string body;
  for (int i = 0; i < 50'000; ++i)
    body += "echo line " + std::to_string(i) + "\n";
  cmark_node* document = Parse("```bash\n" + body + "```\n", arena);
  CmarkArena::Use use(arena);
  cmark_node* block = cmark_node_first_child(document);
  ASSERT_EQ(cmark_node_get_type(block), CMARK_NODE_CODE_BLOCK);
  EXPECT_EQ(cmark_node_get_literal(block), body);
}

TEST(CmarkArena, AllocationsKeepTheirContentsWhenGrown) {
  cmark_mem* mem = CmarkArena::Allocator();
  CmarkArena arena;
  CmarkArena::Use use(arena);
  auto* first = static_cast<char*>(mem->calloc(4, 8));
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(first[i], 0);
  std::memcpy(first, "grow me", 8);
  auto* other = static_cast<char*>(mem->calloc(1, 16));  // first is no longer the latest
  std::memcpy(other, "other", 6);
  char* grown = static_cast<char*>(mem->realloc(first, 100'000));  // past the oversized limit
  EXPECT_STREQ(grown, "grow me");
  grown = static_cast<char*>(mem->realloc(grown, 400'000));
  EXPECT_STREQ(grown, "grow me");
  EXPECT_STREQ(other, "other");
  mem->free(grown);
  mem->free(other);
}

TEST(CmarkArena, WithoutACurrentArenaMemoryComesFromTheHeap) {
  cmark_mem* mem = CmarkArena::Allocator();
  auto* text = static_cast<char*>(mem->calloc(1, 8));
  std::memcpy(text, "heap", 5);
  text = static_cast<char*>(mem->realloc(text, 1 << 20));
  EXPECT_STREQ(text, "heap");
  mem->free(text);  // a leak or a bad free here shows up under the sanitizers

  // An arena allocation grown after its arena stopped being current moves to the heap.
  CmarkArena arena;
  char* moved = nullptr;
  {
    CmarkArena::Use use(arena);
    moved = static_cast<char*>(mem->calloc(1, 8));
    std::memcpy(moved, "arena", 6);
  }
  moved = static_cast<char*>(mem->realloc(moved, 64));
  EXPECT_STREQ(moved, "arena");
  mem->free(moved);
}

}  // namespace
}  // namespace stagecraft::runbook
