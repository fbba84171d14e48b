#include "train/progress_line.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace mbert {

ProgressLine::ProgressLine(bool enabled) : on_(enabled && ::isatty(STDERR_FILENO) == 1) {}

std::string FormatDuration(double seconds) {
  const long long s = std::isfinite(seconds) && seconds > 0 ? std::llround(seconds) : 0;
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

void ProgressLine::Show(int64_t step, int64_t total, double loss, double lr,
                        double tokens_per_second, double eta_seconds) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && step < total && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  constexpr int64_t kWidth = 24;
  const int64_t fill = total > 0 ? std::min(kWidth, kWidth * step / total) : kWidth;
  const std::string eta = eta_seconds >= 0 ? " ETA " + FormatDuration(eta_seconds) : "";
  std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.4f lr %.3g %.0f tok/s%s  ",
               std::string(static_cast<size_t>(fill), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - fill), '.').c_str(),
               static_cast<long long>(step), static_cast<long long>(total), loss, lr,
               tokens_per_second, eta.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::Line(const std::string& s) {
  std::fprintf(stderr, "%s%s\n", shown_ ? "\n" : "", s.c_str());
  shown_ = false;
}

void ProgressLine::End() {
  if (shown_) std::fprintf(stderr, "\n");
  shown_ = false;
}

}  // namespace mbert
