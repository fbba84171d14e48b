#include "train/task_model.h"

#include "model/weights.h"
#include "train/init.h"

namespace mbert {

Result<Encoder> LoadTaskModel(const std::string& dir, FineTuneTask task,
                              const std::vector<std::string>& id2label, uint64_t seed) {
  MBERT_ASSIGN_OR_RETURN(ModelConfig src, ModelConfig::FromFile(dir + "/config.json"));
  MBERT_ASSIGN_OR_RETURN(TensorTable have, LoadWeights(dir, src));
  ModelConfig c = src;
  c.architecture = task == FineTuneTask::kTokenClassification
                       ? Architecture::kTokenClassification
                       : Architecture::kSequenceClassification;
  c.architecture_name = ArchitectureName(c.architecture);
  c.id2label = task == FineTuneTask::kRegression ? std::vector<std::string>{"LABEL_0"} : id2label;
  if (c.id2label.empty()) return Status::Error(dir + ": the training data has no labels");
  if (src.architecture == c.architecture && src.id2label.size() != c.id2label.size())
    return Status::Error(dir + "/config.json: the model is a " + c.architecture_name + " with " +
                         std::to_string(src.id2label.size()) + " labels, the data has " +
                         std::to_string(c.id2label.size()) +
                         "; start from its base (masked-LM) checkpoint instead");
  TensorTable params;
  for (const ParamSpec& p : ExpectedParams(c)) params.emplace(p.name, Tensor(p.shape));
  MBERT_RETURN_IF_ERROR(MegatronInit(c, seed, &params));
  for (auto& [name, t] : params) {
    auto it = have.find(name);
    if (it != have.end() && it->second.shape() == t.shape()) t = std::move(it->second);
  }
  return Encoder::FromParams(std::move(c), std::move(params));
}

nlohmann::json TaskConfigJson(const ModelConfig& c, FineTuneTask task) {
  nlohmann::json j = c.ToJson();
  if (task == FineTuneTask::kRegression) j["problem_type"] = "regression";
  if (task == FineTuneTask::kSequenceClassification)
    j["problem_type"] = "single_label_classification";
  return j;
}

}  // namespace mbert
