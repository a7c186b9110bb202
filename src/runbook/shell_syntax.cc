#include "runbook/shell_syntax.h"

#include <deque>
#include <set>

#include "runbook/shell_lexer.h"

namespace stagecraft::runbook {

std::string ShellCommand::Line() const {
  std::string line;
  for (const auto& group : {&assignments, &words})
    for (const ShellWord& word : *group) {
      if (!line.empty()) line += ' ';
      line += word.text;
    }
  return line;
}

namespace {

using shell::IsAssignment;
using shell::ScriptState;
using shell::Token;

struct Context {
  bool checked = true;
  // Whether `set -e` is in force: a command substitution's subshell drops it, so there only
  // the status of its last command counts.
  bool errexit = true;
  bool in_substitution = false;
};

class Parser {
 public:
  // `terminator` ends a nested script: ')' for $(...), '`' for backticks, 0 for none.
  Parser(ScriptState& state, size_t pos, char terminator)
      : state_(state),
        text_(state.text),
        terminator_(terminator),
        lexer_(state, pos, terminator, [this](size_t begin, char nested_terminator) {
          Parser nested(state_, begin, nested_terminator);
          return nested.ParseAll(Context{true, false, true});
        }) {}

  // Parses until the end of the text or the terminator; returns where parsing stopped
  // (after the terminator when there was one).
  size_t ParseAll(Context context) {
    int last = ParseList(context, {}, {}, true);
    if (terminator_ == 0 && last >= 0) {
      state_.out.commands[last].last = true;
      for (int element : final_pipeline_)
        state_.out.commands[element].final = true;
    }
    if (terminator_ != 0) {
      const Token& token = Peek();
      if (token.kind == Token::kOp && token.op == std::string(1, terminator_))
        Next();
      else
        state_.out.complete = false;
    }
    return ahead_.empty() ? lexer_.pos() : ahead_.front().begin;
  }

 private:
  // --- tokens ------------------------------------------------------------------------------

  const Token& Peek(size_t n = 0) {
    while (ahead_.size() <= n) {
      ahead_.push_back(lexer_.Lex());
      ahead_.back().nested_end = state_.out.commands.size();
    }
    return ahead_[n];
  }
  Token Next() {
    Peek();
    ++consumed_;
    Token token = std::move(ahead_.front());
    ahead_.pop_front();
    return token;
  }
  // The index of the first command that is not parsed yet: tokens read ahead may already
  // hold commands of their own.
  size_t Mark() const {
    for (const Token& token : ahead_)
      if (token.nested_end > token.nested_begin) return token.nested_begin;
    return state_.out.commands.size();
  }

  // --- grammar -----------------------------------------------------------------------------

  bool IsWord(const Token& token, std::string_view word) const {
    return token.kind == Token::kWord && !token.word.quoted && token.word.text == word;
  }
  bool IsOp(const Token& token, std::string_view op) const {
    return token.kind == Token::kOp && token.op == op;
  }
  void SkipNewlines() {
    while (Peek().kind == Token::kNewline)
      Next();
  }
  void Uncheck(size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i)
      state_.out.commands[i].checked = false;
  }

