#include "report/html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "report/test_util.h"

namespace stagecraft::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HtmlTest, OutputAndTitlesAreShownLiterally) {
  testing::RecordedRun run;
  std::string html = RenderHtml(run.Load());
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("Tom &amp;amp; Jerry"));
  EXPECT_THAT(html, HasSubstr("<h1>❌ Orders API rollout &lt;staging&gt; &amp; friends</h1>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST(HtmlTest, IsSelfContained) {
  testing::RecordedRun run;
  std::string html = RenderHtml(run.Load());
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy"));
  // The only URL is the SVG namespace, which is a name, not something fetched.
  std::string without_namespace =
      std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_THAT(without_namespace, Not(HasSubstr("http:")));
  EXPECT_THAT(without_namespace, Not(HasSubstr("https:")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("name=\"viewport\""));
}

TEST(HtmlTest, TimelineShowsBudgetsAndOverruns) {
  testing::RecordedRun run;
  std::string html = RenderHtml(run.Load());
  EXPECT_THAT(html, HasSubstr("<svg class=\"timeline\""));
  EXPECT_THAT(html, HasSubstr("class=\"budget\""));
  EXPECT_THAT(html, HasSubstr("class=\"bar over\""));  // Push the image: 1m30s of 1m
  EXPECT_THAT(html, HasSubstr("class=\"bar bad\""));   // Migrate the database
}

TEST(HtmlTest, FailuresShowTheirDiffAndOpenOutput) {
  testing::RecordedRun run;
  std::string html = RenderHtml(run.Load());
  EXPECT_THAT(html, HasSubstr("<span class=\"del\">- Migration complete</span>"));
  EXPECT_THAT(html, HasSubstr("<details open><summary>Output (81 bytes)</summary>"));
}

TEST(HtmlTest, OutputOverTheCapShowsLastLinesAndWhereTheRestIs) {
  testing::RecordedRun run;
  HtmlOptions options;
  options.max_output_bytes = 0;
  options.excerpt_lines = 1;
  std::string html = RenderHtml(run.Load(), options);
  EXPECT_THAT(html, HasSubstr("Output: last 1 lines of 105 bytes"));
  EXPECT_THAT(html, HasSubstr("<code>stagecraft logs 20261122-153000-c0ffee</code>"));
  EXPECT_THAT(html, Not(HasSubstr("FROM debian:12\n&lt;script&gt;")));
}

// Renders the failed-and-rolled-back run in headless Chromium (Debian: chromium): the page
// must load with no console message (a CSP violation, a script error, a blocked fetch all
// log one) and produce a real screenshot. file:// only; the profile is a scratch
// directory and background networking is off, so nothing leaves the machine.
TEST(HtmlTest, RendersInHeadlessChromium) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium not installed (scripts/setup.sh installs it)";
  testing::RecordedRun run;
  const std::string dir = run.dir();
  const std::string page = dir + "/report.html";
  std::ofstream(page) << RenderHtml(run.Load());

  const std::string flags =
      "--headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--disable-extensions --disable-default-apps --disable-domain-reliability "
      "--user-data-dir=" +
      dir + "/profile --enable-logging=stderr --v=0 ";
  auto chromium = [&](const std::string& args, const std::string& log) {
    std::string command = "timeout 120 chromium " + flags + args + " file://" + page + " >" + dir +
                          "/" + log + ".out 2>" + dir + "/" + log + ".err";
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };

  ASSERT_EQ(chromium("--window-size=1100,2400 --screenshot=" + dir + "/report.png", "shot"), 0)
      << testing::ReadFileOrEmpty(dir + "/shot.err");
  std::string png = testing::ReadFileOrEmpty(dir + "/report.png");
  ASSERT_GT(png.size(), 20'000u) << "screenshot missing or blank";
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  std::string log = testing::ReadFileOrEmpty(dir + "/shot.err");
  EXPECT_THAT(log, Not(HasSubstr(":CONSOLE"))) << log;
  EXPECT_THAT(log, Not(HasSubstr("Uncaught"))) << log;

  // A phone-sized viewport renders too.
  ASSERT_EQ(chromium("--window-size=390,844 --screenshot=" + dir + "/phone.png", "phone"), 0)
      << testing::ReadFileOrEmpty(dir + "/phone.err");
  EXPECT_THAT(testing::ReadFileOrEmpty(dir + "/phone.err"), Not(HasSubstr(":CONSOLE")));

  // The DOM as the browser built it: the output's <script> is text, not an element.
  ASSERT_EQ(chromium("--dump-dom", "dom"), 0) << testing::ReadFileOrEmpty(dir + "/dom.err");
  std::string dom = testing::ReadFileOrEmpty(dir + "/dom.out");
  EXPECT_THAT(dom, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(dom, Not(HasSubstr("<script")));
  EXPECT_THAT(dom, HasSubstr("Migrate the database"));
}

}  // namespace
}  // namespace stagecraft::report
