#include "train/optimizer.h"

#include <string>
#include <tuple>
#include <utility>

namespace mbert {

void StableAdamWOptimizer::Step(const std::vector<ParamGroup>& groups, double lr) {
  MBERT_CHECK(!groups.empty(), "optimizer step without parameters");
  if (groups.size() == 1) {
    opt_.Step(*groups[0].params, *groups[0].grads, lr);
    return;
  }
  // Merge the groups into the first one's tables for the step, then give every tensor back.
  TensorTable& params = *groups[0].params;
  TensorTable& grads = *groups[0].grads;
  std::vector<std::pair<size_t, std::string>> moved_params, moved_grads;
  for (size_t k = 1; k < groups.size(); ++k) {
    for (auto [from, to, moved] : {std::tuple{groups[k].params, &params, &moved_params},
                                   std::tuple{groups[k].grads, &grads, &moved_grads}}) {
      while (!from->empty()) {
        const std::string name = from->begin()->first;
        MBERT_CHECK(to->count(name) == 0, "parameter ", name, " is in two groups");
        to->insert(from->extract(from->begin()));
        moved->emplace_back(k, name);
      }
    }
  }
  opt_.Step(params, grads, lr);
  for (const auto& [k, name] : moved_params) groups[k].params->insert(params.extract(name));
  for (const auto& [k, name] : moved_grads) groups[k].grads->insert(grads.extract(name));
}

}  // namespace mbert