  // A list of and-or lists up to a stop word (`then`, `fi`, `}`...) or stop operator (`)`,
  // `;;`). Returns the index of the simple command whose status ends the list, or -1.
  int ParseList(Context context, const std::set<std::string_view>& stop_words,
                const std::set<std::string_view>& stop_ops, bool top) {
    int last = -1;
    size_t previous_begin = 0, previous_end = 0;
    while (true) {
      while (Peek().kind == Token::kNewline || IsOp(Peek(), ";"))
        Next();
      const Token& token = Peek();
      if (token.kind == Token::kEnd) {
        // The text ended inside a compound command or a substitution.
        if (!top || terminator_ != 0) state_.out.complete = false;
        return last;
      }
      if (token.kind == Token::kOp &&
          (stop_ops.count(token.op) || (terminator_ != 0 && token.op[0] == terminator_)))
        return last;
      if (token.kind == Token::kWord && !token.word.quoted && stop_words.count(token.word.text))
        return last;
      if (IsOp(token, ")")) {  // unbalanced: step over it
        Next();
        continue;
      }
      // Without `set -e` only the last item's status counts.
      if (!context.errexit) Uncheck(previous_begin, previous_end);
      size_t item = Mark();
      size_t consumed = consumed_;
      last = ParseAndOr(context);
      if (top) final_pipeline_ = last_pipeline_;
      if (IsOp(Peek(), "&")) {
        Next();
        Uncheck(item, Mark());
        for (size_t i = item; i < Mark(); ++i)
          state_.out.commands[i].background = true;
        last = -1;
      }
      previous_begin = item;
      previous_end = Mark();
      if (consumed_ == consumed) Next();  // nothing could be read here: step over it
    }
  }

  int ParseAndOr(Context context) {
    size_t left = Mark();
    bool compound = false;
    int last = ParsePipeline(context, &compound);
    size_t link_end = 0;
    while (IsOp(Peek(), "&&") || IsOp(Peek(), "||")) {
      Uncheck(left, Mark());
      link_end = Mark();
      Token op = Next();
      SkipNewlines();
      ShellAndOr link;
      link.is_or = op.op == "||";
      link.offset = op.begin;
      link.left_begin = left;
      link.left_end = link_end;
      link.right_begin = Mark();
      last = ParsePipeline(context, &link.right_is_compound);
      link.right_end = Mark();
      state_.out.and_ors.push_back(link);
      left = link.right_begin;
    }
    return last;
  }

  int ParsePipeline(Context context, bool* compound) {
    size_t begin = Mark();
    bool negated = false;
    while (IsWord(Peek(), "!") || IsWord(Peek(), "time")) {
      negated |= Next().word.text == "!";
    }
    std::vector<int> elements;  // its simple commands
    int last = ParseCommand(context, false, compound);
    if (last >= 0) elements.push_back(last);
    while (IsOp(Peek(), "|") || IsOp(Peek(), "|&")) {
      Next();
      if (last >= 0) state_.out.commands[last].pipe_out = true;
      SkipNewlines();
      last = ParseCommand(context, true, compound);
      if (last >= 0) elements.push_back(last);
    }
    if (negated) Uncheck(begin, Mark());
    // Inner pipelines (in a group, a substitution) finish first: this one is the latest.
    last_pipeline_ = std::move(elements);
    return last;
  }

  // One command; returns its index when it is a simple command, else -1.
  int ParseCommand(Context context, bool pipe_in, bool* compound) {
    *compound = true;
    const Token& token = Peek();
    if (IsOp(token, "(")) {
      if (token.begin + 1 < text_.size() && text_[token.begin + 1] == '(' && ahead_.size() == 1) {
        lexer_.Seek(token.begin + 2);
        ahead_.clear();
        SkipArithmetic();
        return -1;
      }
      Next();
      ParseList(context, {}, {")"}, false);
      Expect(")");
    } else if (token.kind != Token::kWord || token.word.quoted) {
      *compound = false;
      return ParseSimple(context, pipe_in);
    } else if (token.word.text == "{") {
      Next();
      ParseList(context, {"}"}, {}, false);
      ExpectWord("}");
    } else if (token.word.text == "if") {
      ParseIf(context);
    } else if (token.word.text == "while" || token.word.text == "until") {
      Next();
      Context condition = context;
      condition.checked = false;
      ParseList(condition, {"do"}, {}, false);
      ParseDoGroup(context);
    } else if (token.word.text == "for" || token.word.text == "select") {
      ParseForHeader(context);
      ParseDoGroup(context);
    } else if (token.word.text == "case") {
      ParseCase(context);
    } else if (token.word.text == "[[") {
      SkipTest();
    } else if (token.word.text == "function") {
      Next();
      Next();  // the name
      if (IsOp(Peek(), "(") && IsOp(Peek(1), ")")) {
        Next();
        Next();
      }
      SkipNewlines();
      return ParseCommand(context, pipe_in, compound);
    } else if (IsOp(Peek(1), "(") && IsOp(Peek(2), ")")) {  // name() { ...; }
      Next();
      Next();
      Next();
      SkipNewlines();
      return ParseCommand(context, pipe_in, compound);
    } else {
      *compound = false;
      return ParseSimple(context, pipe_in);
    }
    ParseTrailingRedirects(context);
    return -1;
  }

