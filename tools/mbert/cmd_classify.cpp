// mbert classify: sequence classification ({"label", "score", "scores"}) or token classification
// ({"tokens": [{"id", "token", "label", "score", "start", "end"}]}), per the checkpoint's
// architecture.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "runner.h"

namespace mbert::cli {

namespace {

int Run(const ModelOptions& o) {
  auto ctx = LoadContext(o);
  if (!ctx.ok()) return ReportError(ctx.status());
  const ModelInfo& info = ctx->model().info();
  if (info.task != ModelTask::kSequenceClassification &&
      info.task != ModelTask::kTokenClassification)
    return ReportError(Status::Error(o.model_dir +
                                     ": classify needs a "
                                     "ModernBertForSequenceClassification or "
                                     "ModernBertForTokenClassification checkpoint, this one is " +
                                     info.architecture));
  auto inputs = ReadModelInputs(o);
  if (!inputs.ok()) return ReportError(inputs.status());
  if (info.task == ModelTask::kSequenceClassification) {
    auto results = ClassifySequences(ctx.value(), inputs.value());
    if (!results.ok()) return ReportError(results.status());
    for (const SequenceClassification& r : results.value()) {
      nlohmann::json scores;
      for (size_t k = 0; k < r.scores.size(); ++k) scores[info.labels[k]] = r.scores[k];
      std::cout << nlohmann::json{{"label", r.label}, {"score", r.score}, {"scores", scores}}.dump()
                << "\n";
    }
    return 0;
  }
  auto results = ClassifyTokens(ctx.value(), inputs.value());
  if (!results.ok()) return ReportError(results.status());
  for (const TokenClassification& r : results.value()) {
    nlohmann::json toks = nlohmann::json::array();
    for (const TokenLabel& t : r.tokens) {
      nlohmann::json tok = {{"id", t.id}, {"label", t.label}, {"score", t.score}};
      if (t.start >= 0) {
        tok["token"] = t.token;
        tok["start"] = t.start;
        tok["end"] = t.end;
      }
      toks.push_back(std::move(tok));
    }
    std::cout << nlohmann::json{{"tokens", toks}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
              << "\n";
  }
  return 0;
}

}  // namespace

Subcommand AddClassifyCommand(CLI::App& root) {
  auto o = std::make_shared<ModelOptions>();
  CLI::App* app = root.add_subcommand("classify", "sequence or token classification");
  AddModelOptions(app, o.get());
  return {app, [o] { return Run(*o); }};
}

}  // namespace mbert::cli
