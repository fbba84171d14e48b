// id2label / label2id for classification data, as transformers' config.json stores them.
//
// Order (stable and documented, so that two runs over the same files give the same ids): the
// caller's list when it gives one (a task's fixed labels, or the training split's map reused for
// dev and test); otherwise the distinct labels seen, ordered numerically when every label is an
// integer ("0" < "1" < "10") and by bytes otherwise ("entailment" < "not_entailment"). Regression
// tasks have no label map: their labels are floats.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::data {

class LabelMap {
 public:
  LabelMap() = default;
  // The labels in id order; an error for a duplicate or an empty label.
  static Result<LabelMap> FromList(std::vector<std::string> id2label);
  // The distinct values of `seen` in the documented order above.
  static LabelMap FromSeen(const std::vector<std::string>& seen);

  int64_t size() const { return static_cast<int64_t>(id2label_.size()); }
  const std::vector<std::string>& id2label() const { return id2label_; }
  // -1 when `label` is not in the map.
  int64_t Id(const std::string& label) const;
  const std::string& Label(int64_t id) const { return id2label_.at(static_cast<size_t>(id)); }

  // {"id2label": {"0": "neg", ...}, "label2id": {"neg": 0, ...}} for config.json.
  nlohmann::json ToConfigJson() const;

 private:
  std::vector<std::string> id2label_;
  std::map<std::string, int64_t> label2id_;
};

}  // namespace mbert::data
