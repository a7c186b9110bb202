#include "runbook/shell_lexer.h"

#include <algorithm>

namespace stagecraft::runbook::shell {
namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}
bool IsMeta(char c) {
  return IsBlank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
         c == '<' || c == '>';
}
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool IsAssignment(const ShellWord& word) {
  size_t i = 0;
  while (i < word.text.size() && IsNameChar(word.text[i]))
    ++i;
  if (i == 0 || (word.text[0] >= '0' && word.text[0] <= '9')) return false;
  if (i < word.text.size() && word.text[i] == '[') {
    i = word.text.find(']', i);
    if (i == std::string::npos) return false;
    ++i;
  }
  if (i < word.text.size() && word.text[i] == '+') ++i;
  return i < word.text.size() && word.text[i] == '=';
}

void Lexer::SkipBlanksAndComments() {
  while (pos_ < text_.size()) {
    if (IsBlank(text_[pos_])) {
      ++pos_;
    } else if (At("\\\n")) {
      pos_ += 2;
    } else if (text_[pos_] == '#') {
      while (pos_ < text_.size() && text_[pos_] != '\n')
        ++pos_;
    } else {
      break;
    }
  }
}

Token Lexer::Lex() {
  SkipBlanksAndComments();
  Token token;
  token.begin = pos_;
  token.nested_begin = state_.out.commands.size();
  if (pos_ >= text_.size()) return token;
  char c = text_[pos_];
  if (terminator_ != 0 && c == terminator_) {
    token.kind = Token::kOp;
    token.op = std::string(1, c);
    ++pos_;
    return token;
  }
  if (c == '\n') {
    ++pos_;
    ReadHereDocBodies();
    token.kind = Token::kNewline;
    return token;
  }
  size_t digits = pos_;
  while (digits < text_.size() && text_[digits] >= '0' && text_[digits] <= '9')
    ++digits;
  if (digits > pos_ && digits < text_.size() && (text_[digits] == '<' || text_[digits] == '>') &&
      text_.substr(digits, 2) != "<(" && text_.substr(digits, 2) != ">(") {
    token.fd = std::stoi(std::string(text_.substr(pos_, std::min<size_t>(digits - pos_, 6))));
    pos_ = digits;
  }
  static const char* const kOperators[] = {"&&",  "&>>", "&>", "&",  "||", "|&", "|",
                                           ";;&", ";;",  ";&", ";",  "(",  ")",  "<<<",
                                           "<<-", "<<",  "<>", "<&", ">>", ">&", ">|"};
  if (!At("<(") && !At(">(")) {
    for (const char* op : kOperators)
      if (At(op)) return Operator(token, op);
    if (c == '<' || c == '>') return Operator(token, std::string(1, c));
  }
  token.kind = Token::kWord;
  token.word = ReadWord();
  return token;
}

Token Lexer::Operator(Token& token, std::string op) {
  pos_ += op.size();
  token.kind = Token::kOp;
  token.op = std::move(op);
  return token;
}

ShellWord Lexer::ReadWord() {
  ShellWord word;
  word.begin = pos_;
  if (pos_ < text_.size() && text_[pos_] == '~') word.expands = true;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if ((c == '<' || c == '>') && pos_ + 1 < text_.size() && text_[pos_ + 1] == '(' &&
        (pos_ == word.begin)) {
      ReadProcessSubstitution(word);
      continue;
    }
    if (c == '(' && !word.text.empty() && word.text.back() == '=' && IsAssignment(word)) {
      ReadArray(word);  // NAME=(a b c)
      continue;
    }
    if (IsMeta(c) || (terminator_ != 0 && c == terminator_)) break;
    if (c == '\\') {
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') {
        word.text += text_[pos_ + 1];
        word.quoted = true;
      }
      pos_ = std::min(pos_ + 2, text_.size());
    } else if (c == '\'') {
      size_t close = text_.find('\'', pos_ + 1);
      if (close == std::string_view::npos) {
        state_.out.complete = false;
        close = text_.size();
      }
      word.text += text_.substr(pos_ + 1, close - pos_ - 1);
      word.quoted = true;
      pos_ = std::min(close + 1, text_.size());
    } else if (c == '"') {
      ++pos_;
      ReadDoubleQuoted(word);
      word.quoted = true;
    } else if (c == '$') {
      ReadDollar(word, false);
    } else if (c == '`') {
      ReadNested(word, '`', 1);
    } else {
      if (c == '*' || c == '?' || c == '[') word.expands = true;
      word.text += c;
      ++pos_;
    }
  }
  word.end = pos_;
  return word;
}

void Lexer::ReadArray(ShellWord& word) {
  size_t start = pos_;
  int depth = 0;
  char quote = 0;
  for (; pos_ < text_.size(); ++pos_) {
    char c = text_[pos_];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      ++pos_;
      break;
    }
  }
  word.text += text_.substr(start, pos_ - start);
  word.expands = true;
}

