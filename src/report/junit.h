#pragma once

// JUnit XML for CI systems (GitLab, Jenkins, ...): one <testsuite> per phase (steps
// outside a phase form one named after the run's title, and the rollback that ran forms
// "Rollback"), one <testcase> per step-level record and per check or verification item.
// Failed and interrupted entries carry <failure>/<error> with the summary as message and
// the detail plus an output excerpt as text; skipped and unreached ones carry <skipped>.
// The structure is pinned by src/report/testdata/junit.xsd.

#include <string>

#include "report/report_model.h"

namespace stagecraft::report {

struct JunitOptions {
  size_t excerpt_lines = 40;
  size_t excerpt_line_bytes = 400;
};

std::string RenderJunit(const Report& report, const JunitOptions& options = {});

}  // namespace stagecraft::report
