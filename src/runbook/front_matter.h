#pragma once

// YAML front matter between `---` lines at the very top of a runbook.

#include <string>
#include <string_view>

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

struct FrontMatterSplit {
  bool present = false;
  bool terminated = false;
  std::string yaml;         // the lines between the delimiters
  int yaml_first_line = 0;  // file line of the first YAML line
  int end_line = 0;         // line of the closing delimiter
  size_t body_offset = 0;   // where the Markdown starts
};

FrontMatterSplit SplitFrontMatter(std::string_view source);

// Parses the YAML into `out`; every problem becomes a diagnostic with a file position.
void ParseFrontMatter(const FrontMatterSplit& split, FrontMatter& out, Diagnostics& diagnostics);

}  // namespace stagecraft::runbook
