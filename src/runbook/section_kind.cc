#include "runbook/section_kind.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"

namespace stagecraft::runbook {

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Where `word`, a view into `html`, is in the file, given that `html` starts at `start`.
SourcePos PosWithin(std::string_view html, std::string_view word, SourcePos start) {
  size_t offset = static_cast<size_t>(word.data() - html.data());
  size_t newline = html.rfind('\n', offset);
  if (newline == std::string_view::npos)
    return {start.line, start.column + static_cast<int>(offset)};
  int lines = static_cast<int>(std::count(html.begin(), html.begin() + offset, '\n'));
  return {start.line + lines, static_cast<int>(offset - newline)};
}

}  // namespace

SectionKind ClassifyTitle(std::string_view title) {
  std::string lower = ToLower(title);
  // Whole words only: "references" must not match "Preferences", nor "contacts" "Contactsync".
  // "troubleshoot" is a stem ("Troubleshooting") and may run on.
  auto has = [&](std::string_view word) {
    bool stem = word == "troubleshoot";
    for (size_t at = lower.find(word); at != std::string::npos; at = lower.find(word, at + 1)) {
      size_t end = at + word.size();
      if (at > 0 && IsWordChar(lower[at - 1])) continue;
      if (!stem && end < lower.size() && IsWordChar(lower[end])) continue;
      return true;
    }
    return false;
  };
  if (has("rollback") || has("roll back") || has("roll-back")) return SectionKind::kRollback;
  if (has("troubleshoot") || has("contacts") || has("escalation") || has("references"))
    return SectionKind::kDocumentation;
  // Reports of what already happened, and reference material: read, never run.
  for (std::string_view words :
       {"validation results", "test results", "deployment results", "validation status",
        "lessons learned", "changelog", "change log", "revision history", "document history",
        "appendix", "glossary", "faq"})
    if (has(words)) return SectionKind::kDocumentation;
  std::string_view bare = TrimView(std::string_view(lower).substr(
      std::min(lower.size(), lower.find_first_of("abcdefghijklmnopqrstuvwxyz"))));
  if (bare == "results" || StartsWith(bare, "status:")) return SectionKind::kDocumentation;
  if (has("success criteria")) return SectionKind::kSuccessCriteria;
  // "Approvals" only as the whole title: a step "Collect approvals" runs its blocks.
  if (has("sign-off") || has("sign off") || has("signoff") || TrimView(lower) == "approvals")
    return SectionKind::kSignOff;
  return SectionKind::kNormal;
}

bool IsToDoTitle(std::string_view title) {
  std::string lower = ToLower(title);
  for (std::string_view words : {"completion", "completed", "next steps", "follow-up", "follow up",
                                 "to-do", "todo", "to do", "post-deployment tasks"})
    if (lower.find(words) != std::string::npos) return true;
  return false;
}

bool IsApprovalTitle(std::string_view title) {
  std::string lower = ToLower(title);
  for (std::string_view words :
       {"approval required", "approvals required", "required approval", "approval from",
        "approvals needed", "approval needed", "pre-approval"})
    if (lower.find(words) != std::string::npos) return true;
  return false;
}

namespace {

// The lower-cased title from its first letter on: numbering and emoji before the first word
// ("2. Option B", "🅱️ Option B") are the author's decoration.
std::string_view FromFirstLetter(std::string_view lower) {
  size_t start = 0;
  while (start < lower.size() && !(lower[start] >= 'a' && lower[start] <= 'z'))
    ++start;
  return lower.substr(start);
}

std::string_view FirstWord(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && IsWordChar(text[end]))
    ++end;
  return text.substr(0, end);
}

}  // namespace

bool IsAlternativeTitle(std::string_view title) {
  std::string lower = ToLower(title);
  if (lower.find("(alternative)") != std::string::npos ||
      lower.find("(optional)") != std::string::npos)
    return true;
  std::string_view word = FirstWord(FromFirstLetter(lower));
  return word == "option" || word == "optional" || StartsWith(word, "alternative");
}

