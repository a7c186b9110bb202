#pragma once

// The words and operators of shell text, for the reader in shell_syntax.cc: quotes,
// backslashes, comments, line continuations, expansions and here-document bodies. Part of
// that reader only (shell_syntax.cc and shell_lexer.cc include it). A Lexer reads text it
// does not own, which must outlive it; one reader at a time.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runbook/shell_syntax.h"

namespace stagecraft::runbook::shell {

struct Token {
  enum Kind { kWord, kOp, kNewline, kEnd } kind = kEnd;
  std::string op;  // operators and redirections
  ShellWord word;
  int fd = -1;  // a descriptor written right before a redirection
  size_t begin = 0;
  // Commands found inside it ($(...)) are [nested_begin, nested_end) of the script's.
  size_t nested_begin = 0;
  size_t nested_end = 0;
};

struct HereDocBody {
  std::string text;
  size_t begin = 0;
};

// What every reader of one script shares: the nested ones ($(...), `...`) read the same
// text and add to the same script.
struct ScriptState {
  std::string_view text;
  ShellScript& out;
  struct Pending {
    std::string delimiter;
    bool strip_tabs = false;
    size_t key = 0;  // the delimiter word's offset
  };
  std::vector<Pending> pending;  // here-documents whose bodies start after the next newline
  std::map<size_t, HereDocBody> bodies;
};

// NAME=value, NAME+=value, NAME[i]=value.
bool IsAssignment(const ShellWord& word);

class Lexer {
 public:
  // Reads the script nested at `begin` ($(...) or `...`), up to `terminator`, into the
  // shared script; returns where it stopped, after the terminator.
  using NestedReader = std::function<size_t(size_t begin, char terminator)>;

  // `terminator` ends a nested script: ')' for $(...), '`' for backticks, 0 for none.
  Lexer(ScriptState& state, size_t pos, char terminator, NestedReader nested)
      : state_(state),
        text_(state.text),
        pos_(pos),
        terminator_(terminator),
        nested_(std::move(nested)) {}

  Token Lex();
  std::string_view text() const { return text_; }
  size_t pos() const { return pos_; }
  void Seek(size_t pos) { pos_ = pos; }
  char terminator() const { return terminator_; }

 private:
  bool At(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }
  void SkipBlanksAndComments();
  Token Operator(Token& token, std::string op);
  ShellWord ReadWord();
  void ReadArray(ShellWord& word);
  void ReadDoubleQuoted(ShellWord& word);
  void ReadDollar(ShellWord& word, bool in_double_quotes);
  void SkipBalanced(char open, char close, int extra);
  void ReadNested(ShellWord& word, char terminator, size_t opener);
  void ReadProcessSubstitution(ShellWord& word);
  void ReadHereDocBodies();

  ScriptState& state_;
  std::string_view text_;
  size_t pos_;
  char terminator_;
  NestedReader nested_;
};

}  // namespace stagecraft::runbook::shell
