// The model `mbert finetune` starts from: a checkpoint of any ModernBERT architecture turned into
// the task's (ModernBertForSequenceClassification, or ...ForTokenClassification) with the data's
// labels, as transformers' AutoModelFor*.from_pretrained(dir, num_labels=K) does: parameters the
// checkpoint has with the right shape are kept (encoder, and head.* from a masked-LM or task
// checkpoint); the others (the classifier, head.* of a bare ModernBertModel) are initialised by
// MegatronInit's rules (init.h, HF `_init_weights`) from `seed`. A checkpoint of the task's own
// architecture with a different number of labels is an error (its classifier would be thrown
// away silently).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mbert/status.h"
#include "model/encoder.h"
#include "train/finetune_examples.h"

namespace mbert {

// `id2label`: the data's labels (classification); ignored for regression, which has one output
// named "LABEL_0" as transformers names it.
Result<Encoder> LoadTaskModel(const std::string& dir, FineTuneTask task,
                              const std::vector<std::string>& id2label, uint64_t seed);

// config.json of a fine-tuned model: ModelConfig::ToJson plus problem_type for sequence tasks
// ("single_label_classification" / "regression", what transformers' loss selection reads).
nlohmann::json TaskConfigJson(const ModelConfig& c, FineTuneTask task);

}  // namespace mbert
