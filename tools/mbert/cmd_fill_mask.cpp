// mbert fill-mask: top-k predictions for every [MASK] of each input, one JSON line per input:
// {"masks": [{"position": p, "predictions": [{"score", "token", "token_str", "sequence"}]}]}
// (the field names of transformers' fill-mask pipeline; "truncated" and "original_length" for an
// input cut by --truncate).
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "int_flags.h"
#include "runner.h"

namespace mbert::cli {

namespace {

struct Options {
  ModelOptions model;
  int top_k = 5;
};

int Run(const Options& o) {
  auto ctx = LoadContext(o.model);
  if (!ctx.ok()) return ReportError(ctx.status());
  FillMaskOptions opts;
  opts.top_k = o.top_k;
  const bool has_tokenizer = ctx->model().tokenizer() != nullptr;
  Status st =
      ForEachInputChunk(o.model, ctx.value(), [&](const std::vector<Input>& inputs, int64_t) {
        MBERT_ASSIGN_OR_RETURN(std::vector<FillMaskResult> results,
                               FillMask(ctx.value(), inputs, opts));
        const std::vector<int64_t> cut = TruncatedLengths(ctx.value(), inputs.size());
        for (size_t i = 0; i < results.size(); ++i) {
          nlohmann::json masks = nlohmann::json::array();
          for (const MaskPrediction& m : results[i].masks) {
            nlohmann::json preds = nlohmann::json::array();
            for (const MaskCandidate& c : m.candidates) {
              nlohmann::json p = {{"score", c.score}, {"token", c.token}};
              if (has_tokenizer) {
                p["token_str"] = c.token_str;
                p["sequence"] = c.sequence;
              }
              preds.push_back(std::move(p));
            }
            masks.push_back({{"position", m.position}, {"predictions", std::move(preds)}});
          }
          nlohmann::json line = {{"masks", std::move(masks)}};
          MarkTruncated(cut[i], &line);
          std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        }
        return Status::Ok();
      });
  if (!st.ok()) return ReportError(st);
  return 0;
}

}  // namespace

Subcommand AddFillMaskCommand(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* app = root.add_subcommand("fill-mask", "predict the tokens behind [MASK]");
  AddModelOptions(app, &o->model);
  app->add_option("-k,--top-k", o->top_k, "predictions per mask")->check(AtLeast(1));
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
