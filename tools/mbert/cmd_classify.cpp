// mbert classify: sequence classification ({"label", "score", "scores"}) or token classification
// ({"tokens": [{"id", "token", "label", "score", "start", "end"}]}), per the checkpoint's
// architecture; "truncated" and "original_length" for an input cut by --truncate.
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
  const bool sequences = info.task == ModelTask::kSequenceClassification;
  Status st = ForEachInputChunk(o, ctx.value(), [&](const std::vector<Input>& inputs, int64_t) {
    std::vector<nlohmann::json> lines;
    if (sequences) {
      MBERT_ASSIGN_OR_RETURN(std::vector<SequenceClassification> results,
                             ClassifySequences(ctx.value(), inputs));
      for (const SequenceClassification& r : results) {
        nlohmann::json scores;
        for (size_t k = 0; k < r.scores.size(); ++k) scores[info.labels[k]] = r.scores[k];
        lines.push_back({{"label", r.label}, {"score", r.score}, {"scores", std::move(scores)}});
      }
    } else {
      MBERT_ASSIGN_OR_RETURN(std::vector<TokenClassification> results,
                             ClassifyTokens(ctx.value(), inputs));
      for (const TokenClassification& r : results) {
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
        lines.push_back({{"tokens", std::move(toks)}});
      }
    }
    const std::vector<int64_t> cut = TruncatedLengths(ctx.value(), inputs.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      MarkTruncated(cut[i], &lines[i]);
      std::cout << lines[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return Status::Ok();
  });
  if (!st.ok()) return ReportError(st);
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
