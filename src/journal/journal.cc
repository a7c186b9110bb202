#include "journal/journal.h"

namespace stagecraft::journal {

Result<std::optional<RunRecord>> Journal::LatestRun(const std::string& runbook_path,
                                                    const std::string& environment) {
  RunQuery query;
  query.limit = 1;
  query.runbook_path = runbook_path;
  query.environment = environment;
  Result<std::vector<RunRecord>> runs = ListRuns(query);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return std::optional<RunRecord>();
  return std::optional<RunRecord>(std::move(runs->front()));
}

}  // namespace stagecraft::journal
