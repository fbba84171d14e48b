#include "tasks/run.h"

#include <omp.h>

#include <string>

#include "core/thread_limit.h"
#include "tasks/model_impl.h"

namespace mbert::tasks {

size_t BatchEnd(const std::vector<int64_t>& lengths, size_t first, int64_t budget) {
  size_t j = first;
  int64_t tokens = 0;
  while (j < lengths.size() && (j == first || tokens + lengths[j] <= budget))
    tokens += lengths[j++];
  return j;
}

Status RunPacked(Context& ctx, const std::vector<std::vector<int32_t>>& seqs, const BatchFn& fn) {
  Context::Impl& c = ctx.impl();
  if (c.options.batch_tokens <= 0)
    return Status::Error("batch_tokens must be positive, got " +
                         std::to_string(c.options.batch_tokens));
  // Checked here, where it is used, so that every entry point (C++ API, C API, server) refuses a
  // count that would crash libgomp instead of handing it on.
  MBERT_RETURN_IF_ERROR(CheckThreadCount(c.options.threads, "ContextOptions::threads"));
  if (c.options.threads > 0) omp_set_num_threads(c.options.threads);
  const Encoder& encoder = c.model->impl().encoder;
  std::vector<int64_t> lengths;
  for (const auto& s : seqs) lengths.push_back(static_cast<int64_t>(s.size()));
  PackedBatch batch;
  size_t i = 0;
  while (i < seqs.size()) {
    // Greedy in input order: results come back in order and a batch never reorders inputs.
    // Cleared, not rebuilt: the vectors keep their capacity from one batch to the next.
    batch.input_ids.clear();
    batch.positions.clear();
    batch.cu_seqlens.assign(1, 0);
    batch.max_seqlen = 0;
    const size_t j = BatchEnd(lengths, i, c.options.batch_tokens);
    for (size_t k = i; k < j; ++k) batch.AppendSequence(seqs[k]);
    Status st = encoder.Forward(batch, c.forward, &c.hidden);
    if (!st.ok())
      return st.Wrap(j - i > 1 ? "inputs " + std::to_string(InputNumber(ctx, i)) + "-" +
                                     std::to_string(InputNumber(ctx, j - 1))
                               : InputName(ctx, i));
    MBERT_RETURN_IF_ERROR(fn(i, batch, c.hidden));
    i = j;
  }
  return Status::Ok();
}

Result<std::vector<Encoding>> Tokenize(const Context& ctx, const std::vector<Input>& inputs) {
  std::vector<Encoding> encodings;
  MBERT_ASSIGN_OR_RETURN(auto ids, EncodeInputs(ctx, inputs, &encodings));
  (void)ids;
  return encodings;
}

}  // namespace mbert::tasks

namespace mbert {

Result<std::vector<Encoding>> Tokenize(const Context& ctx, const std::vector<Input>& inputs) {
  return tasks::Tokenize(ctx, inputs);
}

}  // namespace mbert
