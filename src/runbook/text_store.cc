#include "runbook/text_store.h"

#include <functional>

namespace stagecraft::runbook {

std::string_view TextStore::Keep(std::string_view text, std::string_view where) {
  if (text.empty()) return {};
  std::less_equal<const char*> before;
  bool in_source = before(source_.data(), where.data()) &&
                   before(where.data() + where.size(), source_.data() + source_.size());
  size_t found = in_source ? where.find(text) : std::string_view::npos;
  if (found != std::string_view::npos) return where.substr(found, text.size());
  return copies_.emplace_back(text);
}

}  // namespace stagecraft::runbook
