// What every task shares: turning inputs into token ids, and running the encoder over them in
// packed batches of the context's token budget.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "batch/packed_batch.h"
#include "mbert/tasks.h"

namespace mbert::tasks {

// "input N": how errors name inputs[i], numbered from 1 after the context's input_offset.
int64_t InputNumber(const Context& ctx, size_t i);
std::string InputName(const Context& ctx, size_t i);

// The longest input the context runs, in tokens: its max_length, at most the model's maximum.
int64_t InputLimit(const Context& ctx);

// `ids` cut to `limit` tokens: a leading cls_id and a closing sep_id are kept (when limit leaves
// room for them) and the tokens between them lose their end.
std::vector<int32_t> TruncateIds(const std::vector<int32_t>& ids, size_t limit, int32_t cls_id,
                                 int32_t sep_id);

// Token ids per input: text tokenized with special tokens ([CLS] ... [SEP]); ids as given. An
// input longer than InputLimit is an error naming it, its length and the limit, or, with the
// context's truncate option, cut (text by the tokenizer, which keeps the template's specials;
// ids by TruncateIds) and listed in Context::truncated. `encodings` (optional) receives the
// tokenizer's output per input (only ids for id inputs).
Result<std::vector<std::vector<int32_t>>> EncodeInputs(const Context& ctx,
                                                       const std::vector<Input>& inputs,
                                                       std::vector<Encoding>* encodings);

// An error naming the input when any of the n values at `v` is NaN or infinite: a task never
// returns a non-finite output (broken weights, or a config such as an absurd rope_theta, give
// them). `what` names the output ("embedding", "logits", ...).
Status CheckFinite(const Context& ctx, size_t i, const float* v, int64_t n, const char* what);

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
