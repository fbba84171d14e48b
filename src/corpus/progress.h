// A one-line progress bar on stderr for long corpus jobs:
//   [#########.........]  48%  61.2/128.0 MB  3.1 MB/s  docs 12345  tokens 8.1M  ETA 0:21
// Redrawn at most every 0.2 s (and on Finish); draws nothing when disabled (tests, pipes).
#pragma once

#include <chrono>
#include <cstdint>

namespace mbert::corpus {

class ProgressBar {
 public:
  ProgressBar(uint64_t total_bytes, bool enabled);
  void Update(uint64_t bytes_done, uint64_t documents, uint64_t tokens);
  void Finish(uint64_t bytes_done, uint64_t documents, uint64_t tokens);
  double Seconds() const;

 private:
  void Draw(uint64_t bytes_done, uint64_t documents, uint64_t tokens);
  uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace mbert::corpus
