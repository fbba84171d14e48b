#include "tasks/run.h"

#include <omp.h>

#include <string>

#include "tasks/model_impl.h"

namespace mbert::tasks {

namespace {

std::string InputName(size_t i) { return "input " + std::to_string(i + 1); }

}  // namespace

Result<std::vector<std::vector<int32_t>>> EncodeInputs(const Context& ctx,
                                                       const std::vector<Input>& inputs,
                                                       std::vector<Encoding>* encodings) {
  const ModelInfo& info = ctx.model().info();
  const Tokenizer* tokenizer = ctx.model().tokenizer();
  const int64_t max_length = ctx.options().max_length;
  const int64_t limit = max_length > 0 ? std::min(max_length, info.max_position_embeddings)
                                       : info.max_position_embeddings;
  std::vector<std::vector<int32_t>> out(inputs.size());
  if (encodings) encodings->assign(inputs.size(), Encoding{});
  std::vector<TextPair> texts;
  std::vector<size_t> text_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& in = inputs[i];
    if (in.is_ids) {
      out[i] = in.ids;
      if (static_cast<int64_t>(out[i].size()) > limit) out[i].resize(static_cast<size_t>(limit));
      if (encodings) (*encodings)[i].ids = out[i];
      continue;
    }
    if (tokenizer == nullptr)
      return Status::Error(InputName(i) + " is text but " + info.path +
                           " has no tokenizer.json; add one or pass token ids");
    TextPair p;
    p.text = in.text;
    if (in.text_pair) {
      p.text_pair = *in.text_pair;
      p.has_pair = true;
    }
    texts.push_back(p);
    text_index.push_back(i);
  }
  if (!texts.empty()) {
    EncodeOptions opts;
    opts.truncation.enabled = true;
    opts.truncation.max_length = static_cast<size_t>(limit);
    std::vector<Result<Encoding>> enc = tokenizer->EncodeBatch(texts, opts);
    for (size_t k = 0; k < enc.size(); ++k) {
      const size_t i = text_index[k];
      if (!enc[k].ok()) return enc[k].status().Wrap(InputName(i));
      out[i] = enc[k].value().ids;
      if (encodings) (*encodings)[i] = std::move(enc[k]).value();
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].empty()) return Status::Error(InputName(i) + " has no tokens");
  }
  return out;
}

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
      return st.Wrap(j - i > 1 ? "inputs " + std::to_string(i + 1) + "-" + std::to_string(j)
                               : InputName(i));
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
