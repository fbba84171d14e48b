// mbert embed: one sentence embedding per input, JSONL {"index": i, "embedding": [...]} (plus
// "truncated": true and "original_length" for an input cut by --truncate).
// Pooling/normalisation come from a sentence-transformers layout when present (modules.json),
// else mean pooling; --pooling, --normalize and --dims (Matryoshka truncation) override.
// A ColBERT (PyLate) model prints token vectors instead, {"index": i, "text": ..., "vectors":
// [[...], ...]}, as a query (default, as PyLate's encode) or with --colbert-role document; a
// pooled vector of it only with an explicit --pooling.
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
  std::string colbert_role;
};

// One line per input: its ColBERT token vectors.
Status WriteColbert(Context& ctx, const std::vector<Input>& inputs, int64_t first,
                    ColbertRole role) {
  MBERT_ASSIGN_OR_RETURN(std::vector<Matrix> vecs, ColbertEmbed(ctx, inputs, role));
  const std::vector<int64_t> cut = TruncatedLengths(ctx, inputs.size());
  for (size_t i = 0; i < vecs.size(); ++i) {
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t r = 0; r < vecs[i].rows; ++r)
      rows.push_back(std::vector<float>(vecs[i].row(r), vecs[i].row(r) + vecs[i].dim));
    nlohmann::json j = {{"index", first + static_cast<int64_t>(i)},
                        {"text", inputs[i].text},
                        {"vectors", std::move(rows)}};
    MarkTruncated(cut[i], &j);
    std::cout << j.dump() << "\n";
  }
  return Status::Ok();
}

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
  const bool colbert = ctx->model().info().colbert && o.pooling.empty();
  if (!o.colbert_role.empty() && !ctx->model().info().colbert)
    return ReportError(
        Status::Error("--colbert-role: " + o.model.model_dir + " is not a ColBERT (PyLate) model"));
  if (!o.colbert_role.empty() && !o.pooling.empty())
    return ReportError(Status::Error("--colbert-role and --pooling exclude each other"));
  if (colbert && o.dims > 0)
    return ReportError(Status::Error("--dims does not apply to ColBERT token vectors"));
  if (colbert) {
    const ColbertRole role =
        o.colbert_role == "document" ? ColbertRole::kDocument : ColbertRole::kQuery;
    Status st = ForEachInputChunk(o.model, ctx.value(),
                                  [&](const std::vector<Input>& inputs, int64_t first) {
                                    return WriteColbert(ctx.value(), inputs, first, role);
                                  });
    if (!st.ok()) return ReportError(st);
    return 0;
  }
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
  app->add_option("--colbert-role", o->colbert_role,
                  "ColBERT (PyLate) models: encode as query (default: [Q], [MASK]-expanded) or "
                  "document ([D], punctuation dropped)")
      ->check(CLI::IsMember({"query", "document"}));
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
