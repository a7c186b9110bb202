#include "runbook/front_matter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "base/text.h"

namespace stagecraft::runbook {

const char* NotifyEventName(NotifyEvent event) {
  switch (event) {
    case NotifyEvent::kStarted:
      return "started";
    case NotifyEvent::kWaiting:
      return "waiting";
    case NotifyEvent::kFailed:
      return "failed";
    case NotifyEvent::kRolledBack:
      return "rolled_back";
    case NotifyEvent::kSucceeded:
      return "succeeded";
  }
  return "";
}

FrontMatterSplit SplitFrontMatter(std::string_view source) {
  FrontMatterSplit split;
  auto first_end = source.find('\n');
  std::string_view first =
      TrimView(source.substr(0, first_end == std::string_view::npos ? source.size() : first_end));
  if (first != "---" || first_end == std::string_view::npos) return split;
  split.present = true;
  split.yaml_first_line = 2;
  size_t pos = first_end + 1;
  int line = 2;
  while (pos <= source.size()) {
    size_t end = source.find('\n', pos);
    std::string_view text =
        source.substr(pos, (end == std::string_view::npos ? source.size() : end) - pos);
    std::string_view trimmed = TrimView(text);
    if (trimmed == "---" || trimmed == "...") {
      split.terminated = true;
      split.end_line = line;
      split.yaml = std::string(source.substr(first_end + 1, pos - (first_end + 1)));
      split.body_offset = end == std::string_view::npos ? source.size() : end + 1;
      return split;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
    ++line;
  }
  return split;
}

namespace {

struct Reader {
  int first_line;
  Diagnostics& diagnostics;

  SourcePos At(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {first_line, 1};
    return {first_line + mark.line, mark.column + 1};
  }
  void Error(const YAML::Node& node, std::string message, std::string hint = {}) const {
    diagnostics.push_back({Severity::kError, At(node), std::move(message), std::move(hint)});
  }
  void Warning(const YAML::Node& node, std::string message, std::string hint = {}) const {
    diagnostics.push_back({Severity::kWarning, At(node), std::move(message), std::move(hint)});
  }

  bool Scalar(const YAML::Node& node, const std::string& what, std::string& out) const {
    if (!node.IsScalar()) {
      Error(node, fmt::format("{} must be a single value", what));
      return false;
    }
    out = node.Scalar();
    return true;
  }

  // `approvers: {release-lead: [alice, bob], db-owner: carol}`.
  // An account may be written `${NAME}`, read from the environment, so that a one-person
  // staging runbook can name whoever runs it (`${USER}`, which falls back to the account
  // running stagecraft).
  void AddAccount(const YAML::Node& node, ApproverRole& role) const {
    std::string account = node.Scalar();
    if (account.size() > 3 && account.starts_with("${") && account.ends_with("}")) {
      std::string name = account.substr(2, account.size() - 3);
      const char* value = std::getenv(name.c_str());
      if (value && *value) {
        account = value;
      } else if (name == "USER") {
        const passwd* entry = getpwuid(geteuid());
        account = entry ? entry->pw_name : "";
      } else {
        Error(node, fmt::format("account {} of role '{}' is not set in the environment", account,
                                role.role));
        return;
      }
    }
    role.accounts.push_back(account);
  }

  void Approvers(const YAML::Node& node, std::vector<ApproverRole>& out) const {
    if (!node.IsMap()) {
      Error(node, "approvers must be a mapping of role: [account, ...]",
            "e.g. 'approvers: {db-owner: [carol]}'");
      return;
    }
    for (const auto& entry : node) {
      ApproverRole role;
      role.role = entry.first.Scalar();
      role.pos = At(entry.first);
      const YAML::Node& accounts = entry.second;
      if (accounts.IsScalar()) {
        AddAccount(accounts, role);
      } else if (accounts.IsSequence()) {
        for (const auto& account : accounts) {
          if (account.IsScalar())
            AddAccount(account, role);
          else
            Error(account, fmt::format("an account of role '{}' must be a name", role.role));
        }
      }
      if (role.accounts.empty())
        Error(entry.first, fmt::format("role '{}' lists no account", role.role),
              fmt::format("e.g. '{}: [alice]'", role.role));
      out.push_back(std::move(role));
    }
  }

  void Vars(const YAML::Node& node, const std::string& what,
            std::map<std::string, std::string>& out) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Error(node, fmt::format("{} must be a mapping of NAME: value", what));
      return;
    }
    for (const auto& entry : node) {
      std::string name = entry.first.Scalar();
      if (!IsShellIdentifier(name)) {
        Error(entry.first, fmt::format("'{}' in {} is not a valid variable name", name, what));
        continue;
      }
      std::string value;
      if (Scalar(entry.second, fmt::format("{}.{}", what, name), value)) out[name] = value;
    }
  }

  void Secrets(const YAML::Node& node, std::vector<SecretSpec>& out) const {
    if (!node.IsMap()) {
      Error(node, "secrets must be a mapping of NAME: { env | file | command: ... }");
      return;
    }
    for (const auto& entry : node) {
      SecretSpec secret;
      secret.name = entry.first.Scalar();
      secret.pos = At(entry.first);
      if (!IsShellIdentifier(secret.name)) {
        Error(entry.first, fmt::format("secret '{}' is not a valid variable name", secret.name));
        continue;
      }
      const YAML::Node& source = entry.second;
      if (!source.IsMap() || source.size() != 1) {
        Error(source.IsNull() ? entry.first : source,
              fmt::format("secret {} needs exactly one source: env, file or command", secret.name),
              "e.g. DB_PASSWORD: { env: CI_DB_PASSWORD }");
        continue;
      }
      auto kind = source.begin()->first.Scalar();
      if (kind == "env")
        secret.source = SecretSource::kEnv;
      else if (kind == "file")
        secret.source = SecretSource::kFile;
      else if (kind == "command")
        secret.source = SecretSource::kCommand;
      else {
        Error(source.begin()->first,
              fmt::format("unknown secret source '{}' (expected env, file or command)", kind));
        continue;
      }
      if (Scalar(source.begin()->second, "secret source", secret.value)) out.push_back(secret);
    }
  }

  void Inputs(const YAML::Node& node, std::vector<InputSpec>& out) const {
    if (!node.IsMap()) {
      Error(node, "inputs must be a mapping of NAME: { description | default | command: ... }");
      return;
    }
    for (const auto& entry : node) {
      InputSpec input;
      input.name = entry.first.Scalar();
      input.pos = At(entry.first);
      if (!IsShellIdentifier(input.name)) {
        Error(entry.first, fmt::format("input '{}' is not a valid variable name", input.name),
              "input names are letters, digits and '_', not starting with a digit");
        continue;
      }
      const YAML::Node& body = entry.second;
      if (!body.IsNull() && !body.IsMap()) {
        Error(
            body,
            fmt::format("input {} must be a mapping of description, default, command", input.name),
            "e.g. REVISION: { default: \"42\" }");
        continue;
      }
      bool ok = true;
      if (body.IsMap()) {
        for (const auto& field : body) {
          std::string key = field.first.Scalar();
          std::string value;
          std::string what = fmt::format("inputs.{}.{}", input.name, key);
          if (key == "description") {
            if (Scalar(field.second, what, value)) input.description = value;
          } else if (key == "default") {
            if (Scalar(field.second, what, value)) input.default_value = value;
          } else if (key == "command") {
            if (Scalar(field.second, what, value)) input.command = value;
          } else {
            auto suggestion = ClosestMatch(key, {"description", "default", "command"});
            Warning(field.first, suggestion
                                     ? fmt::format("unknown input key '{}'; did you mean '{}'?",
                                                   key, *suggestion)
                                     : fmt::format("unknown input key '{}'", key));
          }
        }
        if (input.default_value && input.command) {
          Error(entry.first,
                fmt::format("input {} has both a default and a command; give one", input.name));
          ok = false;
        }
      }
      if (ok) out.push_back(input);
    }
  }

  void Requires(const YAML::Node& node, std::vector<Requirement>& out) const {
    if (!node.IsSequence()) {
      Error(node, "requires must be a list such as [aws >= 2.0, terraform >= 1.0]");
      return;
    }
    for (const auto& item : node) {
      std::string text;
      if (!Scalar(item, "each requirement", text)) continue;
      Requirement requirement;
      requirement.pos = At(item);
      std::string_view rest = TrimView(text);
      size_t space = rest.find_first_of(" <>=");
      requirement.tool = std::string(rest.substr(0, space));
      if (space != std::string_view::npos) {
        rest = TrimView(rest.substr(space));
        size_t op_length = 0;
        while (op_length < rest.size() &&
               std::string_view("<>=").find(rest[op_length]) != std::string_view::npos)
          ++op_length;
        requirement.op = std::string(rest.substr(0, op_length));
        if (requirement.op == "==") requirement.op = "=";
        requirement.version = Trim(rest.substr(op_length));
        static const std::vector<std::string> ops = {">=", ">", "=", "<=", "<"};
        if (std::find(ops.begin(), ops.end(), requirement.op) == ops.end() ||
            requirement.version.empty()) {
          Error(item, fmt::format("cannot read requirement '{}'", text),
                "write TOOL, or TOOL OP VERSION with OP one of >= > = <= <, e.g. 'aws >= 2.0'");
          continue;
        }
      }
      out.push_back(requirement);
    }
  }

  void Environments(const YAML::Node& node, std::vector<Environment>& out) const {
    if (!node.IsMap()) {
      Error(node, "environments must be a mapping of NAME: { vars: ..., protected: ... }");
      return;
    }
    for (const auto& entry : node) {
      Environment environment;
      environment.name = entry.first.Scalar();
      environment.pos = At(entry.first);
      const YAML::Node& body = entry.second;
      if (!body.IsNull() && !body.IsMap()) {
        Error(body, fmt::format("environment {} must be a mapping", environment.name));
        continue;
      }
      if (body.IsMap()) {
        for (const auto& field : body) {
          std::string key = field.first.Scalar();
          if (key == "vars") {
            Vars(field.second, fmt::format("environments.{}.vars", environment.name),
                 environment.vars);
          } else if (key == "protected") {
            std::string value;
            if (Scalar(field.second, "protected", value)) {
              value = ToLower(value);
              environment.is_protected = value == "true" || value == "yes";
              if (!environment.is_protected && value != "false" && value != "no")
                Error(field.second, "protected must be true or false");
            }
          } else {
            auto suggestion = ClosestMatch(key, {"vars", "protected"});
            Warning(field.first,
                    suggestion ? fmt::format("unknown environment key '{}'; did you mean '{}'?",
                                             key, *suggestion)
                               : fmt::format("unknown environment key '{}'", key));
          }
        }
      }
      out.push_back(environment);
    }
  }

  void Notify(const YAML::Node& node, std::vector<NotifyTarget>& out) const {
    static const std::string kExample = "e.g. '- webhook: https://hooks.example.com/deploy'";
    if (!node.IsSequence()) {
      Error(node, "notify must be a list of targets (webhook, slack or command)", kExample);
      return;
    }
    for (const auto& entry : node) {
      if (!entry.IsMap()) {
        Error(entry, "each notify target must be a mapping with one of webhook, slack or command",
              kExample);
        continue;
      }
      NotifyTarget target;
      target.pos = At(entry);
      int kinds = 0;
      bool ok = true;
      for (const auto& field : entry) {
        std::string key = field.first.Scalar();
        std::optional<NotifyKind> kind;
        if (key == "webhook") kind = NotifyKind::kWebhook;
        if (key == "slack") kind = NotifyKind::kSlack;
        if (key == "command") kind = NotifyKind::kCommand;
        if (kind) {
          ++kinds;
          target.kind = *kind;
          if (field.second.IsNull()) {
            Error(field.first, fmt::format("notify {} needs a value", key), kExample);
            ok = false;
            continue;
          }
          ok = Scalar(field.second, fmt::format("notify {}", key), target.value) && ok;
          if (ok && Trim(target.value).empty()) {
            Error(field.second, fmt::format("notify {} is empty", key));
            ok = false;
          } else if (ok && *kind != NotifyKind::kCommand) {
            ok = Url(field.second, target.value) && ok;
          }
        } else if (key == "events") {
          ok = Events(field.second, target.events) && ok;
        } else {
          auto suggestion = ClosestMatch(key, {"webhook", "slack", "command", "events"});
          Error(field.first,
                suggestion
                    ? fmt::format("unknown notify key '{}'; did you mean '{}'?", key, *suggestion)
                    : fmt::format("unknown notify key '{}' (expected webhook, slack, command or "
                                  "events)",
                                  key));
          ok = false;
        }
      }
      if (kinds != 1) {
        Error(entry, "a notify target needs exactly one of webhook, slack or command", kExample);
        ok = false;
      }
      if (ok) out.push_back(std::move(target));
    }
  }

  // The URL itself is never part of a message: it may hold a token.
  bool Url(const YAML::Node& node, const std::string& url) const {
    // A reference is checked once it is expanded, when a notification is sent.
    if (url.front() == '$') return true;
    size_t colon = url.find("://");
    std::string scheme = ToLower(url.substr(0, colon == std::string::npos ? 0 : colon));
    if (scheme == "http" || scheme == "https") return true;
    if (scheme.empty())
      Error(node, "notify URL has no scheme (expected http:// or https://)");
    else
      Error(node, fmt::format("unsupported URL scheme '{}' in notify (expected http or https)",
                              TerminalSafe(scheme)));
    return false;
  }

  bool Events(const YAML::Node& node, unsigned& out) const {
    static const std::string kHint = "e.g. 'events: [waiting, failed, rolled_back]'";
    if (!node.IsSequence() || node.size() == 0) {
      Error(node, "notify events must be a non-empty list of event names", kHint);
      return false;
    }
    std::vector<std::string> names;
    for (NotifyEvent event : kNotifyEvents)
      names.push_back(NotifyEventName(event));
    out = 0;
    bool ok = true;
    for (const auto& item : node) {
      std::string name;
      if (!Scalar(item, "a notify event", name)) {
        ok = false;
        continue;
      }
      auto found = std::find(names.begin(), names.end(), name);
      if (found != names.end()) {
        out |= 1u << (found - names.begin());
        continue;
      }
      auto suggestion = ClosestMatch(name, names);
      Error(item,
            suggestion ? fmt::format("unknown notify event '{}'; did you mean '{}'?",
                                     TerminalSafe(name), *suggestion)
                       : fmt::format("unknown notify event '{}' (expected {})", TerminalSafe(name),
                                     fmt::join(names, ", ")),
            kHint);
      ok = false;
    }
    return ok;
  }
};

const std::vector<std::string>& KnownKeys() {
  static const std::vector<std::string> keys = {"title",        "vars",
                                                "secrets",      "requires",
                                                "environments", "inputs",
                                                "shell",        "lock",
                                                "on_failure",   "root",
                                                "cwd",          "skipPrompts",
                                                "approvers",    "allow_self_approval",
                                                "notify",       "state"};
  return keys;
}

}  // namespace

