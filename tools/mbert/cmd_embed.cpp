// mbert embed: one sentence embedding per input, JSONL {"index": i, "embedding": [...]} (plus
// "truncated": true and "original_length" for an input cut by --truncate).
// Pooling/normalisation come from a sentence-transformers layout when present (modules.json),
// else mean pooling; --pooling, --normalize and --dims (Matryoshka truncation) override.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "int_flags.h"
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
  EmbedOptions opts;
  if (!o.pooling.empty()) {
    auto p = ParseEmbedPooling(o.pooling);
    if (!p.ok()) return ReportError(p.status());
    opts.pooling = p.value();
  }
  opts.normalize = o.normalize;
  opts.dims = o.dims;
  auto ctx = LoadContext(o.model);
  if (!ctx.ok()) return ReportError(ctx.status());
  Status st =
      ForEachInputChunk(o.model, ctx.value(), [&](const std::vector<Input>& inputs, int64_t first) {
        MBERT_ASSIGN_OR_RETURN(Matrix emb, Embed(ctx.value(), inputs, opts));
        const std::vector<int64_t> cut = TruncatedLengths(ctx.value(), inputs.size());
        for (int64_t i = 0; i < emb.rows; ++i) {
          const float* row = emb.row(i);
          nlohmann::json j = {{"index", first + i},
                              {"embedding", std::vector<float>(row, row + emb.dim)}};
          MarkTruncated(cut[static_cast<size_t>(i)], &j);
          std::cout << j.dump() << "\n";
        }
        return Status::Ok();
      });
  if (!st.ok()) return ReportError(st);
  return 0;
}

}  // namespace

Subcommand AddEmbedCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("embed", "sentence embeddings (JSONL out)");
  AddModelOptions(app, &o->model);
  app->add_option("--pooling", o->pooling, "cls, mean, max or lasttoken (default: model's)");
  app->add_flag("--normalize", o->normalize, "L2-normalise the embeddings");
  app->add_option("--dims", o->dims, "Matryoshka: keep the first DIMS dimensions")
      ->check(AtLeast(1));
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
