#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "base/text.h"
#include "runbook/lint_commands.h"
#include "runbook/lint_shell.h"
#include "runbook/working_directory.h"

namespace stagecraft::runbook {
namespace {

// One file a command reads or writes, as written.
struct Access {
  const ShellWord* word = nullptr;
  size_t offset = 0;  // where the path starts in the script
  std::string path;
  bool write = false;
};

bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view candidate : words)
    if (word == candidate) return true;
  return false;
}

// Only paths lint can be sure of: literal, relative, no glob, not a device.
std::optional<std::string> LiteralPath(std::string_view path) {
  if (path.empty() || path[0] == '/' || path[0] == '-' || path == "." || path == ".." ||
      EndsWith(path, "/") || path.find("://") != std::string_view::npos)
    return std::nullopt;
  return std::string(path);
}

class Accesses {
 public:
  explicit Accesses(std::vector<Access>& out) : out_(out) {}

  void Add(const ShellWord* word, bool write, size_t skip = 0) {
    if (!word || !word->literal()) return;
    if (auto path = LiteralPath(std::string_view(word->text).substr(skip)))
      out_.push_back({word, word->begin + (word->quoted ? 0 : skip), *path, write});
  }

 private:
  std::vector<Access>& out_;
};

void Redirects(const ShellCommand& command, Accesses& accesses) {
  for (const ShellRedirect& redirect : command.redirects) {
    if (redirect.heredoc || redirect.op == "<<<" || redirect.op == "<&" || redirect.op == ">&")
      continue;
    accesses.Add(&redirect.target, redirect.op != "<");
  }
}

// The words after the program that are not options.
std::vector<const ShellWord*> Operands(const CommandWords& command, size_t from = 1) {
  std::vector<const ShellWord*> operands;
  for (size_t i = from; i < command.words.size(); ++i)
    if (command.at(i).empty() || command.at(i)[0] != '-') operands.push_back(command.words[i]);
  return operands;
}

// `-f FILE`, `--file FILE`, `--file=FILE` and the like, for the options in `names`.
void OptionValues(const CommandWords& command, std::initializer_list<std::string_view> names,
                  bool write, Accesses& accesses) {
  for (size_t i = 1; i < command.words.size(); ++i) {
    std::string_view word = command.at(i);
    for (std::string_view name : names) {
      if (word == name && i + 1 < command.words.size())
        accesses.Add(command.words[i + 1], write);
      else if (StartsWith(word, name) && word.size() > name.size() && word[name.size()] == '=')
        accesses.Add(command.words[i], write, name.size() + 1);
    }
  }
}

void Reads(const CommandWords& command, Accesses& accesses) {
  std::string_view program = command.program();
  std::vector<const ShellWord*> operands = Operands(command);
  if (OneOf(program, {"cat", "source", ".", "head", "tail", "less", "more", "wc", "sort", "uniq",
                      "diff", "cmp", "sha256sum", "md5sum", "base64", "unzip", "bash", "sh"})) {
    for (const ShellWord* operand : operands)
      accesses.Add(operand, false);
    if (OneOf(program, {"bash", "sh"}) && operands.size() > 1) operands.resize(1);
  } else if (OneOf(program, {"grep", "egrep", "fgrep", "jq"}) && !operands.empty()) {
    // The first operand is the pattern or the filter, unless -e/-f gave it.
    bool given = command.Has("-e") || command.Has("-f") || command.HasPrefix("--regexp") ||
                 command.HasPrefix("--from-file");
    for (size_t i = given ? 0 : 1; i < operands.size(); ++i)
      accesses.Add(operands[i], false);
  } else if (OneOf(program, {"cp", "mv", "install", "rsync", "scp"}) && operands.size() >= 2) {
    for (size_t i = 0; i + 1 < operands.size(); ++i)
      accesses.Add(operands[i], false);
  }
  if (OneOf(program, {"psql", "kubectl", "helm", "docker-compose", "make", "oc"}) ||
      (program == "docker" && OneOf(command.subcommand(), {"compose", "build"})))
    OptionValues(command, {"-f", "--file", "--filename", "--values"}, false, accesses);
  if (program == "terraform")
    OptionValues(command, {"-var-file", "--var-file", "-backend-config"}, false, accesses);
  OptionValues(command, {"--env-file", "--from-file", "--from-env-file"}, false, accesses);
  for (size_t i = 1; i < command.words.size(); ++i) {
    std::string_view word = command.at(i);
    for (std::string_view prefix : {"file://", "fileb://", "@"})
      if (StartsWith(word, prefix) && (prefix != "@" || program == "curl"))
        accesses.Add(command.words[i], false, prefix.size());
  }
}

