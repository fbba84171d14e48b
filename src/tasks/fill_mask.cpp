// FillMask: top-k tokens for every mask of each input, with transformers' fill-mask pipeline
// fields (score, token, token_str, sequence).
#include <algorithm>
#include <numeric>

#include "model/heads.h"
#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert {

namespace {

// Mask rows per decoder call: 256 x V floats (51 MB at ModernBERT's 50k vocabulary) bound the
// logits of a batch with any number of masks, and keep the GEMM's M large enough to run well.
constexpr size_t kMaskBlock = 256;

}  // namespace

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
      return Status::Error(tasks::InputName(ctx, i) + " has no mask token (" +
                           (m.tokenizer ? m.tokenizer->IdToToken(mask_id) : "[MASK]") +
                           ") in its " + std::to_string(seqs[i].size()) + " tokens");
  }
  const int64_t V = encoder.config().vocab_size;
  const int k = static_cast<int>(std::min<int64_t>(options.top_k, V));
  std::vector<FillMaskResult> results(inputs.size());
  std::vector<int32_t> rows, block, order(static_cast<size_t>(V));
  std::vector<float> logits;
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        rows.clear();
        for (int64_t t = 0; t < b.num_tokens(); ++t)
          if (b.input_ids[t] == mask_id) rows.push_back(static_cast<int32_t>(t));
        // Only the mask rows go through the head and the (V-wide) decoder, a block of them at a
        // time: the logits take kMaskBlock x V floats however many masks the batch holds.
        int s = 0;  // the sequence of the current mask row
        for (size_t r0 = 0; r0 < rows.size(); r0 += kMaskBlock) {
          const size_t r1 = std::min(rows.size(), r0 + kMaskBlock);
          block.assign(rows.begin() + static_cast<std::ptrdiff_t>(r0),
                       rows.begin() + static_cast<std::ptrdiff_t>(r1));
          MaskedLmLogits(encoder, hidden.data(), b.num_tokens(), block, &logits);
          for (size_t r = r0; r < r1; ++r) {
            while (rows[r] >= b.cu_seqlens[s + 1]) ++s;
            const size_t input = first + static_cast<size_t>(s);
            float* p = logits.data() + static_cast<int64_t>(r - r0) * V;
            MBERT_RETURN_IF_ERROR(tasks::CheckFinite(ctx, input, p, V, "mask logits"));
            SoftmaxRows(p, 1, V);
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(
                order.begin(), order.begin() + k, order.end(),
                [p](int32_t a, int32_t c) { return p[a] > p[c] || (p[a] == p[c] && a < c); });
            MaskPrediction pred;
            pred.position = rows[r] - b.cu_seqlens[s];
            const std::vector<int32_t>& ids = seqs[input];
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
            results[input].masks.push_back(std::move(pred));
          }
        }
        return Status::Ok();
      }));
  return results;
}

}  // namespace mbert
