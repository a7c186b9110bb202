#pragma once

// Markdown runbook -> Runbook model. The Markdown is parsed by cmark-gfm (with the tasklist
// and table extensions) so a runbook means exactly what the forge renders; positions in
// the model and in diagnostics point into the original file.

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

struct ParseResult {
  Runbook runbook;
  Diagnostics diagnostics;  // in source order
  // The document could not be read completely (e.g. nesting beyond the parser's limit); its
  // errors explain why, and no command should use the model.
  bool unusable = false;
};

// Parses `source` (already checked to be UTF-8 text, see SourceFile). Never fails:
// problems become diagnostics and the model holds what could be understood. The model's
// code and expected lines are views into `source`, which `owner` keeps alive (TextStore).
ParseResult ParseRunbook(std::string path, std::string_view source,
                         std::shared_ptr<const void> owner);
// The same with a copy of `source`, for callers that do not keep it.
ParseResult ParseRunbook(std::string path, std::string_view source);
// The same, cutting a large document into pieces of about `piece_bytes` (see parser.cc);
// tests cut small pieces to compare them with the document parsed whole.
ParseResult ParseRunbook(std::string path, std::string_view source, size_t piece_bytes);

// Languages whose fenced blocks are executed, and the interpreter that runs them.
bool IsExecutableLanguage(std::string_view language);
// The program that runs a block of `language` ("shell" is the front matter's `shell`,
// "python" is python3); "" for a language that does not run. A view of `shell` or of a
// static string.
std::string_view InterpreterFor(std::string_view language, std::string_view shell);

}  // namespace stagecraft::runbook
