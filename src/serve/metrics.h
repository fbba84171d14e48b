// Prometheus metrics of the server, rendered in the text exposition format on GET /metrics:
// request counters by route and status, tokens, and histograms of queue time, inference time,
// request time, tokens per forward and jobs per batch. Every method is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mbert::serve {

// A cumulative histogram over fixed upper bounds (plus +Inf).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends NAME_bucket{le=...}, NAME_sum and NAME_count lines with their HELP/TYPE header.
  void Render(const std::string& name, const std::string& help, std::string* out) const;
  int64_t count() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative; last = above every bound
  double sum_ = 0.0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  void CountRequest(const std::string& route, int status);
  void AddTokens(int64_t tokens);

  Histogram queue_seconds;      // per job: enqueue -> its batch starts
  Histogram inference_seconds;  // per batch: the task call
  Histogram request_seconds;    // per request: first byte handled -> response ready
  Histogram batch_tokens;       // per forward: tokens packed into it
  Histogram batch_requests;     // per batch: jobs (requests) run together

  // The whole exposition; `queue_depth` is the gauge's current value.
  std::string Render(int64_t queue_depth) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) -> count
  int64_t tokens_ = 0;
};

}  // namespace mbert::serve
