// mbert classify: sequence classification ({"label", "score", "scores"}) or token classification
// ({"tokens": [{"token", "label", "score", "start", "end"}]}), per the checkpoint's architecture.
#include <algorithm>
#include <iostream>

#include "command.h"
#include "model/heads.h"
#include "runner.h"

namespace mbert::cli {

namespace {

int Run(const ModelOptions& o) {
  auto cm = LoadCliModel(o);
  if (!cm.ok()) return ReportError(cm.status());
  Model& model = *cm->model;
  const ModelConfig& c = model.config();
  const bool seq = c.architecture == Architecture::kSequenceClassification;
  if (!seq && c.architecture != Architecture::kTokenClassification)
    return ReportError(Status::Error(o.model_dir + ": classify needs a "
                                     "ModernBertForSequenceClassification or "
                                     "ModernBertForTokenClassification checkpoint, this one is " +
                                     c.architecture_name));
  auto recs = ReadRecords(o);
  if (!recs.ok()) return ReportError(recs.status());
  std::vector<Encoding> encs;
  auto seqs = EncodeRecords(cm.value(), recs.value(), o.max_length, &encs);
  if (!seqs.ok()) return ReportError(seqs.status());
  const int K = c.num_labels();
  Status st = RunBatches(model, seqs.value(), o.batch_tokens,
                         [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
    std::vector<float> logits;
    if (seq) {
      SequenceClassificationLogits(model, hidden.data(), b.cu_seqlens, &logits);
      SoftmaxRows(logits.data(), b.num_seqs(), K);
      for (int s = 0; s < b.num_seqs(); ++s) {
        const float* p = logits.data() + s * K;
        const int best = static_cast<int>(std::max_element(p, p + K) - p);
        nlohmann::json scores;
        for (int k = 0; k < K; ++k) scores[c.id2label[k]] = p[k];
        std::cout << nlohmann::json{{"label", c.id2label[best]}, {"score", p[best]},
                                    {"scores", scores}}
                         .dump()
                  << "\n";
      }
      return Status::Ok();
    }
    TokenClassificationLogits(model, hidden.data(), b.num_tokens(), &logits);
    SoftmaxRows(logits.data(), b.num_tokens(), K);
    for (int s = 0; s < b.num_seqs(); ++s) {
      const Encoding& e = encs[first + s];
      nlohmann::json toks = nlohmann::json::array();
      for (int32_t t = b.cu_seqlens[s]; t < b.cu_seqlens[s + 1]; ++t) {
        const size_t pos = static_cast<size_t>(t - b.cu_seqlens[s]);
        const float* p = logits.data() + static_cast<int64_t>(t) * K;
        const int best = static_cast<int>(std::max_element(p, p + K) - p);
        nlohmann::json tok = {{"id", b.input_ids[t]}, {"label", c.id2label[best]},
                              {"score", p[best]}};
        if (pos < e.tokens.size()) {
          tok["token"] = e.tokens[pos];
          tok["start"] = e.offsets[pos].first;
          tok["end"] = e.offsets[pos].second;
        }
        toks.push_back(tok);
      }
      std::cout << nlohmann::json{{"tokens", toks}}.dump(
                       -1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    return Status::Ok();
  });
  return st.ok() ? 0 : ReportError(st);
}

}  // namespace

Subcommand AddClassifyCommand(CLI::App& root) {
  auto o = std::make_shared<ModelOptions>();
  CLI::App* app = root.add_subcommand("classify", "sequence or token classification");
  AddModelOptions(app, o.get());
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
