#pragma once

// The seam between the engine's decisions and real processes. The engine only ever asks a
// Runner to run a block; tests substitute a scripted fake, so run logic (retries, gates,
// rollback order) is tested without spawning anything.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/output_sink.h"
#include "exec/shell_session.h"
#include "exec/subprocess.h"

namespace stagecraft::engine {

using exec::ProcessOutcome;

class Runner {
 public:
  virtual ~Runner() = default;
  virtual ProcessOutcome Run(const exec::BlockRequest& request) = 0;
  // Makes NAME=value visible to later blocks (captures).
  virtual void SetVariable(const std::string& name, const std::string& value) = 0;
  // Makes a secret visible to later blocks without it ever being stored.
  virtual void SetSecret(const std::string& name, const std::string& value) = 0;
  // Exported variables as the blocks left them, to find secret-looking values to mask.
  virtual std::map<std::string, std::string> ExportedVariables() const = 0;
  virtual std::string cwd() const = 0;
  // Session state a journal may keep for resume (no secrets), and its restoration.
  virtual std::string PersistableState() const { return {}; }
  // Variables PersistableState() leaves out for their secret-looking names.
  virtual std::vector<std::string> WithheldVariables() const { return {}; }
  virtual void RestoreState(const std::string& /*state*/, const std::string& /*cwd*/) {}
};

// Runs blocks for real through an exec::ShellSession.
class SessionRunner : public Runner {
 public:
  explicit SessionRunner(exec::ShellSessionOptions options) : session_(std::move(options)) {}
  ProcessOutcome Run(const exec::BlockRequest& request) override { return session_.Run(request); }
  void SetVariable(const std::string& name, const std::string& value) override {
    session_.SetVariable(name, value);
  }
  void SetSecret(const std::string& name, const std::string& value) override {
    session_.SetSecret(name, value);
  }
  std::map<std::string, std::string> ExportedVariables() const override {
    return session_.ExportedVariables();
  }
  std::string cwd() const override { return session_.cwd(); }
  std::string PersistableState() const override { return session_.PersistableState(); }
  std::vector<std::string> WithheldVariables() const override {
    return session_.WithheldVariables();
  }
  void RestoreState(const std::string& state, const std::string& cwd) override {
    session_.RestoreState(state, cwd);
  }

 private:
  exec::ShellSession session_;
};

}  // namespace stagecraft::engine
