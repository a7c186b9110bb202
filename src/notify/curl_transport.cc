#include "notify/curl_transport.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "base/text.h"
#include "exec/subprocess.h"

extern char** environ;

namespace stagecraft::notify {
namespace {

// Where the command finds the payload before the shell makes it its stdin.
constexpr int kPayloadFd = 9;
// What is kept of a failing command's stderr for its error.
constexpr size_t kErrorTail = 300;

size_t Discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

class TailSink final : public exec::OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    if (stream != Stream::kStderr) return;
    tail_.append(bytes);
    if (tail_.size() > kErrorTail) tail_.erase(0, tail_.size() - kErrorTail);
  }
  std::string LastLine() const {
    std::string trimmed = Trim(tail_);
    size_t newline = trimmed.rfind('\n');
    return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
  }

 private:
  std::string tail_;
};

// A file holding `text`, positioned at its start, that no name refers to.
int PayloadFile(const std::string& text) {
  int fd = memfd_create("stagecraft-notification", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    written += static_cast<size_t>(n);
  }
  if (lseek(fd, 0, SEEK_SET) != 0 || fd == kPayloadFd) {
    // RunProcess needs the engine's fd to differ from the child's.
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, kPayloadFd + 1);
    close(fd);
    fd = moved;
    if (fd >= 0) lseek(fd, 0, SEEK_SET);
  }
  return fd;
}

}  // namespace

AttemptResult CurlTransport::Post(const std::string& url, const std::string& json, Millis timeout) {
  AttemptResult result;
  // Here rather than at startup: runs without webhooks never load the TLS library's state.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (!curl) {
    result.error = "cannot start an HTTP request (curl_easy_init failed)";
    return result;
  }
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "stagecraft");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  // Signals are the engine's (Ctrl-C stops the run); curl must not install handlers.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    result.http_status = static_cast<int>(status);
    result.delivered = status >= 200 && status < 300;
    if (!result.delivered) result.error = fmt::format("HTTP {}", status);
  } else {
    result.error = error[0] ? std::string(error) : std::string(curl_easy_strerror(code));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

AttemptResult CurlTransport::RunCommand(const std::string& command, const std::string& json,
                                        const std::vector<std::string>& env, Millis timeout) {
  AttemptResult result;
  int payload = PayloadFile(json);
  if (payload < 0) {
    result.error = fmt::format("cannot hold the payload: {}", std::strerror(errno));
    return result;
  }
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string_view::npos)
      merged[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
  }
  for (const std::string& entry : env) {
    size_t equals = entry.find('=');
    merged[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  exec::SpawnRequest request;
  request.argv = {"/bin/sh", "-c",
                  fmt::format("exec 0<&{} {}<&-\n{}", kPayloadFd, kPayloadFd, command)};
  for (const auto& [name, value] : merged)
    request.env.push_back(name + "=" + value);
  request.extra_fds = {{payload, kPayloadFd}};
  request.timeout = timeout;
  request.kill_grace = Millis(500);
  TailSink sink;
  request.sink = &sink;
  exec::ProcessOutcome outcome = exec::RunProcess(request);
  close(payload);
  if (outcome.success()) {
    result.delivered = true;
    return result;
  }
  using Kind = exec::ProcessOutcome::Kind;
  if (outcome.kind == Kind::kExited)
    result.error = fmt::format("exited with status {}", outcome.exit_code);
  else if (outcome.kind == Kind::kTimedOut)
    result.error = fmt::format("timed out after {}", FormatDuration(timeout));
  else
    result.error = outcome.error.empty() ? "did not run" : outcome.error;
  if (std::string last = sink.LastLine(); !last.empty()) result.error += ": " + last;
  return result;
}

}  // namespace stagecraft::notify
