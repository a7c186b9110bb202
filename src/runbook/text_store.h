#pragma once

// Where the model's code and expected lines live. Most are views into the runbook file
// itself, which the store keeps alive: holding them a second time would make the model
// larger than the file. The few that are not in the file verbatim (code in a list item
// without its indentation, code in a block quote without its markers) are copies kept
// here. A Runbook shares its store, so a copy of the model stays valid; a Block or an
// ExpectedLine taken out of the model is valid while a Runbook holding the store lives.
// Written while parsing only; then read-only and safe to share between threads.

#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace stagecraft::runbook {

class TextStore {
 public:
  // `source` stays valid as long as `owner` lives.
  TextStore(std::string_view source, std::shared_ptr<const void> owner)
      : owner_(std::move(owner)), source_(source) {}

  std::string_view source() const { return source_; }

  // A view of `text` that lives as long as the store: into the source when `where`, a part
  // of the source, holds the same bytes, else into a copy.
  std::string_view Keep(std::string_view text, std::string_view where);

 private:
  std::shared_ptr<const void> owner_;
  std::string_view source_;
  std::deque<std::string> copies_;  // a deque never moves what it holds
};

}  // namespace stagecraft::runbook
