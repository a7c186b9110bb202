#include "runbook/text_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "runbook/parser.h"

namespace stagecraft::runbook {
namespace {

TEST(TextStore, TextFoundInTheSourceIsAViewOfItAndOtherTextACopy) {
  auto source = std::make_shared<const std::string>("echo hi\n  echo there\n");
  TextStore store(*source, source);
  std::string code = "echo hi\n";
  std::string_view kept = store.Keep(code, std::string_view(*source).substr(0, code.size()));
  EXPECT_EQ(kept, "echo hi\n");
  EXPECT_EQ(kept.data(), source->data());
  code = "echo there\n";  // without a list item's indentation
  kept = store.Keep(code, std::string_view(*source).substr(8, code.size()));
  EXPECT_EQ(kept, "echo there\n");
  EXPECT_TRUE(kept.data() != code.data() && kept.data() != source->data() + 10);
  EXPECT_EQ(store.Keep("x", "x"), "x");  // `where` outside the source
}

TEST(TextStore, ModelOutlivesTheSourceGivenToTheParser) {
  Runbook copy;
  {
    std::string markdown =
        "## Step\n\n- [ ] check\n  ```bash { name=probe cwd=/tmp }\n  true\n  ```\n\n"
        "```bash\necho hi\n```\n\n**Expected Output:**\n```\nhi (re)\n```\n";
    copy = ParseRunbook("book.md", markdown).runbook;
    markdown.assign(markdown.size(), 'x');
  }
  const Step& step = copy.steps.at(0);
  EXPECT_EQ(step.actions.at(0).block.text, "echo hi\n");
  EXPECT_EQ(step.actions.at(0).expectations.at(0).lines.at(0).pattern, "hi");
  const Action& check = step.checklist.at(0).actions.at(0);
  EXPECT_EQ(check.block.text, "true\n");
  EXPECT_EQ(check.attributes.name.value_or(""), "probe");
  EXPECT_EQ(check.attributes.cwd.value_or(""), "/tmp");
}

}  // namespace
}  // namespace stagecraft::runbook
