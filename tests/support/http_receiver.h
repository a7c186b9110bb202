#pragma once

// A small HTTP server on 127.0.0.1 for the notification tests: it accepts POSTs on a port
// of its own, answers each with the next scripted status (200 once the script runs out), or
// holds every connection open without a word, and keeps what it received. One thread
// serves; the accessors may be called from any thread.

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stagecraft::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
};

class HttpReceiver {
 public:
  // `statuses`: the answers to the first requests, in order. `silent`: never answer.
  explicit HttpReceiver(std::deque<int> statuses = {}, bool silent = false);
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string Url(const std::string& path) const;
  std::vector<ReceivedRequest> requests() const;
  // Connections accepted so far (a silent receiver reads no request from them).
  int connections() const { return connections_; }

 private:
  void Serve();
  void Handle(int fd);

  int listener_ = -1;
  int port_ = 0;
  bool silent_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<ReceivedRequest> requests_;
  std::vector<int> held_;  // connections a silent receiver keeps open
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (it was bound, then released).
int UnusedPort();

}  // namespace stagecraft::testing
