#include "runbook/shell_syntax.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stagecraft::runbook {
namespace {

// The command lines of a script, each marked with what set -e would make of it.
std::vector<std::string> Lines(std::string_view script) {
  std::vector<std::string> lines;
  for (const ShellCommand& command : ParseShell(script).commands)
    lines.push_back(command.Line() + (command.checked ? "" : " [unchecked]") +
                    (command.last ? " [last]" : ""));
  return lines;
}

using Strings = std::vector<std::string>;

TEST(ShellSyntax, SplitsAtSeparatorsAndOperators) {
  EXPECT_EQ(Lines("a 1; b 2\nc | d && e || f &\ng"),
            (Strings{"a 1", "b 2", "c [unchecked]", "d [unchecked]", "e [unchecked]",
                     "f [unchecked]", "g [last]"}));
}

TEST(ShellSyntax, QuotesKeepOperatorsAndCommentsAsText) {
  auto script = ParseShell("echo 'a; b | c' \"# not a comment\" x\\;y");
  ASSERT_EQ(script.commands.size(), 1u);
  const auto& words = script.commands[0].words;
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words[1].text, "a; b | c");
  EXPECT_EQ(words[2].text, "# not a comment");
  EXPECT_EQ(words[3].text, "x;y");
  EXPECT_TRUE(words[1].quoted && words[3].quoted);
  EXPECT_FALSE(words[0].quoted);
}

TEST(ShellSyntax, CommentsEndAtTheLine) {
  EXPECT_EQ(Lines("# grep error log\nls # tail -f x\necho a#b"),
            (Strings{"ls", "echo a#b [last]"}));
}

TEST(ShellSyntax, LineContinuationsJoinWords) {
  auto script = ParseShell("aws s3 \\\n  cp a \\\n  b");
  ASSERT_EQ(script.commands.size(), 1u);
  EXPECT_EQ(script.commands[0].Line(), "aws s3 cp a b");
}

TEST(ShellSyntax, HereDocumentBodiesAreNotCommands) {
  auto script = ParseShell(
      "cat > conf <<'EOF'\n"
      "rm -rf /\n"
      "EOF\n"
      "psql <<-SQL | tee out\n"
      "\tDROP TABLE t;\n"
      "\tSQL\n"
      "echo done\n");
  ASSERT_EQ(script.commands.size(), 4u);
  EXPECT_EQ(script.commands[0].name(), "cat");
  ASSERT_EQ(script.commands[0].redirects.size(), 2u);
  const ShellRedirect& doc = script.commands[0].redirects[1];
  EXPECT_TRUE(doc.heredoc);
  EXPECT_FALSE(doc.body_expands);
  EXPECT_EQ(doc.body, "rm -rf /\n");
  EXPECT_EQ(doc.body_begin, 19u);
  EXPECT_EQ(script.commands[1].redirects[0].body, "\tDROP TABLE t;\n");
  EXPECT_TRUE(script.commands[1].redirects[0].body_expands);
  EXPECT_EQ(script.commands[2].name(), "tee");
  EXPECT_EQ(script.commands[3].Line(), "echo done");
}

TEST(ShellSyntax, RedirectionsWithDescriptors) {
  auto script = ParseShell("make 2>&1 >build.log &>/dev/null < in.txt");
  ASSERT_EQ(script.commands.size(), 1u);
  const auto& redirects = script.commands[0].redirects;
  ASSERT_EQ(redirects.size(), 4u);
  EXPECT_EQ(redirects[0].fd, 2);
  EXPECT_EQ(redirects[0].op, ">&");
  EXPECT_EQ(redirects[0].target.text, "1");
  EXPECT_EQ(redirects[1].op, ">");
  EXPECT_EQ(redirects[1].target.text, "build.log");
  EXPECT_EQ(redirects[2].op, "&>");
  EXPECT_EQ(redirects[3].op, "<");
  EXPECT_EQ(redirects[3].target.text, "in.txt");
  EXPECT_EQ(script.commands[0].words.size(), 1u);
}

TEST(ShellSyntax, ConditionsAreNotChecked) {
  EXPECT_EQ(Lines("if grep -q x f; then a; elif b; then c; else d; fi\n"
                  "while read l; do e; done\n"
                  "! f\n"
                  "until g; do h; done"),
            (Strings{"grep -q x f [unchecked]", "a", "b [unchecked]", "c", "d",
                     "read l [unchecked]", "e", "f [unchecked]", "g [unchecked]", "h"}));
}

TEST(ShellSyntax, SubstitutionsCountOnlyThroughABareAssignment) {
  EXPECT_EQ(Lines("X=$(grep a f)\necho \"$(grep b f)\"\nlocal_y=`grep c f`"),
            (Strings{"grep a f", "X=$(grep a f)", "grep b f [unchecked]", "echo $(grep b f)",
                     "grep c f", "local_y=`grep c f` [last]"}));
}

