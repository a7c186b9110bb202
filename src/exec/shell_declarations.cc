#include "exec/shell_declarations.h"

#include <set>

#include "base/text.h"

namespace stagecraft::exec {

std::vector<ShellDeclaration> ParseDeclarations(std::string_view output) {
  std::vector<ShellDeclaration> declarations;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t start = pos;
    enum class Quote { kNone, kDouble, kSingle, kAnsi } quote = Quote::kNone;
    for (; pos < output.size(); ++pos) {
      char c = output[pos];
      if (quote == Quote::kNone) {
        if (c == '\n') break;
        if (c == '"') quote = Quote::kDouble;
        if (c == '\'') quote = (pos > 0 && output[pos - 1] == '$') ? Quote::kAnsi : Quote::kSingle;
        if (c == '\\') ++pos;
      } else if (quote == Quote::kSingle) {
        if (c == '\'') quote = Quote::kNone;
      } else {
        if (c == '\\') {
          ++pos;
        } else if ((quote == Quote::kDouble && c == '"') || (quote == Quote::kAnsi && c == '\'')) {
          quote = Quote::kNone;
        }
      }
    }
    std::string_view statement = output.substr(start, std::min(pos, output.size()) - start);
    ++pos;
    if (!StartsWith(statement, "declare ")) continue;
    ShellDeclaration declaration;
    declaration.text = std::string(statement);
    size_t flags_end = statement.find(' ', 8);
    if (flags_end == std::string_view::npos) continue;
    declaration.flags = std::string(statement.substr(8, flags_end - 8));
    size_t name_end = statement.find('=', flags_end + 1);
    declaration.name = std::string(statement.substr(
        flags_end + 1,
        (name_end == std::string_view::npos ? statement.size() : name_end) - flags_end - 1));
    declarations.push_back(std::move(declaration));
  }
  return declarations;
}

bool IsSessionLocal(const ShellDeclaration& declaration) {
  static const std::set<std::string> session_local = {
      "BASHOPTS", "BASHPID",      "EUID",       "PPID",          "SHELLOPTS",       "UID",
      "GROUPS",   "FUNCNAME",     "PIPESTATUS", "RANDOM",        "SRANDOM",         "LINENO",
      "SECONDS",  "HISTCMD",      "DIRSTACK",   "OPTIND",        "OPTARG",          "OPTERR",
      "_",        "COLUMNS",      "LINES",      "EPOCHREALTIME", "EPOCHSECONDS",    "PWD",
      "OLDPWD",   "SHLVL",        "HOSTNAME",   "HOSTTYPE",      "MACHTYPE",        "OSTYPE",
      "PS1",      "PS2",          "PS4",        "IFS",           "COMP_WORDBREAKS", "MAILCHECK",
      "HISTFILE", "HISTFILESIZE", "HISTSIZE"};
  const std::string& name = declaration.name;
  if (declaration.flags.find('r') != std::string::npos) return true;
  if (StartsWith(name, "BASH") || StartsWith(name, "__SC_") || StartsWith(name, "__sc_"))
    return true;
  return session_local.count(name) > 0;
}

std::string DeclaredValue(const ShellDeclaration& declaration) {
  std::string_view text = declaration.text;
  size_t equals = text.find('=', 8 + declaration.flags.size());
  if (equals == std::string_view::npos) return "";
  std::string_view raw = text.substr(equals + 1);
  std::string value;
  if (StartsWith(raw, "\"") && raw.size() >= 2) {
    raw = raw.substr(1, raw.size() - 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() &&
          std::string_view("\"\\$`").find(raw[i + 1]) != std::string_view::npos)
        ++i;
      value.push_back(raw[i]);
    }
  } else if (StartsWith(raw, "$'") && raw.size() >= 3) {
    raw = raw.substr(2, raw.size() - 3);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\' || i + 1 >= raw.size()) {
        value.push_back(raw[i]);
        continue;
      }
      char next = raw[++i];
      switch (next) {
        case 'n':
          value.push_back('\n');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 'e':
        case 'E':
          value.push_back('\x1b');
          break;
        default:
          value.push_back(next);
      }
    }
  } else if (StartsWith(raw, "'") && raw.size() >= 2) {
    value = std::string(raw.substr(1, raw.size() - 2));
  } else if (!StartsWith(raw, "(")) {
    value = std::string(raw);
  }
  return value;
}

std::string ExportStatement(std::string_view name, std::string_view value) {
  std::string statement = "declare -x " + std::string(name) + "='";
  for (char c : value) {
    if (c == '\'')
      statement += "'\\''";
    else
      statement.push_back(c);
  }
  statement += "'";
  return statement;
}

}  // namespace stagecraft::exec
