#include "runbook/lint_json.h"

#include <algorithm>

#include "base/json_writer.h"

namespace stagecraft::runbook {

std::string RenderLintJson(std::string_view path, const Diagnostics& diagnostics, int silenced) {
  std::string out;
  JsonWriter<StringSink> json(StringSink{out});
  int errors = 0;
  for (const Diagnostic& diagnostic : diagnostics)
    errors += diagnostic.severity == Severity::kError;
  json.BeginObject();
  json.Key("errors");
  json.Number(errors);
  json.Key("file");
  json.String(path);
  json.Key("findings");
  json.BeginArray();
  for (const Diagnostic& diagnostic : diagnostics) {
    json.BeginObject();
    json.Key("column");
    json.Number(diagnostic.pos.line > 0 ? std::max(1, diagnostic.pos.column) : 0);
    json.Key("file");
    json.String(path);
    json.Key("hint");
    if (diagnostic.hint.empty())
      json.Null();
    else
      json.String(diagnostic.hint);
    json.Key("id");
    json.String(diagnostic.id.empty() ? kFormatFindingId : std::string_view(diagnostic.id));
    json.Key("line");
    json.Number(diagnostic.pos.line);
    json.Key("message");
    json.String(diagnostic.message);
    json.Key("severity");
    json.String(diagnostic.severity == Severity::kError ? "error" : "warning");
    json.EndObject();
  }
  json.EndArray();
  json.Key("schema");
  json.String("stagecraft.lint/v1");
  json.Key("silenced");
  json.Number(silenced);
  json.Key("warnings");
  json.Number(static_cast<int64_t>(diagnostics.size()) - errors);
  json.EndObject();
  out += '\n';
  return out;
}

}  // namespace stagecraft::runbook
