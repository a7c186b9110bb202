#pragma once

// The real Transport: webhooks are POSTed with libcurl (http and https only, no redirects,
// TLS certificates verified), commands run with /bin/sh through exec::RunProcess, the
// payload on their stdin. Safe to use from one thread at a time.

#include "notify/notifier.h"

namespace stagecraft::notify {

class CurlTransport final : public Transport {
 public:
  AttemptResult Post(const std::string& url, const std::string& json, Millis timeout) override;
  AttemptResult RunCommand(const std::string& command, const std::string& json,
                           const std::vector<std::string>& env, Millis timeout) override;
};

}  // namespace stagecraft::notify
