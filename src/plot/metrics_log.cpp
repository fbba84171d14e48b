#include "plot/metrics_log.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/file_io.h"

namespace mbert::plot {

namespace {

using nlohmann::json;

constexpr std::string_view kLineHelp =
    "each line of a metrics.jsonl is one JSON object such as {\"step\":10,\"loss\":7.1}; fix or "
    "delete that line";

// Appends `field` of `object` to `series` if it is a number; null is a gap; anything else is an
// error naming the line.
Status Take(const json& object, const std::string& field, int64_t step, const std::string& where,
            MetricSeries* series) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_number())
    return Status::Error(where + ": field '" + field + "' must be a number, got " + it->dump());
  series->push_back({step, it->get<double>()});
  return Status::Ok();
}

Status ParseLine(const json& j, const std::string& where, MetricsLog* log) {
  if (!j.is_object())
    return Status::Error(where + ": not a JSON object; " + std::string(kLineHelp));
  const auto step_it = j.find("step");
  if (step_it == j.end() || !step_it->is_number_integer() || step_it->get<int64_t>() < 0)
    return Status::Error(where + ": field 'step' must be a non-negative integer, got " +
                         (step_it == j.end() ? std::string("nothing") : step_it->dump()) + "; " +
                         std::string(kLineHelp));
  const int64_t step = step_it->get<int64_t>();
  MBERT_RETURN_IF_ERROR(Take(j, "loss", step, where, &log->loss));
  MBERT_RETURN_IF_ERROR(Take(j, "lr", step, where, &log->lr));
  MBERT_RETURN_IF_ERROR(Take(j, "tokens_seen", step, where, &log->tokens_seen));
  MBERT_RETURN_IF_ERROR(Take(j, "eval_loss", step, where, &log->eval_loss));
  MBERT_RETURN_IF_ERROR(Take(j, "eval_accuracy", step, where, &log->eval_accuracy));
  if (const auto ev = j.find("eval"); ev != j.end() && ev->is_object()) {
    MBERT_RETURN_IF_ERROR(Take(*ev, "loss", step, where + " (in 'eval')", &log->eval_loss));
    MBERT_RETURN_IF_ERROR(Take(*ev, "accuracy", step, where + " (in 'eval')", &log->eval_accuracy));
  }
  for (const auto& [key, value] : j.items()) {
    for (const auto& [prefix, by_source] :
         {std::pair{std::string_view("eval_loss/"), &log->eval_loss_by_source},
          std::pair{std::string_view("eval_accuracy/"), &log->eval_accuracy_by_source}}) {
      if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) continue;
      MBERT_RETURN_IF_ERROR(Take(j, key, step, where, &(*by_source)[key.substr(prefix.size())]));
    }
  }
  return Status::Ok();
}

}  // namespace

bool MetricsLog::empty() const {
  return loss.empty() && eval_loss.empty() && eval_accuracy.empty() && lr.empty() &&
         eval_loss_by_source.empty() && eval_accuracy_by_source.empty();
}

Result<MetricsLog> ParseMetricsLog(std::string_view text, const std::string& origin) {
  MetricsLog log;
  size_t pos = 0;
  for (int64_t line_no = 1; pos < text.size(); ++line_no) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    const bool last_unterminated = end == text.size();
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = origin + ":" + std::to_string(line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      if (last_unterminated) {
        log.skipped_partial_last_line = true;
        break;
      }
      // parse_error or out_of_range 406 (a number beyond double's range, such as 1e400).
      return Status::Error(where + ": not JSON (" + e.what() + "); " + std::string(kLineHelp));
    }
    MBERT_RETURN_IF_ERROR(ParseLine(j, where, &log));
  }
  // Lines are in step order as the trainer writes them, but a resumed run appends; keep each
  // series sorted by step so lines are drawn left to right (stable: equal steps keep file order).
  auto by_step = [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; };
  for (MetricSeries* s : {&log.loss, &log.lr, &log.tokens_seen, &log.eval_loss, &log.eval_accuracy})
    std::stable_sort(s->begin(), s->end(), by_step);
  for (auto* m : {&log.eval_loss_by_source, &log.eval_accuracy_by_source})
    for (auto& [name, s] : *m) std::stable_sort(s.begin(), s.end(), by_step);
  return log;
}

Result<MetricsLog> ReadMetricsLog(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  MBERT_ASSIGN_OR_RETURN(MetricsLog log, ParseMetricsLog(text, path));
  if (log.empty())
    return Status::Error(path +
                         ": nothing to plot: no line has \"loss\", \"eval_loss\", "
                         "\"eval_accuracy\" or \"lr\" (is it the metrics.jsonl of a `mbert "
                         "train` output_dir?)");
  return log;
}

double TokensAtStep(const MetricsLog& log, int64_t step) {
  const MetricSeries& t = log.tokens_seen;
  const auto it = std::lower_bound(t.begin(), t.end(), step,
                                   [](const MetricPoint& p, int64_t s) { return p.step < s; });
  if (it != t.end() && it->step == step) return it->value;
  // Between the previous training step (or step 0 with 0 tokens) and the next one.
  const MetricPoint before = it == t.begin() ? MetricPoint{0, 0.0} : *(it - 1);
  if (it == t.end()) return before.value;
  const double f =
      static_cast<double>(step - before.step) / static_cast<double>(it->step - before.step);
  return before.value + f * (it->value - before.value);
}

}  // namespace mbert::plot
