// mbert fill-mask: top-k predictions for every [MASK] of each input, one JSON line per input:
// {"masks": [{"position": p, "predictions": [{"score", "token", "token_str", "sequence"}]}]}
// (the field names of transformers' fill-mask pipeline).
#include <algorithm>
#include <iostream>
#include <numeric>

#include "command.h"
#include "model/heads.h"
#include "runner.h"

namespace mbert::cli {

namespace {

struct Options {
  ModelOptions model;
  int top_k = 5;
};

int Run(const Options& o) {
  auto cm = LoadCliModel(o.model);
  if (!cm.ok()) return ReportError(cm.status());
  Model& model = *cm->model;
  if (model.config().architecture != Architecture::kMaskedLM)
    return ReportError(Status::Error(o.model.model_dir + ": fill-mask needs a "
                                     "ModernBertForMaskedLM checkpoint, this one is " +
                                     model.config().architecture_name));
  auto recs = ReadRecords(o.model);
  if (!recs.ok()) return ReportError(recs.status());
  auto seqs = EncodeRecords(cm.value(), recs.value(), o.model.max_length, nullptr);
  if (!seqs.ok()) return ReportError(seqs.status());
  const int32_t mask_id = cm->tokenizer ? cm->tokenizer->mask_id() : 50284;
  for (size_t i = 0; i < seqs->size(); ++i) {
    if (std::find((*seqs)[i].begin(), (*seqs)[i].end(), mask_id) == (*seqs)[i].end())
      return ReportError(Status::Error("input line " + std::to_string((*recs)[i].line) +
                                       " has no [MASK] token"));
  }
  const int64_t V = model.config().vocab_size;
  const int k = std::min<int>(o.top_k, static_cast<int>(V));
  Status st = RunBatches(model, seqs.value(), o.model.batch_tokens,
                         [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
    std::vector<int32_t> rows;
    for (int64_t t = 0; t < b.num_tokens(); ++t)
      if (b.input_ids[t] == mask_id) rows.push_back(static_cast<int32_t>(t));
    std::vector<float> logits;
    MaskedLmLogits(model, hidden.data(), b.num_tokens(), rows, &logits);
    SoftmaxRows(logits.data(), static_cast<int64_t>(rows.size()), V);
    size_t r = 0;
    for (int s = 0; s < b.num_seqs(); ++s) {
      const std::vector<int32_t>& ids = (*seqs)[first + s];
      nlohmann::json masks = nlohmann::json::array();
      for (; r < rows.size() && rows[r] < b.cu_seqlens[s + 1]; ++r) {
        const float* p = logits.data() + r * V;
        std::vector<int32_t> order(static_cast<size_t>(V));
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [p](int32_t a, int32_t c) { return p[a] > p[c] || (p[a] == p[c] && a < c); });
        nlohmann::json preds = nlohmann::json::array();
        const int32_t pos = rows[r] - b.cu_seqlens[s];
        for (int t = 0; t < k; ++t) {
          nlohmann::json pr = {{"score", p[order[t]]}, {"token", order[t]}};
          if (cm->tokenizer) {
            auto tok = cm->tokenizer->Decode({order[t]});
            std::vector<int32_t> filled = ids;
            filled[static_cast<size_t>(pos)] = order[t];
            auto seq = cm->tokenizer->Decode(filled);
            pr["token_str"] = tok.ok() ? tok.value() : "";
            pr["sequence"] = seq.ok() ? seq.value() : "";
          }
          preds.push_back(pr);
        }
        masks.push_back({{"position", pos}, {"predictions", preds}});
      }
      std::cout << nlohmann::json{{"masks", masks}}.dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    return Status::Ok();
  });
  return st.ok() ? 0 : ReportError(st);
}

}  // namespace

Subcommand AddFillMaskCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("fill-mask", "predict the tokens behind [MASK]");
  AddModelOptions(app, &o->model);
  app->add_option("-k,--top-k", o->top_k, "predictions per mask")->check(CLI::PositiveNumber);
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
