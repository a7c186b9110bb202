// libFuzzer target for the runbook front end: bytes in, everything `stagecraft lint` and
// `stagecraft plan` would compute from them out. A crash, a sanitizer report, an uncaught
// exception (nlohmann's parse() throws on invalid UTF-8, for one) or a slow input here is a
// bug a user could hit with a hand-written runbook. See fuzz/README.md for running it.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/text.h"
#include "runbook/diagnostic.h"
#include "runbook/lint.h"
#include "runbook/parser.h"
#include "runbook/plan.h"

namespace {

// The path shows up in diagnostics and the plan; a fixed one keeps outputs comparable.
constexpr std::string_view kPath = "fuzz.md";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  // LoadRunbookSource rejects these before the parser ever sees them, and ParseRunbook
  // takes UTF-8 text as a precondition. Returning -1 keeps such inputs out of the corpus
  // so the fuzzer spends its time on text the CLI would accept.
  if (source.find('\0') != std::string_view::npos) return -1;
  if (stagecraft::FindInvalidUtf8(source)) return -1;

  namespace rb = stagecraft::runbook;
  rb::ParseResult parsed = rb::ParseRunbook(std::string(kPath), source);
  rb::Lint(parsed.runbook, source, parsed.diagnostics);

  // `plan` renders only error-free runbooks, but the renderers are public API and must cope
  // with whatever the parser salvaged, so render regardless of diagnostics.
  // The JSON plan is written by hand in the layout of nlohmann's dump(2), so nlohmann judges
  // it; its parse() also throws on invalid UTF-8.
  auto check_json = [](const std::string& json) {
    if (nlohmann::json::parse(json).dump(2) + "\n" != json) __builtin_trap();
  };
  std::string text = rb::RenderPlanText(parsed.runbook, nullptr);
  check_json(rb::RenderPlanJsonText(parsed.runbook, nullptr));
  // `--env` merges an environment's variables into the scope: a second code path.
  if (!parsed.runbook.front_matter.environments.empty()) {
    const rb::Environment* environment = &parsed.runbook.front_matter.environments.front();
    text += rb::RenderPlanText(parsed.runbook, environment);
    check_json(rb::RenderPlanJsonText(parsed.runbook, environment));
  }

  rb::SourceLines lines(source);
  std::string report;
  for (const rb::Diagnostic& diagnostic : parsed.diagnostics)
    report += rb::FormatDiagnostic(kPath, lines, diagnostic);

  // Everything the CLI prints must stay valid UTF-8: a renderer that cuts a multi-byte
  // character in half would garble a terminal or a JSON consumer.
  if (stagecraft::FindInvalidUtf8(text) || stagecraft::FindInvalidUtf8(report)) __builtin_trap();
  return 0;
}
