// Embed (one pooled vector per input) and HiddenStates (every token's last hidden state).
#include <algorithm>

#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert {

Result<Matrix> Embed(Context& ctx, const std::vector<Input>& inputs, const EmbedOptions& options) {
  const Model::Impl& m = ctx.model().impl();
  if (options.dims < 0)
    return Status::Error("dims must be positive (or 0 for all), got " +
                         std::to_string(options.dims));
  if (m.colbert && !options.pooling)
    return Status::Error(m.info.path +
                         " is a ColBERT (PyLate) model: its output is token vectors "
                         "(ColbertEmbed, `mbert embed --colbert-role`); ask for a pooling "
                         "explicitly for a pooled vector of its hidden states");
  const SentenceEmbedder& embedder = m.embedder;
  const EmbedPooling pooling = options.pooling.value_or(embedder.pooling);
  const bool normalize = options.normalize || embedder.normalize;
  MBERT_ASSIGN_OR_RETURN(auto seqs, tasks::EncodeInputs(ctx, inputs, nullptr));
  const int64_t C = m.encoder.config().hidden_size;
  Matrix out;
  out.rows = static_cast<int64_t>(inputs.size());
  out.dim = options.dims > 0 ? options.dims : embedder.output_dim(C);
  std::vector<float> batch_out;
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        int64_t dim = 0;
        MBERT_RETURN_IF_ERROR(embedder.Embed(hidden.data(), C, b.cu_seqlens, options.dims, pooling,
                                             normalize, &batch_out, &dim));
        out.dim = dim;
        for (int s = 0; s < b.num_seqs(); ++s)
          MBERT_RETURN_IF_ERROR(tasks::CheckFinite(ctx, first + static_cast<size_t>(s),
                                                   batch_out.data() + s * dim, dim, "embedding"));
        out.values.insert(out.values.end(), batch_out.begin(),
                          batch_out.begin() + static_cast<int64_t>(b.num_seqs()) * dim);
        return Status::Ok();
      }));
  return out;
}

Result<std::vector<Matrix>> HiddenStates(Context& ctx, const std::vector<Input>& inputs) {
  MBERT_ASSIGN_OR_RETURN(auto seqs, tasks::EncodeInputs(ctx, inputs, nullptr));
  const int64_t C = ctx.model().info().hidden_size;
  std::vector<Matrix> out(inputs.size());
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        for (int s = 0; s < b.num_seqs(); ++s) {
          Matrix& r = out[first + static_cast<size_t>(s)];
          r.rows = b.seq_len(s);
          r.dim = C;
          r.values.assign(hidden.begin() + static_cast<int64_t>(b.seq_begin(s)) * C,
                          hidden.begin() + static_cast<int64_t>(b.seq_begin(s) + r.rows) * C);
          MBERT_RETURN_IF_ERROR(tasks::CheckFinite(ctx, first + static_cast<size_t>(s),
                                                   r.values.data(), r.rows * C, "hidden state"));
        }
        return Status::Ok();
      }));
  return out;
}

}  // namespace mbert
