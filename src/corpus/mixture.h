// A mixture file: which prepared sources training draws from and how often.
//
//   {"sources": [{"name": "python-doc", "weight": 2.0},
//                {"name": "gcide", "weight": 0.5}]}
//
// A draw picks source s with probability weight_s / sum(weights) (weights > 0, finite); names
// must exist in the corpus manifest (checked by CorpusSampler::Open). The order of the list is
// part of the sample order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::corpus {

struct MixtureEntry {
  std::string name;
  double weight = 1;
};

struct Mixture {
  std::vector<MixtureEntry> sources;

  static Result<Mixture> FromJson(const nlohmann::json& j, const std::string& origin);
  static Result<Mixture> Read(const std::string& path);
};

}  // namespace mbert::corpus
