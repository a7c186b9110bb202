#pragma once

// Where a runbook silences lint findings by id: a block's `lint-ignore` attribute covers the
// block, a `lint-ignore=` word in the stagecraft directive after a heading covers the
// section and its sub-sections. Only findings with an id (lint's own) can be silenced.

#include <string>
#include <string_view>
#include <vector>

#include "runbook/diagnostic.h"
#include "runbook/model.h"

namespace stagecraft::runbook {

class LintSilences {
 public:
  // Reads the silences of `runbook`, whose text is `source` (split into `lines`); an id
  // that names no finding is reported in `out`.
  LintSilences(const Runbook& runbook, std::string_view source, const SourceLines& lines,
               Diagnostics& out);

  bool Silences(const Diagnostic& diagnostic) const;

 private:
  struct Range {
    int first = 0;  // lines, inclusive
    int last = 0;
    std::vector<std::string> ids;
  };
  void AddBlock(const Block& block, const SourceLines& lines, Diagnostics& out);
  void AddSections(const Runbook& runbook, std::string_view source, Diagnostics& out);
  void AddIds(Range range, const std::vector<std::string>& ids, SourcePos pos, Diagnostics& out);

  std::vector<Range> ranges_;
};

}  // namespace stagecraft::runbook
