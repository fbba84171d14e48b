// mbert::Context: one caller's state for running a shared mbert::Model — the forward's scratch
// buffers, a stage hook and an op profile. Cheap to create (buffers grow on first use and are
// then reused). A Context is used by one thread at a time; any number of Contexts may run on
// one Model concurrently, from different threads, and give the same results as one thread.
//
// Speed with OpenMP (GCC's libgomp): every thread that runs tasks gets its own pool of OpenMP
// workers, and while more OpenMP threads exist than cores (e.g. an idle pool left on the thread
// that loaded the model, beside the pool of the thread that runs the forwards) libgomp shortens
// its spin-waits, so the workers sleep and wake at each of a forward's parallel regions. Load the
// model and run its tasks on the same thread when you can (mbert serve does: 80 -> 41 ms for one
// 22-token forward of ModernBERT-base on 2 cores), or size `threads` so that all pools together
// fit the cores.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mbert/model.h"
#include "mbert/types.h"

namespace mbert {

struct ContextOptions {
  // Tokens per packed forward: inputs are packed (no padding) into batches of at most this many
  // tokens; a longer input runs alone.
  int64_t batch_tokens = 16384;
  // The longest input, in tokens (specials included); 0 or more than the model's
  // max_position_embeddings means the model's maximum.
  int64_t max_length = 0;
  // What happens to a longer input. false: the task fails with an error that names the input,
  // its length and the limit (nothing is cut without a word). true: it is cut to the limit, text
  // by the tokenizer (longest-first for pairs, the template's [CLS] ... [SEP] kept) and ids at
  // the end, keeping a leading [CLS] and a closing [SEP]; Context::truncated() lists them.
  bool truncate = false;
  // Added to the input numbers that errors name ("input 3 ..." is inputs[2] with 0): a caller
  // that feeds a long stream of inputs in chunks sets the count of inputs before the chunk, so
  // an error names the input of the whole stream.
  int64_t input_offset = 0;
  // OpenMP threads for this context's forwards (set on the calling thread before each task);
  // 0 leaves the calling thread's setting as it is.
  int threads = 0;
};

// An input that the last task run on a context cut to the limit (ContextOptions::truncate).
struct TruncatedInput {
  size_t input = 0;             // index into that task's inputs
  int64_t original_length = 0;  // tokens before truncation, specials included
  int64_t length = 0;           // tokens the task ran on
};

class MBERT_API Context {
 public:
  explicit Context(std::shared_ptr<const Model> model, const ContextOptions& options = {});
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Model& model() const;
  const std::shared_ptr<const Model>& shared_model() const;
  const ContextOptions& options() const;
  ContextOptions& mutable_options();

  // The inputs that the last task (Tokenize, Embed, ...) run on this context truncated, in input
  // order; empty when none was (or when truncation is off: longer inputs are then errors).
  const std::vector<TruncatedInput>& truncated() const;

  // Called at every named stage of every forward this context runs (empty to remove). Read-only:
  // it never changes what is computed.
  void SetStageHook(StageHook hook);
  // Per-op wall-clock profile of this context's forwards (off by default; no cost when off).
  void EnableProfile(bool on);
  const OpProfile& profile() const;
  void ResetProfile();

  // The library's own view (src/tasks/model_impl.h); not for users.
  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mbert
