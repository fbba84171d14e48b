// ClassifySequences and ClassifyTokens: softmax over the classifier's logits, labels from the
// config's id2label.
#include <algorithm>

#include "model/heads.h"
#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert {

namespace {

Status NeedArchitecture(const Model::Impl& m, Architecture a) {
  if (m.encoder.config().architecture == a) return Status::Ok();
  return Status::Error(m.info.path + ": this task needs a " + ArchitectureName(a) +
                       " checkpoint, this one is " + m.encoder.config().architecture_name);
}

int Argmax(const float* p, int K) { return static_cast<int>(std::max_element(p, p + K) - p); }

}  // namespace

Result<std::vector<SequenceClassification>> ClassifySequences(Context& ctx,
                                                              const std::vector<Input>& inputs) {
  const Model::Impl& m = ctx.model().impl();
  MBERT_RETURN_IF_ERROR(NeedArchitecture(m, Architecture::kSequenceClassification));
  const ModelConfig& c = m.encoder.config();
  const int K = c.num_labels();
  MBERT_ASSIGN_OR_RETURN(auto seqs, tasks::EncodeInputs(ctx, inputs, nullptr));
  std::vector<SequenceClassification> out(inputs.size());
  std::vector<float> logits;
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        SequenceClassificationLogits(m.encoder, hidden.data(), b.cu_seqlens, &logits);
        for (int s = 0; s < b.num_seqs(); ++s) {
          SequenceClassification& r = out[first + static_cast<size_t>(s)];
          r.logits.assign(logits.begin() + s * K, logits.begin() + (s + 1) * K);
          MBERT_RETURN_IF_ERROR(tasks::CheckFinite(ctx, first + static_cast<size_t>(s),
                                                   r.logits.data(), K, "logits"));
          r.scores = r.logits;
          SoftmaxRows(r.scores.data(), 1, K);
          r.label_id = Argmax(r.scores.data(), K);
          r.label = c.id2label[static_cast<size_t>(r.label_id)];
          r.score = r.scores[static_cast<size_t>(r.label_id)];
        }
        return Status::Ok();
      }));
  return out;
}

Result<std::vector<TokenClassification>> ClassifyTokens(Context& ctx,
                                                        const std::vector<Input>& inputs) {
  const Model::Impl& m = ctx.model().impl();
  MBERT_RETURN_IF_ERROR(NeedArchitecture(m, Architecture::kTokenClassification));
  const ModelConfig& c = m.encoder.config();
  const int K = c.num_labels();
  std::vector<Encoding> encs;
  MBERT_ASSIGN_OR_RETURN(auto seqs, tasks::EncodeInputs(ctx, inputs, &encs));
  std::vector<TokenClassification> out(inputs.size());
  std::vector<float> logits;
  MBERT_RETURN_IF_ERROR(tasks::RunPacked(
      ctx, seqs, [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
        TokenClassificationLogits(m.encoder, hidden.data(), b.num_tokens(), &logits);
        for (int s = 0; s < b.num_seqs(); ++s)
          MBERT_RETURN_IF_ERROR(tasks::CheckFinite(ctx, first + static_cast<size_t>(s),
                                                   logits.data() + int64_t{b.cu_seqlens[s]} * K,
                                                   int64_t{b.seq_len(s)} * K, "logits"));
        SoftmaxRows(logits.data(), b.num_tokens(), K);
        for (int s = 0; s < b.num_seqs(); ++s) {
          const Encoding& e = encs[first + static_cast<size_t>(s)];
          TokenClassification& r = out[first + static_cast<size_t>(s)];
          for (int32_t t = b.cu_seqlens[s]; t < b.cu_seqlens[s + 1]; ++t) {
            const size_t pos = static_cast<size_t>(t - b.cu_seqlens[s]);
            const float* p = logits.data() + static_cast<int64_t>(t) * K;
            TokenLabel tok;
            tok.id = b.input_ids[static_cast<size_t>(t)];
            tok.label_id = Argmax(p, K);
            tok.label = c.id2label[static_cast<size_t>(tok.label_id)];
            tok.score = p[tok.label_id];
            if (pos < e.tokens.size()) {
              tok.token = e.tokens[pos];
              tok.start = e.offsets[pos].first;
              tok.end = e.offsets[pos].second;
            }
            r.tokens.push_back(std::move(tok));
          }
        }
        return Status::Ok();
      }));
  return out;
}

}  // namespace mbert
