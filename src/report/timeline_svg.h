#pragma once

// The planned-against-actual timeline as an inline SVG Gantt chart: one row per phase and
// step, on a time axis from the run's start. Each row shows its budget as a pale band
// starting where the row actually started, and the actual time as a bar over it; a bar
// longer than its band is drawn in the warning colour, a failed one in red. Scales with
// the viewport (viewBox, width 100%). Very large runs show phases only, then the first
// rows, so the chart stays readable and small.

#include <string>

#include "report/report_model.h"

namespace stagecraft::report {

struct TimelineOptions {
  size_t max_rows = 200;
};

// "" when nothing ran.
std::string RenderTimelineSvg(const Report& report, const TimelineOptions& options = {});

}  // namespace stagecraft::report
