// mbert fill-mask: top-k predictions for every [MASK] of each input, one JSON line per input:
// {"masks": [{"position": p, "predictions": [{"score", "token", "token_str", "sequence"}]}]}
// (the field names of transformers' fill-mask pipeline).
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
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
  auto inputs = ReadModelInputs(o.model);
  if (!inputs.ok()) return ReportError(inputs.status());
  FillMaskOptions opts;
  opts.top_k = o.top_k;
  auto results = FillMask(ctx.value(), inputs.value(), opts);
  if (!results.ok()) return ReportError(results.status());
  const bool has_tokenizer = ctx->model().tokenizer() != nullptr;
  for (const FillMaskResult& r : results.value()) {
    nlohmann::json masks = nlohmann::json::array();
    for (const MaskPrediction& m : r.masks) {
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
    std::cout << nlohmann::json{{"masks", masks}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
              << "\n";
  }
  return 0;
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
