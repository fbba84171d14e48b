// The training progress bar on stderr, shared by `mbert train` and `mbert finetune`:
//   [##########..............] 1034/2400 loss 5.1002 lr 2e-03 3293 tok/s ETA 0:06:54
// redrawn in place (carriage return) when stderr is a terminal, at most every 0.25 s and on the
// last step; log lines printed through Line() start on a fresh line. Off (nothing drawn) when
// disabled or when stderr is a pipe or file, where the periodic log lines are the record.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mbert {

class ProgressLine {
 public:
  // `enabled` false draws nothing; true draws only when stderr is a terminal.
  explicit ProgressLine(bool enabled);
  // eta_seconds < 0: unknown (not shown).
  void Show(int64_t step, int64_t total, double loss, double lr, double tokens_per_second,
            double eta_seconds);
  // Prints `s` as its own line (after the bar, which is then redrawn on the next Show).
  void Line(const std::string& s);
  // Ends the bar's line.
  void End();
  bool drawing() const { return on_; }

 private:
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// "1:02:03" (hours unbounded), "0:41" under an hour.
std::string FormatDuration(double seconds);

}  // namespace mbert