  void Expect(std::string_view op) {
    if (IsOp(Peek(), op))
      Next();
    else
      state_.out.complete = false;
  }
  void ExpectWord(std::string_view word) {
    if (IsWord(Peek(), word))
      Next();
    else
      state_.out.complete = false;
  }

  void ParseIf(Context context) {
    Next();  // if / elif
    Context condition = context;
    condition.checked = false;
    ParseList(condition, {"then"}, {}, false);
    ExpectWord("then");
    ParseList(context, {"elif", "else", "fi"}, {}, false);
    if (IsWord(Peek(), "elif")) return ParseIf(context);
    if (IsWord(Peek(), "else")) {
      Next();
      ParseList(context, {"fi"}, {}, false);
    }
    ExpectWord("fi");
  }

  // `for NAME in a b c`: kept as an assignment of NAME (to the list as written), so checks
  // see the loop give NAME its values.
  void ParseForHeader(Context context) {
    Next();  // for / select
    ShellCommand loop;
    loop.begin = Peek().begin;
    loop.checked = false;
    loop.in_substitution = context.in_substitution;
    if (Peek().kind == Token::kWord && IsAssignment(ShellWord{Peek().word.text + "="})) {
      ShellWord name = Next().word;
      name.text += '=';
      while (Peek().kind != Token::kEnd && !IsWord(Peek(), "do") && !IsWord(Peek(), "{")) {
        Token item = Next();
        if (item.kind != Token::kWord || item.word.text == "in") continue;
        if (name.text.back() != '=') name.text += ' ';
        name.text += item.word.text;
      }
      loop.assignments.push_back(std::move(name));
      state_.out.commands.push_back(std::move(loop));
    }
    while (Peek().kind != Token::kEnd && !IsWord(Peek(), "do") && !IsWord(Peek(), "{"))
      Next();
  }

  void ParseDoGroup(Context context) {
    if (IsWord(Peek(), "{")) {
      Next();
      ParseList(context, {"}"}, {}, false);
      ExpectWord("}");
      return;
    }
    ExpectWord("do");
    ParseList(context, {"done"}, {}, false);
    ExpectWord("done");
  }

  void ParseCase(Context context) {
    Next();  // case
    Next();  // the word
    SkipNewlines();
    ExpectWord("in");
    while (true) {
      SkipNewlines();
      const Token& token = Peek();
      if (token.kind == Token::kEnd || IsWord(token, "esac")) break;
      // The patterns, up to the ')' that closes them.
      while (Peek().kind != Token::kEnd && !IsOp(Peek(), ")"))
        Next();
      Expect(")");
      ParseList(context, {"esac"}, {";;", ";&", ";;&"}, false);
      if (IsOp(Peek(), ";;") || IsOp(Peek(), ";&") || IsOp(Peek(), ";;&")) Next();
    }
    ExpectWord("esac");
  }

  // [[ ... ]]: its < > && || ( ) are operators of the test, not of the shell.
  void SkipTest() {
    ahead_.clear();
    size_t close = text_.find("]]", lexer_.pos());
    lexer_.Seek(close == std::string_view::npos ? text_.size() : close + 2);
    if (close == std::string_view::npos) state_.out.complete = false;
  }

