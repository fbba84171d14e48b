// metrics.jsonl of a training or fine-tuning run: one JSON object per line with a "step".
#pragma once

#include <cstdint>
#include <string>

#include "mbert/status.h"

namespace mbert {

// Keeps the lines of `path` whose step is at most `last_step` (none when it is negative), so a
// resumed run that repeats steps after its checkpoint leaves one line per step. A line that does
// not parse (cut short by a crash) goes too. A missing file is fine.
Status TruncateMetrics(const std::string& path, int64_t last_step);

}  // namespace mbert
