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

#include "mbert/model.h"
#include "mbert/types.h"

namespace mbert {

struct ContextOptions {
  // Tokens per packed forward: inputs are packed (no padding) into batches of at most this many
  // tokens; a longer input runs alone.
  int64_t batch_tokens = 16384;
  // Inputs longer than this many tokens are truncated (text keeps its closing [SEP]); 0 means the
  // model's max_position_embeddings.
  int64_t max_length = 0;
  // OpenMP threads for this context's forwards (set on the calling thread before each task);
  // 0 leaves the calling thread's setting as it is.
  int threads = 0;
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

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mbert
