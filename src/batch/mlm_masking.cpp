#include "batch/mlm_masking.h"

#include <algorithm>
#include <string>

#include "core/check.h"

namespace mbert {

MaskingCounts ApplyMlmMasking(std::span<int32_t> ids, std::span<int32_t> labels,
                              const MlmMaskingOptions& opts, Rng& rng) {
  MBERT_CHECK(ids.size() == labels.size(), "ids ", ids.size(), " labels ", labels.size());
  // Thresholds computed in double exactly as the reference does (`mask_prob * 0.8`).
  const double p = opts.mlm_probability;
  const double t_mask = p * 0.8, t_random = p * 0.9;
  MaskingCounts counts;
  std::vector<size_t> random_positions;
  for (size_t i = 0; i < ids.size(); ++i) {
    const double r = rng.Uniform();
    const int32_t original = ids[i];
    const bool selected = r < p;
    labels[i] = (selected && original != opts.pad_token_id) ? original : kIgnoreIndex;
    if (labels[i] != kIgnoreIndex) ++counts.selected;
    if (r < t_mask) {
      ids[i] = opts.mask_token_id;
      if (labels[i] != kIgnoreIndex) ++counts.masked;
    } else if (r < t_random) {
      random_positions.push_back(i);
      if (labels[i] != kIgnoreIndex) ++counts.randomized;
    } else if (selected && labels[i] != kIgnoreIndex) {
      ++counts.kept;
    }
  }
  if (!random_positions.empty()) {
    // The range's upper end is the max of the batch after the [MASK] substitution, before any
    // random replacement (the reference evaluates np.max on that intermediate array).
    const int32_t hi = *std::max_element(ids.begin(), ids.end());
    MBERT_CHECK(hi >= 0, "negative token ids in a masked batch");
    for (size_t i : random_positions)
      ids[i] = static_cast<int32_t>(rng.UniformInt(static_cast<uint64_t>(hi) + 1));
  }
  return counts;
}

MaskingCounts ApplyMlmMasking(std::vector<PackedBatch>* rows, const MlmMaskingOptions& opts,
                              Rng& rng) {
  std::vector<int32_t> ids, labels;
  for (const PackedBatch& r : *rows) ids.insert(ids.end(), r.input_ids.begin(), r.input_ids.end());
  labels.resize(ids.size());
  const MaskingCounts counts = ApplyMlmMasking(std::span(ids), std::span(labels), opts, rng);
  size_t at = 0;
  for (PackedBatch& r : *rows) {
    const size_t n = r.input_ids.size();
    std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(at), n, r.input_ids.begin());
    r.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(at),
                    labels.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  return counts;
}

Status ValidateMlmMaskingOptions(const MlmMaskingOptions& opts) {
  if (!(opts.mlm_probability >= 0.0 && opts.mlm_probability <= 1.0))
    return Status::Error("mlm_probability is " + std::to_string(opts.mlm_probability) +
                         "; it must be in [0, 1] (the paper uses 0.3)");
  if (opts.mask_token_id < 0) return Status::Error("mask_token_id must be a valid token id");
  return Status::Ok();
}

Status ValidateEvalMaskingOptions(const EvalMaskingOptions& opts) {
  auto prob_ok = [](double x) { return x >= 0.0 && x <= 1.0; };
  if (!prob_ok(opts.mlm_probability))
    return Status::Error("eval mlm_probability must be in [0, 1] (HF default 0.15)");
  if (!prob_ok(opts.mask_replace_prob) || !prob_ok(opts.random_replace_prob) ||
      opts.mask_replace_prob + opts.random_replace_prob > 1.0)
    return Status::Error(
        "mask_replace_prob and random_replace_prob must be in [0, 1] and sum to at most 1 (HF "
        "defaults 0.8 and 0.1)");
  if (opts.vocab_size <= 0) return Status::Error("eval masking needs vocab_size > 0");
  if (opts.mask_token_id < 0) return Status::Error("mask_token_id must be a valid token id");
  return Status::Ok();
}

MaskingCounts ApplyEvalMlmMasking(std::span<int32_t> ids, std::span<int32_t> labels,
                                  const EvalMaskingOptions& opts, Rng& rng) {
  MBERT_CHECK(ids.size() == labels.size(), "ids ", ids.size(), " labels ", labels.size());
  const double remaining = 1.0 - opts.mask_replace_prob;
  // HF rescales the random share to what [MASK] left over (0.1 / 0.2 = 0.5 by default).
  const double random_scaled = remaining > 0.0 ? opts.random_replace_prob / remaining : 0.0;
  MaskingCounts counts;
  for (size_t i = 0; i < ids.size(); ++i) {
    labels[i] = kIgnoreIndex;
    const bool special = std::find(opts.special_ids.begin(), opts.special_ids.end(), ids[i]) !=
                         opts.special_ids.end();
    if (special || !(rng.Uniform() < opts.mlm_probability)) continue;
    labels[i] = ids[i];
    ++counts.selected;
    if (rng.Uniform() < opts.mask_replace_prob) {
      ids[i] = opts.mask_token_id;
      ++counts.masked;
    } else if (rng.Uniform() < random_scaled) {
      ids[i] = static_cast<int32_t>(rng.UniformInt(static_cast<uint64_t>(opts.vocab_size)));
      ++counts.randomized;
    } else {
      ++counts.kept;
    }
  }
  return counts;
}

MaskingCounts ApplyEvalMlmMasking(PackedBatch* batch, const EvalMaskingOptions& opts, Rng& rng) {
  batch->labels.resize(batch->input_ids.size());
  return ApplyEvalMlmMasking(std::span(batch->input_ids), std::span(batch->labels), opts, rng);
}

}  // namespace mbert
