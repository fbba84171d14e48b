#include "model/grads.h"

namespace mbert {

TensorTable ZeroGradsLike(const TensorTable& params) {
  TensorTable g;
  for (const auto& [name, t] : params) g.emplace(name, Tensor(t.shape()));
  return g;
}

float* GradOf(TensorTable* grads, const std::string& name) {
  auto it = grads->find(name);
  MBERT_CHECK(it != grads->end(), "no gradient slot for ", name);
  return it->second.data();
}

float* OptionalGrad(TensorTable* grads, const std::string& name) {
  auto it = grads->find(name);
  return it == grads->end() ? nullptr : it->second.data();
}

}  // namespace mbert