void Lexer::ReadDoubleQuoted(ShellWord& word) {
  while (pos_ < text_.size() && text_[pos_] != '"') {
    char c = text_[pos_];
    if (c == '\\' && pos_ + 1 < text_.size()) {
      char next = text_[pos_ + 1];
      if (next != '\n') {
        if (next != '$' && next != '`' && next != '"' && next != '\\') word.text += c;
        word.text += next;
      }
      pos_ = std::min(pos_ + 2, text_.size());
    } else if (c == '$') {
      ReadDollar(word, true);
    } else if (c == '`') {
      ReadNested(word, '`', 1);
    } else {
      word.text += c;
      ++pos_;
    }
  }
  if (pos_ >= text_.size())
    state_.out.complete = false;
  else
    ++pos_;
}

void Lexer::ReadDollar(ShellWord& word, bool in_double_quotes) {
  size_t start = pos_;
  if (At("$((")) {
    SkipBalanced('(', ')', 1);
    word.expands = true;
  } else if (At("$(")) {
    ReadNested(word, ')', 2);
    return;
  } else if (At("${")) {
    pos_ += 2;
    SkipBalanced('{', '}', 0);
    word.expands = true;
    word.unquoted_expansion |= !in_double_quotes;
  } else if (!in_double_quotes && At("$'")) {
    size_t i = pos_ + 2;
    while (i < text_.size() && text_[i] != '\'')
      i += text_[i] == '\\' ? 2 : 1;
    word.text += text_.substr(pos_ + 2, std::min(i, text_.size()) - pos_ - 2);
    word.quoted = true;
    pos_ = std::min(i + 1, text_.size());
    return;
  } else if (!in_double_quotes && At("$\"")) {
    pos_ += 2;
    ReadDoubleQuoted(word);
    word.quoted = true;
    return;
  } else {
    ++pos_;
    if (pos_ < text_.size() && IsNameChar(text_[pos_])) {
      bool digit = text_[pos_] >= '0' && text_[pos_] <= '9';
      ++pos_;
      while (!digit && pos_ < text_.size() && IsNameChar(text_[pos_]))
        ++pos_;
    } else if (pos_ < text_.size() &&
               std::string_view("@*#?$!-").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    } else {
      word.text += '$';  // a lone dollar is itself
      return;
    }
    word.expands = true;
    word.unquoted_expansion |= !in_double_quotes;
  }
  word.text += text_.substr(start, pos_ - start);
}

// Skips past the `close` that matches an `open` already consumed (`depth` of them are
// open besides, for $(( ))), stepping over quoted text.
void Lexer::SkipBalanced(char open, char close, int extra) {
  int depth = 1 + extra;
  if (open == '(') pos_ += 1 + extra + 1;  // "$((": the dollar and the parentheses
  while (pos_ < text_.size() && depth > 0) {
    char c = text_[pos_];
    if (c == '\\') {
      pos_ = std::min(pos_ + 2, text_.size());
      continue;
    }
    if (c == '\'' && open == '{') {
      size_t close_quote = text_.find('\'', pos_ + 1);
      pos_ = close_quote == std::string_view::npos ? text_.size() : close_quote + 1;
      continue;
    }
    if (c == open) ++depth;
    if (c == close) --depth;
    ++pos_;
  }
  if (depth > 0) state_.out.complete = false;
}

// $(...) or `...`: the commands inside are parsed as a script of their own.
void Lexer::ReadNested(ShellWord& word, char terminator, size_t opener) {
  size_t start = pos_;
  pos_ = nested_(pos_ + opener, terminator);
  word.text += text_.substr(start, pos_ - start);
  word.expands = true;
}

void Lexer::ReadProcessSubstitution(ShellWord& word) {
  size_t first = state_.out.commands.size();
  ReadNested(word, ')', 2);
  // Its status is never looked at.
  for (size_t i = first; i < state_.out.commands.size(); ++i)
    state_.out.commands[i].checked = false;
}

void Lexer::ReadHereDocBodies() {
  std::vector<ScriptState::Pending> pending;
  pending.swap(state_.pending);
  for (const ScriptState::Pending& doc : pending) {
    HereDocBody body;
    body.begin = pos_;
    while (pos_ < text_.size()) {
      size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos_, end - pos_);
      if (doc.strip_tabs)
        while (!line.empty() && line.front() == '\t')
          line.remove_prefix(1);
      size_t line_start = pos_;
      pos_ = std::min(end + 1, text_.size());
      if (line == doc.delimiter || (!line.empty() && line.back() == '\r' &&
                                    line.substr(0, line.size() - 1) == doc.delimiter))
        break;
      body.text += text_.substr(line_start, pos_ - line_start);
    }
    state_.bodies[doc.key] = std::move(body);
  }
}

}  // namespace stagecraft::runbook::shell