void ParseFrontMatter(const FrontMatterSplit& split, FrontMatter& out, Diagnostics& diagnostics) {
  if (!split.present) return;
  out.present = true;
  out.end_line = split.end_line;
  if (!split.terminated) {
    diagnostics.push_back({Severity::kError,
                           {1, 1},
                           "front matter is never closed",
                           "end the YAML block with a line holding only '---'"});
    return;
  }
  Reader reader{split.yaml_first_line, diagnostics};
  YAML::Node root;
  try {
    root = YAML::Load(split.yaml);
  } catch (const YAML::ParserException& error) {
    diagnostics.push_back({Severity::kError,
                           {split.yaml_first_line + error.mark.line, error.mark.column + 1},
                           fmt::format("front matter is not valid YAML: {}", error.msg),
                           ""});
    return;
  } catch (const YAML::Exception& error) {
    diagnostics.push_back({Severity::kError,
                           {split.yaml_first_line, 1},
                           fmt::format("front matter is not valid YAML: {}", error.msg),
                           ""});
    return;
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    diagnostics.push_back({Severity::kError,
                           {split.yaml_first_line, 1},
                           "front matter must be a YAML mapping (key: value lines)",
                           "e.g. 'title: Staging rollout'"});
    return;
  }
  try {
    bool root_defined = false;
    for (const auto& entry : root) {
      std::string key = entry.first.Scalar();
      const YAML::Node& value = entry.second;
      if (key == "title") {
        reader.Scalar(value, "title", out.title);
      } else if (key == "vars") {
        reader.Vars(value, "vars", out.vars);
      } else if (key == "secrets") {
        reader.Secrets(value, out.secrets);
      } else if (key == "requires") {
        reader.Requires(value, out.requires_tools);
      } else if (key == "environments") {
        reader.Environments(value, out.environments);
      } else if (key == "shell") {
        std::string shell;
        if (reader.Scalar(value, "shell", shell)) {
          // The shell is run by name; anything but a plain program name or path is a mistake.
          if (shell.empty() ||
              shell.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789._/+-") != std::string::npos)
            reader.Error(value, fmt::format("shell '{}' is not a program name", shell),
                         "e.g. 'shell: bash' or 'shell: /usr/bin/zsh'");
          else
            out.shell = shell;
        }
      } else if (key == "inputs") {
        reader.Inputs(value, out.inputs);
      } else if (key == "skipPrompts") {
        std::string flag;
        if (reader.Scalar(value, "skipPrompts", flag)) {
          flag = ToLower(flag);
          out.skip_prompts = flag == "true" || flag == "yes";
          if (!out.skip_prompts && flag != "false" && flag != "no")
            reader.Error(value, "skipPrompts must be true or false");
        }
      } else if (key == "runme" || key == "category" || key == "terminalRows") {
        // Runme's notebook identity and display settings: nothing else here to run or show.
        out.runme_notebook = out.runme_notebook || key == "runme";
      } else if (key == "lock") {
        std::string lock;
        if (reader.Scalar(value, "lock", lock)) out.lock = lock;
      } else if (key == "state") {
        std::string state;
        if (reader.Scalar(value, "state", state)) {
          if (state.empty())
            reader.Error(value, "state must name a directory");
          else
            out.state = state;
        }
      } else if (key == "notify") {
        reader.Notify(value, out.notify);
      } else if (key == "root" || key == "cwd") {
        // Runme's `cwd` means what `root` does: where blocks start, from the runbook's folder.
        std::string root_dir;
        if (out.root && root_defined)
          reader.Error(entry.first, "give root or cwd, not both");
        else if (reader.Scalar(value, key, root_dir))
          out.root = root_dir;
        root_defined = true;
      } else if (key == "approvers") {
        reader.Approvers(value, out.approvers);
      } else if (key == "allow_self_approval") {
        std::string allow;
        if (reader.Scalar(value, "allow_self_approval", allow)) {
          if (allow != "true" && allow != "false")
            reader.Error(value, "allow_self_approval must be true or false");
          else
            out.allow_self_approval = allow == "true";
        }
      } else if (key == "on_failure") {
        std::string mode;
        if (reader.Scalar(value, "on_failure", mode)) {
          if (mode != "rollback" && mode != "stop" && mode != "ask")
            reader.Error(
                value,
                fmt::format("invalid on_failure '{}' (expected rollback, stop or ask)", mode));
          else
            out.on_failure = mode;
        }
      } else {
        auto suggestion = ClosestMatch(key, KnownKeys());
        reader.Warning(entry.first,
                       suggestion ? fmt::format("unknown front matter key '{}'; did you mean '{}'?",
                                                key, *suggestion)
                                  : fmt::format("unknown front matter key '{}'", key));
      }
    }
  } catch (const YAML::Exception& error) {
    // yaml-cpp throws on type conversions we did not anticipate; report, never crash.
    diagnostics.push_back({Severity::kError,
                           {split.yaml_first_line + std::max(0, error.mark.line), 1},
                           fmt::format("front matter: {}", error.msg),
                           ""});
  }
}

}  // namespace stagecraft::runbook
