#include "engine/console.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace stagecraft::engine {
namespace {

// Runs `body` against a console writing into memory and returns what it wrote.
template <typename Body>
std::string Capture(ConsoleOptions options, Body body) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  {
    Console console(out, options);
    body(console);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

ConsoleOptions Live() {
  ConsoleOptions options;
  options.live_status = true;
  options.tick = std::chrono::milliseconds(0);
  options.width = 40;
  return options;
}

TEST(Console, PlainOutputHasNoControlCharacters) {
  std::string text = Capture({}, [](Console& console) {
    console.SetStatus({1, 2, "migrate", "Database", std::chrono::minutes(5), 1});
    console.Info("running");
    console.output().OnOutput(Stream::kStdout, "line\n");
    console.ClearStatus();
  });
  EXPECT_EQ(text, "   running\n  | line\n");
}

TEST(Console, StatusLineIsLiftedForEachLineAndRedrawnBelow) {
  std::string text = Capture(Live(), [](Console& console) {
    console.SetStatus({3, 12, "migrate", "Database", std::chrono::minutes(5), 1});
    console.Info("running");
    console.ClearStatus();
  });
  std::string status = "\x1b[K> [3/12] Database > migrate  0ms / 5m";
  EXPECT_EQ(text, "\r" + status + "\r\x1b[K   running\n\r" + status + "\r\x1b[K");
}

TEST(Console, StatusLineShowsTheAttemptAndFitsTheWidth) {
  std::string text = Capture(Live(), [](Console& console) {
    console.SetStatus({1, 1, "a-step-with-a-very-long-name-indeed", "", std::nullopt, 1});
    console.SetAttempt(2);
  });
  EXPECT_NE(text.find("\r\x1b[K> [1/1] a-step-with-a-very-long-name-i"), std::string::npos) << text;
  EXPECT_EQ(text.find("attempt"), std::string::npos) << "cut at 39 columns: " << text;
  std::string wide = Capture(Live(), [](Console& console) {
    console.SetStatus({1, 1, "short", "", std::nullopt, 1});
    console.SetAttempt(2);
  });
  EXPECT_NE(wide.find("> [1/1] short  0ms  attempt 2"), std::string::npos) << wide;
}

}  // namespace
}  // namespace stagecraft::engine
