// mbert embed: one sentence embedding per input, JSONL {"index": i, "embedding": [...]}.
// Pooling/normalisation come from a sentence-transformers layout when present (modules.json),
// else mean pooling; --pooling, --normalize and --dims (Matryoshka truncation) override.
#include <iostream>

#include "command.h"
#include "model/sentence_embedder.h"
#include "runner.h"

namespace mbert::cli {

namespace {

struct Options {
  ModelOptions model;
  std::string pooling;
  bool normalize = false;
  int dims = 0;
};

int Run(const Options& o) {
  auto cm = LoadCliModel(o.model);
  if (!cm.ok()) return ReportError(cm.status());
  Model& model = *cm->model;
  auto emb = SentenceEmbedder::Load(o.model.model_dir, model.config());
  if (!emb.ok()) return ReportError(emb.status());
  if (!o.pooling.empty()) {
    auto p = ParseEmbedPooling(o.pooling);
    if (!p.ok()) return ReportError(p.status());
    emb->pooling = p.value();
  }
  if (o.normalize) emb->normalize = true;
  auto recs = ReadRecords(o.model);
  if (!recs.ok()) return ReportError(recs.status());
  auto seqs = EncodeRecords(cm.value(), recs.value(), o.model.max_length, nullptr);
  if (!seqs.ok()) return ReportError(seqs.status());
  Status st = RunBatches(model, seqs.value(), o.model.batch_tokens,
                         [&](size_t first, const PackedBatch& b, const std::vector<float>& hidden) {
    std::vector<float> out;
    int64_t dim = 0;
    MBERT_RETURN_IF_ERROR(
        emb->Embed(hidden.data(), model.config().hidden_size, b.cu_seqlens, o.dims, &out, &dim));
    for (int s = 0; s < b.num_seqs(); ++s) {
      nlohmann::json j = {{"index", first + s},
                          {"embedding", std::vector<float>(out.begin() + s * dim,
                                                           out.begin() + (s + 1) * dim)}};
      std::cout << j.dump() << "\n";
    }
    return Status::Ok();
  });
  return st.ok() ? 0 : ReportError(st);
}

}  // namespace

Subcommand AddEmbedCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("embed", "sentence embeddings (JSONL out)");
  AddModelOptions(app, &o->model);
  app->add_option("--pooling", o->pooling, "cls, mean, max or lasttoken (default: model's)");
  app->add_flag("--normalize", o->normalize, "L2-normalise the embeddings");
  app->add_option("--dims", o->dims, "Matryoshka: keep the first DIMS dimensions")
      ->check(CLI::PositiveNumber);
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
