// Backward of Encoder::Forward (design.md §9, "backward beside the forward"): given the
// activations a training forward kept and dHidden = dLoss/d(final hidden states after
// final_norm) (N, C), accumulates the gradient of every encoder parameter (embeddings, layers,
// final_norm) into an HF-named gradient table. Heads compute dHidden (heads_backward.h and the
// objectives above the model); the encoder does not know which loss produced it.
#pragma once

#include <vector>

#include "batch/packed_batch.h"
#include "core/tensor.h"
#include "model/encoder.h"

namespace mbert {

// Scratch of one backward, reused between calls (resized, never shrunk) so steady-state steps do
// not allocate. One per concurrent caller.
struct EncoderBackwardWorkspace {
  std::vector<float> dx, dnorm, dattn;  // (N, C)
  std::vector<float> dqkv;              // (N, 3C)
  std::vector<float> dg, du;            // (N, I), (N, 2I)
};

// `acts` must come from m.Forward(batch, ctx, &hidden, &acts) on this same batch and these same
// weights. `dhidden` (N, C) is read only. Gradients are ACCUMULATED into `grads` (every encoder
// parameter needs a slot; head parameters are not touched). Any scale (micro-batch weight) is
// already in dhidden: everything here is linear in it. The tied token embedding's lookup
// gradient skips row pad_token_id (nn.Embedding padding_idx), as transformers does.
void EncoderBackward(const Encoder& m, const PackedBatch& batch, const ForwardActivations& acts,
                     const float* dhidden, TensorTable* grads, EncoderBackwardWorkspace* ws);

}  // namespace mbert