bool IsFallbackTitle(std::string_view title) {
  std::string lower = ToLower(title);
  std::string_view text = FromFirstLetter(lower);
  if (FirstWord(text) == "fallback") return true;
  if (!StartsWith(text, "if ")) return false;
  // " fails", not " fail": "If failover is needed" is a condition, not a fallback.
  for (std::string_view words : {" fails", " failed", " fail ", "doesn't work", "does not work",
                                 "didn't work", "did not work", "not working"})
    if (text.find(words) != std::string_view::npos) return true;
  return EndsWith(text, " fail");
}

bool ParseDirective(std::string_view html, SourcePos pos, Directives& out,
                    Diagnostics& diagnostics) {
  std::string_view text = TrimView(html);
  if (!StartsWith(text, "<!--") || !EndsWith(text, "-->")) return false;
  text = TrimView(text.substr(4, text.size() - 7));
  if (!StartsWith(text, "stagecraft:")) return false;
  text = TrimView(text.substr(11));
  static const std::vector<std::string> known = {
      "skip",    "manual",     "rollback", "preflight", "documentation", "name",
      "timeout", "idempotent", "after",    "default",   "lint-ignore",   "role"};
  size_t pos_in_text = 0;
  while (pos_in_text < text.size()) {
    while (pos_in_text < text.size() && (text[pos_in_text] == ' ' || text[pos_in_text] == ','))
      ++pos_in_text;
    // A lint-ignore value lists ids separated by commas.
    bool list = ToLower(text.substr(pos_in_text, 12)) == "lint-ignore=";
    size_t end = text.find_first_of(list ? " " : " ,", pos_in_text);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos_in_text, end - pos_in_text);
    pos_in_text = end;
    if (word.empty()) continue;
    size_t equals = word.find('=');
    std::string key = ToLower(word.substr(0, equals));
    std::string value =
        equals == std::string_view::npos ? "" : std::string(word.substr(equals + 1));
    if (key == "skip") {
      out.skip = true;
    } else if (key == "manual") {
      out.manual = true;
    } else if (key == "rollback") {
      out.kind = SectionKind::kRollback;
    } else if (key == "documentation") {
      out.kind = SectionKind::kDocumentation;
    } else if (key == "preflight") {
      out.preflight = true;
    } else if (key == "idempotent") {
      out.idempotent = true;
    } else if (key == "after" && !value.empty()) {
      out.after.push_back(value);
      out.after_pos.push_back(PosWithin(html, word.substr(equals + 1), pos));
    } else if (key == "default" && equals == std::string_view::npos) {
      out.is_default = true;
      out.default_pos = PosWithin(html, word, pos);
    } else if (key == "name" && !value.empty()) {
      out.name = value;
    } else if (key == "role" && !value.empty()) {
      out.role = value;
      out.role_pos = PosWithin(html, word.substr(equals + 1), pos);
    } else if (key == "timeout" && !value.empty()) {
      auto timeout = ParseDuration(value);
      if (timeout.ok())
        out.timeout = timeout.value();
      else
        diagnostics.push_back({Severity::kError, pos,
                               fmt::format("{} in stagecraft directive", timeout.error()), ""});
    } else if (key == "lint-ignore" && !value.empty()) {
      for (size_t start = 0; start < value.size();) {
        size_t comma = std::min(value.find(',', start), value.size());
        if (comma > start) out.lint_ignore.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (key == "name" || key == "timeout" || key == "after" || key == "lint-ignore" ||
               key == "role") {
      diagnostics.push_back({Severity::kError, pos,
                             fmt::format("directive '{}' needs a value, e.g. {}=...", key, key),
                             ""});
    } else {
      auto suggestion = ClosestMatch(key, known);
      diagnostics.push_back(
          {Severity::kWarning, pos,
           suggestion ? fmt::format("unknown stagecraft directive '{}'; did you mean '{}'?", key,
                                    *suggestion)
                      : fmt::format("unknown stagecraft directive '{}'", key),
           "directives: skip, manual, rollback, preflight, documentation, idempotent, default, "
           "name=..., timeout=..., after=..., role=..., lint-ignore=..."});
    }
  }
  return true;
}

}  // namespace stagecraft::runbook
