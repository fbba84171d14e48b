// ForwardContext: everything one caller of Encoder::Forward owns — reused scratch buffers, an
// optional stage hook and an optional per-op profile — so that one immutable Encoder can serve
// several threads at once, each with its own context (llama.cpp's llama_model / llama_context).
// A context is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "mbert/types.h"

namespace mbert {

// The stages Emit reports and their order are listed with Stage in mbert/types.h.
class ForwardContext {
 public:
  // Called at every stage (empty: none). Hooks see read-only views valid during the call.
  StageHook hook;
  // When set, each stage's elapsed time since the previous one is added to profile->seconds[op]
  // (the ops are synchronous, so the interval between two stages is the op between them).
  OpProfile* profile = nullptr;

  // Scratch reused between forwards (resized, never shrunk): steady-state inference does not
  // allocate.
  std::vector<float> x, h, qkv, attn, tmp, u, g;

  // Marks the start of a forward (the first stage's interval starts here).
  void Begin(int64_t tokens) {
    if (profile != nullptr) {
      profile->tokens += tokens;
      last_ = std::chrono::steady_clock::now();
    }
  }
  // Reports a stage to the hook and the profile.
  void Emit(int layer, const char* name, const char* op, const float* data, int64_t rows,
            int64_t cols) {
    if (profile != nullptr) {
      const auto now = std::chrono::steady_clock::now();
      profile->seconds[op] += std::chrono::duration<double>(now - last_).count();
      last_ = now;
    }
    if (hook) hook(Stage{layer, name, op, data, rows, cols});
    if (profile != nullptr) last_ = std::chrono::steady_clock::now();  // hook time not counted
  }

 private:
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mbert
