// What every task shares: turning inputs into token ids, and running the encoder over them in
// packed batches of the context's token budget.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "batch/packed_batch.h"
#include "mbert/tasks.h"

namespace mbert::tasks {

// Token ids per input: text tokenized with special tokens ([CLS] ... [SEP]) and truncated to the
// context's max_length (the tokenizer keeps the closing [SEP]); ids as given, truncated likewise.
// `encodings` (optional) receives the tokenizer's output per input (only ids for id inputs).
Result<std::vector<std::vector<int32_t>>> EncodeInputs(const Context& ctx,
                                                       const std::vector<Input>& inputs,
                                                       std::vector<Encoding>* encodings);

// The end (exclusive) of the packed batch that starts at sequence `first`, given every
// sequence's length: consecutive sequences while their tokens fit in `budget`, a longer one
// alone. RunPacked batches this way; the server's metrics replay it.
size_t BatchEnd(const std::vector<int64_t>& lengths, size_t first, int64_t budget);

// Packs consecutive sequences into batches of at most options().batch_tokens tokens (a longer
// sequence gets a batch of its own), runs the encoder on each with the context's state and calls
// fn(first_index, batch, hidden (N, C)). Errors name the inputs of the failing batch (1-based).
using BatchFn =
    std::function<Status(size_t first, const PackedBatch& batch, const std::vector<float>& hidden)>;
Status RunPacked(Context& ctx, const std::vector<std::vector<int32_t>>& seqs, const BatchFn& fn);

}  // namespace mbert::tasks
