// LayerPlan: what each encoder layer does, decided once at load (design.md §3). The forward loop
// reads the plan and never recomputes `i % n` itself.
#pragma once

#include <vector>

#include "model/config.h"

namespace mbert {

struct LayerSpec {
  bool global = true;
  int window = -1;           // half window W (|i - j| <= W, inclusive); -1 for global layers
  double rope_theta = 0.0;   // 160k global / 10k local for released checkpoints
  bool has_attn_norm = true; // false for layer 0: the embedding norm already normalises its input
};

inline std::vector<LayerSpec> BuildLayerPlan(const ModelConfig& c) {
  std::vector<LayerSpec> plan(static_cast<size_t>(c.num_hidden_layers));
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    LayerSpec& s = plan[static_cast<size_t>(i)];
    s.global = c.layer_is_global[static_cast<size_t>(i)];
    s.window = s.global ? -1 : c.half_window();
    s.rope_theta = s.global ? c.global_rope_theta : c.local_rope_theta;
    s.has_attn_norm = (i != 0);
  }
  return plan;
}

}  // namespace mbert