void Writes(const CommandWords& command, Accesses& accesses) {
  std::string_view program = command.program();
  std::vector<const ShellWord*> operands = Operands(command);
  if (program == "tee" || program == "touch") {
    for (const ShellWord* operand : operands)
      accesses.Add(operand, true);
  } else if (OneOf(program, {"cp", "mv", "install"}) && operands.size() >= 2) {
    accesses.Add(operands.back(), true);
  } else if (program == "curl") {
    OptionValues(command, {"-o", "--output"}, true, accesses);
  } else if (program == "wget") {
    OptionValues(command, {"-O", "--output-document"}, true, accesses);
  } else if (program == "terraform") {
    OptionValues(command, {"-out", "--out"}, true, accesses);
  } else if (program == "openssl") {
    OptionValues(command, {"-out"}, true, accesses);
  } else if (program == "aws" && command.at(1) == "s3" && OneOf(command.at(2), {"cp", "mv"}) &&
             operands.size() >= 4) {
    accesses.Add(operands.back(), true);
  } else if (program == "aws" && command.at(1) == "lambda" && command.at(2) == "invoke" &&
             operands.size() >= 4) {
    accesses.Add(operands.back(), true);
  }
}

// One file access, kept without the syntax tree it was found in.
struct Event {
  size_t script = 0;
  size_t command = 0;
  bool write = false;
  bool rollback = false;
  SourcePos pos;
  std::string path;
  std::string key;
};

}  // namespace

struct FileOrder::State {
  WorkingDirectory cwd;
  std::vector<Event> events;
};

FileOrder::FileOrder() : state_(std::make_unique<State>()) {}
FileOrder::~FileOrder() = default;

void FileOrder::Add(size_t index, const LintScript& script, const ShellScript& shell) {
  WorkingDirectory& cwd = state_->cwd;
  std::string block_cwd = cwd.For(script);
  for (size_t c = 0; c < shell.commands.size(); ++c) {
    const ShellCommand& command = shell.commands[c];
    std::vector<Access> found;
    Accesses accesses(found);
    Redirects(command, accesses);
    CommandWords words = Unwrap(command);
    Reads(words, accesses);
    Writes(words, accesses);
    for (Access& access : found) {
      std::string key = NormalPath(script.cwd ? block_cwd : cwd.get(), access.path);
      state_->events.push_back({index, c, access.write, script.rollback,
                                script.PositionOf(access.offset), std::move(access.path),
                                std::move(key)});
    }
    cwd.Apply(command);
  }
}

void FileOrder::Report(Diagnostics& out) const {
  const std::vector<Event>& events = state_->events;
  std::map<std::string, const Event*> first_write;
  for (const Event& event : events)
    if (event.write) first_write.emplace(event.key, &event);
  for (const Event& event : events) {
    if (event.write) continue;
    auto write = first_write.find(event.key);
    if (write == first_write.end()) continue;
    const Event& writer = *write->second;
    // Written by this very command (sort f > f, cp f f.bak) or earlier: not this hazard.
    if (std::tie(writer.script, writer.command) <= std::tie(event.script, event.command)) continue;
    // A rollback runs after the normal flow, whatever its place in the document.
    if (writer.rollback != event.rollback) continue;
    out.push_back({Severity::kWarning, event.pos,
                   fmt::format("'{}' is read here, but only written later, at line {}", event.path,
                               writer.pos.line),
                   "run the block that writes it first, or read the file after it",
                   "read-before-write"});
  }
}

}  // namespace stagecraft::runbook
