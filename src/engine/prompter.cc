#include "engine/prompter.h"

#include <fmt/format.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
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

PromptReply TerminalPrompter::AskOrStop(std::string_view question,
                                        const std::function<bool()>& stop_requested, Millis slice) {
  PromptReply reply;
  if (!available_) return reply;
  std::unique_ptr<FILE, int (*)(FILE*)> tty(std::fopen("/dev/tty", "r+"), &std::fclose);
  if (!tty) return reply;
  fmt::print(tty.get(), "{}", TerminalSafe(question));
  std::fflush(tty.get());
  // read() on the descriptor, not stdio: a buffered FILE could hold typed bytes that poll()
  // no longer reports. In canonical mode a read returns at most the line typed so far.
  int fd = fileno(tty.get());
  std::string answer;
  for (;;) {
    if (stop_requested()) {
      // Whatever comes next starts on a line of its own, not after the question.
      fmt::print(tty.get(), "\n");
      std::fflush(tty.get());
      reply.stopped = true;
      return reply;
    }
    pollfd watched{fd, POLLIN, 0};
    int ready = poll(&watched, 1, static_cast<int>(slice.count()));
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    char buffer[256];
    ssize_t n = ready < 0 ? -1 : read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    if (size_t end = answer.find('\n'); end != std::string::npos) {
      answer.resize(end);
      reply.answer = answer;
      return reply;
    }
  }
  if (!answer.empty()) reply.answer = answer;
  return reply;
}

}  // namespace stagecraft::engine
