#include "corpus/progress.h"

#include <algorithm>
#include <cstdio>

namespace mbert::corpus {

ProgressBar::ProgressBar(uint64_t total_bytes, bool enabled)
    : total_(std::max<uint64_t>(total_bytes, 1)),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

double ProgressBar::Seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::Update(uint64_t bytes_done, uint64_t documents, uint64_t tokens) {
  const auto now = std::chrono::steady_clock::now();
  if (!enabled_ || now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  Draw(bytes_done, documents, tokens);
}

void ProgressBar::Finish(uint64_t bytes_done, uint64_t documents, uint64_t tokens) {
  if (!enabled_) return;
  Draw(bytes_done, documents, tokens);
  std::fputc('\n', stderr);
}

void ProgressBar::Draw(uint64_t bytes_done, uint64_t documents, uint64_t tokens) {
  const double frac = std::min(1.0, static_cast<double>(bytes_done) / static_cast<double>(total_));
  const int width = 24, filled = static_cast<int>(frac * width);
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  const double secs = std::max(Seconds(), 1e-3);
  const double rate = static_cast<double>(bytes_done) / secs;
  const double eta =
      rate > 0 ? static_cast<double>(total_ - std::min(total_, bytes_done)) / rate : 0;
  std::fprintf(
      stderr, "\r[%s] %3d%%  %.1f/%.1f MB  %.2f MB/s  docs %llu  tokens %.2fM  ETA %d:%02d   ", bar,
      static_cast<int>(frac * 100), static_cast<double>(bytes_done) / 1e6,
      static_cast<double>(total_) / 1e6, rate / 1e6, static_cast<unsigned long long>(documents),
      static_cast<double>(tokens) / 1e6, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  std::fflush(stderr);
}

}  // namespace mbert::corpus
