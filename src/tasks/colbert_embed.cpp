// ColbertEmbed: a ColBERT (PyLate) model's token vectors, through the same ids and vector
// functions as fine-tuning and its dev evaluation (model/colbert.h).
#include <string>

#include "model/colbert.h"
#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert {

Result<std::vector<Matrix>> ColbertEmbed(Context& ctx, const std::vector<Input>& inputs,
                                         ColbertRole role) {
  const Model::Impl& m = ctx.model().impl();
  if (!m.colbert)
    return Status::Error(m.info.path +
                         " is not a ColBERT (PyLate) model: no pylate Dense module in "
                         "modules.json");
  const ColbertModule& col = *m.colbert;
  const bool query = role == ColbertRole::kQuery;
  const int64_t length = query ? col.query_length : col.document_length;
  std::vector<TruncatedInput>& truncated = ctx.impl().truncated;
  truncated.clear();
  std::vector<std::vector<int32_t>> seqs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& in = inputs[i];
    if (in.is_ids || in.text_pair)
      return Status::Error(tasks::InputName(ctx, i) +
                           ": a ColBERT model takes single texts (no token ids, no pairs)");
    int64_t full = 0;
    MBERT_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                           ColbertTextIds(*m.tokenizer, m.colbert_ids, in.text, query, length,
                                          col.do_query_expansion, &full));
    if (full > length) truncated.push_back({i, full, length});
    seqs.push_back(std::move(ids));
  }
  const int64_t C = m.encoder.config().hidden_size;
  const std::set<int32_t> none;
  const std::set<int32_t>& skip = query ? none : m.colbert_skiplist;
  std::vector<Matrix> out(inputs.size());
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        for (int s = 0; s < b.num_seqs(); ++s) {
          const size_t i = first + static_cast<size_t>(s);
          Matrix& r = out[i];
          r.dim = col.dim();
          r.rows = AppendColbertVectors(hidden.data() + static_cast<int64_t>(b.seq_begin(s)) * C,
                                        seqs[i].data(), b.seq_len(s), C, col.projection, skip,
                                        &r.values);
          MBERT_RETURN_IF_ERROR(
              tasks::CheckFinite(ctx, i, r.values.data(), r.rows * r.dim, "ColBERT vector"));
        }
        return Status::Ok();
      }));
  return out;
}

}  // namespace mbert
