// FillMask: top-k tokens for every mask of each input, with transformers' fill-mask pipeline
// fields (score, token, token_str, sequence).
#include <algorithm>
#include <numeric>

#include "model/heads.h"
#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert {

Result<std::vector<FillMaskResult>> FillMask(Context& ctx, const std::vector<Input>& inputs,
                                             const FillMaskOptions& options) {
  const Model::Impl& m = ctx.model().impl();
  const Encoder& encoder = m.encoder;
  if (encoder.config().architecture != Architecture::kMaskedLM)
    return Status::Error(m.info.path +
                         ": fill-mask needs a ModernBertForMaskedLM checkpoint, "
                         "this one is " +
                         encoder.config().architecture_name);
  if (options.top_k < 1)
    return Status::Error("top_k must be at least 1, got " + std::to_string(options.top_k));
  // Without a tokenizer, ModernBERT's [MASK] id (tokenizer.json's added token 50284).
  const int32_t mask_id = m.tokenizer ? m.tokenizer->mask_id() : 50284;
  MBERT_ASSIGN_OR_RETURN(auto seqs, tasks::EncodeInputs(ctx, inputs, nullptr));
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (std::find(seqs[i].begin(), seqs[i].end(), mask_id) == seqs[i].end())
      return Status::Error("input " + std::to_string(i + 1) + " has no mask token (" +
                           (m.tokenizer ? m.tokenizer->IdToToken(mask_id) : "[MASK]") +
                           ") after truncation to " + std::to_string(seqs[i].size()) + " tokens");
  }
  const int64_t V = encoder.config().vocab_size;
  const int k = static_cast<int>(std::min<int64_t>(options.top_k, V));
  std::vector<FillMaskResult> results(inputs.size());
  std::vector<int32_t> rows, order(static_cast<size_t>(V));
  std::vector<float> logits;
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        rows.clear();
        for (int64_t t = 0; t < b.num_tokens(); ++t)
          if (b.input_ids[t] == mask_id) rows.push_back(static_cast<int32_t>(t));
        // Only the mask rows go through the head and the (V-wide) decoder.
        MaskedLmLogits(encoder, hidden.data(), b.num_tokens(), rows, &logits);
        SoftmaxRows(logits.data(), static_cast<int64_t>(rows.size()), V);
        size_t r = 0;
        for (int s = 0; s < b.num_seqs(); ++s) {
          const std::vector<int32_t>& ids = seqs[first + static_cast<size_t>(s)];
          FillMaskResult& out = results[first + static_cast<size_t>(s)];
          for (; r < rows.size() && rows[r] < b.cu_seqlens[s + 1]; ++r) {
            const float* p = logits.data() + static_cast<int64_t>(r) * V;
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(
                order.begin(), order.begin() + k, order.end(),
                [p](int32_t a, int32_t c) { return p[a] > p[c] || (p[a] == p[c] && a < c); });
            MaskPrediction pred;
            pred.position = rows[r] - b.cu_seqlens[s];
            for (int t = 0; t < k; ++t) {
              MaskCandidate cand;
              cand.score = p[order[t]];
              cand.token = order[t];
              if (m.tokenizer) {
                auto tok = m.tokenizer->Decode({order[t]});
                std::vector<int32_t> filled = ids;
                filled[static_cast<size_t>(pred.position)] = order[t];
                auto seq = m.tokenizer->Decode(filled);
                if (tok.ok()) cand.token_str = std::move(tok).value();
                if (seq.ok()) cand.sequence = std::move(seq).value();
              }
              pred.candidates.push_back(std::move(cand));
            }
            out.masks.push_back(std::move(pred));
          }
        }
        return Status::Ok();
      }));
  return results;
}

}  // namespace mbert