TEST(ShellSyntax, InsideASubstitutionOnlyTheLastCommandCounts) {
  EXPECT_EQ(Lines("X=$(a; b | c)"), (Strings{"a [unchecked]", "b", "c", "X=$(a; b | c) [last]"}));
}

TEST(ShellSyntax, CompoundCommandsNest) {
  EXPECT_EQ(Lines("for f in a b; do cat \"$f\"; done\n"
                  "case $x in\n  a|b) one ;;\n  *) two;;\nesac\n"
                  "( sub ) > out\n"
                  "{ grp; }\n"
                  "f() { body; }\n"
                  "[[ $a < $b && -n $c ]] && tested\n"
                  "(( n > 3 )) || counted"),
            (Strings{"f=a b [unchecked]", "cat $f", "one", "two", "sub", " [unchecked]", "grp",
                     "body", "tested", "counted [last]"}));
}

TEST(ShellSyntax, PipelinesMarkTheirEnds) {
  auto script = ParseShell("a | b | c");
  ASSERT_EQ(script.commands.size(), 3u);
  EXPECT_TRUE(script.commands[0].pipe_out && !script.commands[0].pipe_in);
  EXPECT_TRUE(script.commands[1].pipe_out && script.commands[1].pipe_in);
  EXPECT_TRUE(!script.commands[2].pipe_out && script.commands[2].pipe_in);
}

TEST(ShellSyntax, AndOrListsKnowTheirOperands) {
  auto script = ParseShell("deploy --now || echo FAILED\ncheck && { echo bad; exit 1; }");
  ASSERT_EQ(script.and_ors.size(), 2u);
  const ShellAndOr& first = script.and_ors[0];
  EXPECT_TRUE(first.is_or);
  EXPECT_EQ(first.offset, 13u);
  EXPECT_EQ(script.commands[first.left_begin].name(), "deploy");
  EXPECT_EQ(first.right_end - first.right_begin, 1u);
  EXPECT_EQ(script.commands[first.right_begin].name(), "echo");
  EXPECT_FALSE(first.right_is_compound);
  const ShellAndOr& second = script.and_ors[1];
  EXPECT_FALSE(second.is_or);
  EXPECT_TRUE(second.right_is_compound);
  EXPECT_EQ(second.right_end - second.right_begin, 2u);
}

TEST(ShellSyntax, WordsKnowWhatExpands) {
  auto script = ParseShell("rm -rf $DIR/ \"$HOME\" '$x' ~/y build/*.o plain");
  const auto& words = script.commands.at(0).words;
  ASSERT_EQ(words.size(), 8u);
  EXPECT_TRUE(words[2].expands && words[2].unquoted_expansion);
  EXPECT_EQ(words[2].text, "$DIR/");
  EXPECT_EQ(words[2].begin, 7u);
  EXPECT_EQ(words[2].end, 12u);
  EXPECT_TRUE(words[3].expands && !words[3].unquoted_expansion);
  EXPECT_TRUE(words[4].literal());
  EXPECT_EQ(words[4].text, "$x");
  EXPECT_TRUE(words[5].expands);  // ~
  EXPECT_TRUE(words[6].expands);  // a glob
  EXPECT_TRUE(words[7].literal());
}

TEST(ShellSyntax, AssignmentsAndArrays) {
  auto script = ParseShell("A=1 B=\"two words\" env C=(x y) cmd\nARR=(one two)\nnext");
  ASSERT_EQ(script.commands.size(), 3u);
  EXPECT_EQ(script.commands[0].assignments.size(), 2u);
  EXPECT_EQ(script.commands[0].name(), "env");
  EXPECT_EQ(script.commands[1].assignments.at(0).text, "ARR=(one two)");
  EXPECT_EQ(script.commands[2].name(), "next");
}

TEST(ShellSyntax, ProcessSubstitutionIsNeverChecked) {
  EXPECT_EQ(Lines("diff <(sort a) <(sort b)"), (Strings{"sort a [unchecked]", "sort b [unchecked]",
                                                        "diff <(sort a) <(sort b) [last]"}));
}

TEST(ShellSyntax, UnterminatedTextIsIncompleteNotAnError) {
  for (const char* text : {"echo 'open", "echo \"open", "x=$(a", "if a; then b"})
    EXPECT_FALSE(ParseShell(text).complete) << text;
  EXPECT_TRUE(ParseShell("echo ok").complete);
}

// Whatever the bytes, the reader ends and offsets stay inside the text.
TEST(ShellSyntax, NeverLoopsOnOddInput) {
  for (const char* text :
       {")",        ";;",  "| x", "&& y", "}",     "fi",  "esac", "done",      "(((",
        "$(((",     "`",   "${",  "<<",   "<<EOF", "a >", "case", "case x in", "for",
        "function", "f()", "[[",  "((",   "x=(",   "$'",  "\\"}) {
    auto script = ParseShell(text);
    for (const auto& command : script.commands)
      for (const auto& word : command.words)
        EXPECT_LE(word.end, std::string_view(text).size()) << text;
  }
}

}  // namespace
}  // namespace stagecraft::runbook
