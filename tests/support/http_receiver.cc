#include "support/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace stagecraft::testing {
namespace {

int Listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 16) != 0)
    throw std::runtime_error("bind");
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

std::string Header(const std::string& head, const std::string& name) {
  size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string::npos) {
    at += 2;
    size_t colon = head.find(':', at);
    size_t end = head.find("\r\n", at);
    if (colon == std::string::npos || (end != std::string::npos && colon > end)) continue;
    std::string key = head.substr(at, colon - at);
    for (char& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key != name) continue;
    std::string value = head.substr(colon + 1, end - colon - 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    return value;
  }
  return "";
}

}  // namespace

HttpReceiver::HttpReceiver(std::deque<int> statuses, bool silent)
    : silent_(silent), statuses_(std::move(statuses)) {
  listener_ = Listen(&port_);
  thread_ = std::thread([this] { Serve(); });
}

HttpReceiver::~HttpReceiver() {
  stop_ = true;
  thread_.join();
  for (int fd : held_)
    close(fd);
  close(listener_);
}

std::string HttpReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void HttpReceiver::Serve() {
  while (!stop_) {
    pollfd poll_fd{listener_, POLLIN, 0};
    if (poll(&poll_fd, 1, 50) <= 0) continue;
    int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    if (silent_) {
      std::lock_guard<std::mutex> lock(mu_);
      held_.push_back(fd);
      continue;
    }
    Handle(fd);
    close(fd);
  }
}

void HttpReceiver::Handle(int fd) {
  std::string data;
  char buffer[4096];
  size_t head_end = std::string::npos;
  size_t length = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos)
        length = std::strtoul(Header(data.substr(0, head_end + 2), "content-length").c_str(),
                              nullptr, 10);
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 5000) <= 0) return;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    data.append(buffer, static_cast<size_t>(n));
  }
  ReceivedRequest request;
  std::string head = data.substr(0, head_end + 2);
  std::string line = head.substr(0, head.find("\r\n"));
  request.method = line.substr(0, line.find(' '));
  size_t path_begin = line.find(' ') + 1;
  request.path = line.substr(path_begin, line.find(' ', path_begin) - path_begin);
  request.content_type = Header(head, "content-type");
  request.body = data.substr(head_end + 4, length);
  int status = 200;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!statuses_.empty()) {
      status = statuses_.front();
      statuses_.pop_front();
    }
    requests_.push_back(std::move(request));
  }
  std::string answer = "HTTP/1.1 " + std::to_string(status) +
                       " Scripted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  (void)!write(fd, answer.data(), answer.size());
}

int UnusedPort() {
  int port = 0;
  int fd = Listen(&port);
  close(fd);
  return port;
}

}  // namespace stagecraft::testing
