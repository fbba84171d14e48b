#include "serve/metrics.h"

#include <algorithm>
#include <charconv>

namespace mbert::serve {

namespace {

std::string Number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::vector<double> SecondsBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> PowersOfTwo(double first, double last) {
  std::vector<double> b;
  for (double v = first; v <= last; v *= 2) b.push_back(v);
  return b;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const size_t b = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                       bounds_.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[b];
  sum_ += value;
  ++count_;
}

int64_t Histogram::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out +=
        name + "_bucket{le=\"" + Number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  *out += name + "_sum " + Number(sum_) + "\n";
  *out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : queue_seconds(SecondsBuckets()),
      inference_seconds(SecondsBuckets()),
      request_seconds(SecondsBuckets()),
      batch_tokens(PowersOfTwo(16, 65536)),
      batch_requests({1, 2, 4, 8, 16, 32, 64, 128, 256}) {}

void Metrics::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

void Metrics::AddTokens(int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ += tokens;
}

std::string Metrics::Render(int64_t queue_depth) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out += "# HELP mbert_requests_total HTTP requests answered, by route and status.\n";
    out += "# TYPE mbert_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += "mbert_requests_total{route=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP mbert_tokens_total Tokens run through the model.\n";
    out += "# TYPE mbert_tokens_total counter\n";
    out += "mbert_tokens_total " + std::to_string(tokens_) + "\n";
  }
  out += "# HELP mbert_queue_depth Jobs waiting for a worker, over all models.\n";
  out += "# TYPE mbert_queue_depth gauge\n";
  out += "mbert_queue_depth " + std::to_string(queue_depth) + "\n";
  queue_seconds.Render("mbert_queue_seconds", "Time a job waited in the queue.", &out);
  inference_seconds.Render("mbert_inference_seconds", "Time of one batch's task call.", &out);
  request_seconds.Render("mbert_request_seconds", "Time to answer a request.", &out);
  batch_tokens.Render("mbert_batch_tokens", "Tokens packed into one forward.", &out);
  batch_requests.Render("mbert_batch_requests", "Requests (jobs) run in one batch.", &out);
  return out;
}

}  // namespace mbert::serve
