// mbert info --model DIR: config summary, parameter count and the layer plan.
#include <iostream>

#include "command.h"
#include "hub/hub.h"
#include "model/encoder.h"

namespace mbert::cli {

Subcommand AddInfoCommand(CLI::App& root) {
  auto model_dir = std::make_shared<std::string>(MBERT_DEFAULT_MODEL_DIR);
  CLI::App* app = root.add_subcommand("info", "show a model's config, size and layer plan");
  app->add_option("-m,--model", *model_dir, "HF model directory");
  return {app, [model_dir]() -> int {
            auto dir = hub::ResolveModelDir(*model_dir);
            auto m = dir.ok() ? Encoder::Load(dir.value()) : Result<Encoder>(dir.status());
            if (!m.ok()) {
              std::cerr << "error: " << m.status().message() << "\n";
              return 1;
            }
            const ModelConfig& c = m->config();
            std::cout << "model:          " << *model_dir << "\n"
                      << "architecture:   " << c.architecture_name << "\n"
                      << "parameters:     " << m->num_parameters() << "\n"
                      << "vocab_size:     " << c.vocab_size << "\n"
                      << "hidden_size:    " << c.hidden_size << "\n"
                      << "intermediate:   " << c.intermediate_size << " (Wi outputs "
                      << 2 * c.intermediate_size << ")\n"
                      << "layers:         " << c.num_hidden_layers << "\n"
                      << "heads:          " << c.num_attention_heads << " x " << c.head_dim << "\n"
                      << "local window:   |i-j| <= " << c.half_window() << "\n"
                      << "max positions:  " << c.max_position_embeddings << "\n"
                      << "norm_eps:       " << c.norm_eps << "\n";
            if (!c.id2label.empty()) {
              std::cout << "labels:        ";
              for (const auto& l : c.id2label) std::cout << " " << l;
              std::cout << "\n";
            }
            std::cout << "layer plan:\n";
            for (size_t i = 0; i < m->plan().size(); ++i) {
              const LayerSpec& s = m->plan()[i];
              std::cout << "  " << i << ": " << (s.global ? "global" : "local ")
                        << "  rope_theta=" << s.rope_theta
                        << (s.global ? "" : "  window=" + std::to_string(s.window))
                        << (s.has_attn_norm ? "" : "  (no attn_norm)") << "\n";
            }
            return 0;
          }};
}

}  // namespace mbert::cli
