#include "runbook/lint_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runbook/lint.h"
#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

// The garbled runs of a line as "garbled=repaired (encoding)@offset".
std::vector<std::string> Runs(std::string_view line) {
  std::vector<std::string> runs;
  for (const Mojibake& found : FindMojibake(line))
    runs.push_back(found.garbled + "=" + found.repaired + " (" + found.encoding + ")@" +
                   std::to_string(found.offset));
  return runs;
}

using Strings = std::vector<std::string>;

TEST(Mojibake, MacRomanEmojiAndSymbols) {
  // U+F8FF is the Apple logo Mac Roman puts where UTF-8's F0 lead byte was.
  EXPECT_EQ(Runs("# \xEF\xA3\xBF\xC3\xBC\xC3\xB6\xC3\x84 Guide"),
            Strings{"\xEF\xA3\xBF\xC3\xBC\xC3\xB6\xC3\x84=🚀 (Mac Roman)@2"});
  // The same without the Apple logo, which editors often drop.
  EXPECT_EQ(Runs("# üöÄ Guide"), Strings{"üöÄ=🚀 (Mac Roman)@2"});
  EXPECT_EQ(Runs("echo \"‚úì done\""), Strings{"‚úì=✓ (Mac Roman)@6"});
  EXPECT_EQ(Runs("### ‚ö†Ô∏è SHOULD PASS"), Strings{"‚ö†Ô∏è=⚠️ (Mac Roman)@4"});
}

TEST(Mojibake, Windows1252Punctuation) {
  EXPECT_EQ(Runs("don‚Äôt"), Strings{"‚Äô=’ (Mac Roman)@3"});
  EXPECT_EQ(Runs("donâ€™t and cafÃ©"),
            (Strings{"â€™=’ (Windows-1252)@3", "Ã©=é (Windows-1252)@20"}));
}

TEST(Mojibake, RealTextIsLeftAlone) {
  for (const char* line :
       {"plain ASCII", "✅ done", "⚠️ careful", "├── dynamodb/", "Déploiement", "naïve façade",
        "Müßiggang", "Düsseldorf über", "Größe", "Ñandú", "日本語", "«quoted» — dash", "Àé"})
    EXPECT_EQ(Runs(line), Strings{}) << line;
}

TEST(Mojibake, OneFindingPerGarbledTextWithItsRepeats) {
  std::string book =
      "# ‚úÖ Guide\n\n## Step\n```bash\necho \"‚úì a\"\necho \"‚úì b\"\n```\n"
      "\n‚úì c\n";
  ParseResult parsed = ParseRunbook("book.md", book);
  Diagnostics findings;
  Lint(parsed.runbook, book, findings);
  std::vector<std::string> messages;
  for (const Diagnostic& d : findings)
    if (d.id == "mojibake")
      messages.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
                         d.message + " | " + d.hint);
  EXPECT_EQ(messages,
            (Strings{"1:3 '‚úÖ' looks like UTF-8 text read as Mac Roman | it was probably '✅': "
                     "retype it (if the whole file was garbled this way, 'iconv -f UTF-8 -t "
                     "MACINTOSH' turns it back)",
                     "5:7 '‚úì' looks like UTF-8 text read as Mac Roman (and on 2 later lines, "
                     "from line 6) | it was probably '✓': retype it (if the whole file was "
                     "garbled this way, 'iconv -f UTF-8 -t MACINTOSH' turns it back)"}));
}

}  // namespace
}  // namespace stagecraft::runbook