  // (( ... )): arithmetic; nothing runs.
  void SkipArithmetic() {
    ahead_.clear();
    int depth = 1;
    size_t pos = lexer_.pos();
    while (pos < text_.size() && depth > 0) {
      if (text_[pos] == '(') ++depth;
      if (text_[pos] == ')') --depth;
      ++pos;
    }
    if (pos < text_.size() && text_[pos] == ')') ++pos;
    lexer_.Seek(pos);
  }

  // Redirections after a compound command (`done < list.txt`) apply to all of it; they
  // are kept as a command without words so their files are seen.
  void ParseTrailingRedirects(Context context) {
    if (Peek().kind != Token::kOp || !IsRedirect(Peek().op)) return;
    ShellCommand command;
    command.begin = Peek().begin;
    command.checked = false;
    command.in_substitution = context.in_substitution;
    while (Peek().kind == Token::kOp && IsRedirect(Peek().op))
      ReadRedirect(command);
    state_.out.commands.push_back(std::move(command));
  }

  static bool IsRedirect(std::string_view op) {
    static const std::set<std::string_view> redirects = {"<",  ">",  ">>",  ">|", "<>",  "<&",
                                                         ">&", "&>", "&>>", "<<", "<<-", "<<<"};
    return redirects.count(op) > 0;
  }

  void ReadRedirect(ShellCommand& command) {
    Token op = Next();
    ShellRedirect redirect;
    redirect.op = op.op;
    redirect.fd = op.fd;
    redirect.begin = op.begin;
    if (Peek().kind == Token::kWord) redirect.target = Next().word;
    if (redirect.op == "<<" || redirect.op == "<<-") {
      redirect.heredoc = true;
      redirect.body_expands = !redirect.target.quoted;
      state_.pending.push_back({redirect.target.text, redirect.op == "<<-", redirect.target.begin});
    }
    command.redirects.push_back(std::move(redirect));
  }

  int ParseSimple(Context context, bool pipe_in) {
    ShellCommand command;
    command.begin = Peek().begin;
    command.checked = context.checked;
    command.in_substitution = context.in_substitution;
    command.pipe_in = pipe_in;
    size_t nested = Mark();
    while (true) {
      const Token& token = Peek();
      if (token.kind == Token::kWord) {
        Token word = Next();
        if (command.words.empty() && IsAssignment(word.word))
          command.assignments.push_back(std::move(word.word));
        else
          command.words.push_back(std::move(word.word));
      } else if (token.kind == Token::kOp && IsRedirect(token.op)) {
        ReadRedirect(command);
      } else {
        break;
      }
    }
    // A substitution's status only stops the script through a bare assignment (X=$(...));
    // as an argument (echo "$(...)") it is dropped.
    if (!command.words.empty() || !context.checked) Uncheck(nested, state_.out.commands.size());
    if (command.words.empty() && command.assignments.empty() && command.redirects.empty())
      return -1;
    state_.out.commands.push_back(std::move(command));
    return static_cast<int>(state_.out.commands.size()) - 1;
  }

  ScriptState& state_;
  std::string_view text_;
  char terminator_;
  shell::Lexer lexer_;
  std::deque<Token> ahead_;
  size_t consumed_ = 0;              // tokens taken so far: a list that takes none must move on
  std::vector<int> last_pipeline_;   // the simple commands of the pipeline parsed last
  std::vector<int> final_pipeline_;  // those of the top level's last pipeline
};

void AttachHereDocBodies(ScriptState& state) {
  for (ShellCommand& command : state.out.commands)
    for (ShellRedirect& redirect : command.redirects) {
      if (!redirect.heredoc) continue;
      auto found = state.bodies.find(redirect.target.begin);
      if (found == state.bodies.end()) continue;
      redirect.body = std::move(found->second.text);
      redirect.body_begin = found->second.begin;
    }
}

}  // namespace

ShellScript ParseShell(std::string_view script) {
  ShellScript out;
  ScriptState state{script, out, {}, {}};
  Parser parser(state, 0, 0);
  parser.ParseAll(Context{});
  AttachHereDocBodies(state);
  return out;
}

}  // namespace stagecraft::runbook
