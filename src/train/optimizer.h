// The optimizer seam of fine-tuning: one interface over AdamW (transformers Trainer's default)
// and StableAdamW (the ModernBERT recipe), stepping one or more parameter tables (the encoder's,
// plus any an objective owns, e.g. the ColBERT projection) as ONE optimizer step.
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "train/stable_adamw.h"

namespace mbert {

// A parameter table and its gradients (same names and shapes; a parameter without a gradient is
// skipped, like torch's p.grad is None). The optimizer reads the gradients' values only; the
// tables themselves may be rearranged during a step and are whole again when it returns.
struct ParamGroup {
  TensorTable* params;
  TensorTable* grads;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One optimizer step at learning rate `lr` over every group (parameter names must be distinct
  // across groups: the state is keyed by name).
  virtual void Step(const std::vector<ParamGroup>& groups, double lr) = 0;
};

// StableAdamW behind the Optimizer interface. Its step counter is shared by all parameters, so
// the groups are stepped as one table: the tensors (and gradients) are moved into the first
// group's tables and back out, never copied (a model's GEMMs may borrow their data pointers).
class StableAdamWOptimizer : public Optimizer {
 public:
  explicit StableAdamWOptimizer(StableAdamW opt) : opt_(std::move(opt)) {}
  void Step(const std::vector<ParamGroup>& groups, double lr) override;
  const StableAdamW& impl() const { return opt_; }

 private:
  StableAdamW opt_;
};

}  // namespace mbert
