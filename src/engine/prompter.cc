#include "engine/prompter.h"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "base/text.h"

namespace stagecraft::engine {

TerminalPrompter::TerminalPrompter() : available_(isatty(STDIN_FILENO) == 1) {}

std::optional<std::string> TerminalPrompter::Ask(std::string_view question) {
  if (!available_) return std::nullopt;
  std::unique_ptr<FILE, int (*)(FILE*)> tty(std::fopen("/dev/tty", "r+"), &std::fclose);
  if (!tty) return std::nullopt;
  fmt::print(tty.get(), "{}", TerminalSafe(question));
  std::fflush(tty.get());
  std::string answer;
  int c = 0;
  while ((c = std::fgetc(tty.get())) != EOF && c != '\n')
    answer.push_back(static_cast<char>(c));
  if (c == EOF && answer.empty()) return std::nullopt;
  return answer;
}

std::optional<std::string> TerminalPrompter::AskHidden(std::string_view question) {
  if (!available_) return std::nullopt;
  int fd = STDIN_FILENO;
  termios shown{};
  if (tcgetattr(fd, &shown) != 0) return Ask(question);
  termios hidden = shown;
  hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(fd, TCSAFLUSH, &hidden);
  std::optional<std::string> answer = Ask(question);
  tcsetattr(fd, TCSAFLUSH, &shown);
  // The operator's Enter was not echoed either.
  fmt::print(stderr, "\n");
  return answer;
}

}  // namespace stagecraft::engine
