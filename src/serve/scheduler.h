// Scheduler: the dynamic batcher of one served model. HTTP handler threads submit jobs (token
// ids, already validated) and wait on a future; one worker thread loads the model, owns its
// Context and runs jobs in batches: the oldest queued job, then every later queued job of the same
// task and options, in FIFO order, while their tokens fit in max_batch_tokens. One task call runs
// the whole batch (the task packs it into forwards without padding) and its results are split back
// per job. A job longer than max_batch_tokens runs alone.
//
// All of the model's OpenMP work (loading: dtype conversion and weight reordering; every forward)
// runs on that one worker thread, and the server's other threads never enter a parallel region.
// libgomp gives each thread that starts parallel regions its own pool of workers; a second,
// idle pool (e.g. the main thread's, left from loading the model there) makes libgomp count more
// OpenMP threads than cores and throttle its spin-waits, so the forward's workers sleep and wake
// at every one of its parallel regions. Measured (Intel Xeon model 167, 2 cores, 2 threads,
// random ModernBERT-base, one 22-token text): 43 ms per forward with load and forwards on one
// thread, 66-73 ms with the load on the main thread and the forwards on another.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/status.h"
#include "mbert/tasks.h"
#include "serve/metrics.h"

namespace mbert::serve {

enum class TaskKind { kEmbed, kHiddenStates, kClassify, kFillMask };

// What a job asks for. Jobs batch together only when their params are equal.
struct TaskParams {
  TaskKind kind = TaskKind::kEmbed;
  bool normalize = false;  // embed
  int dims = 0;            // embed (Matryoshka)
  int top_k = 5;           // fill-mask
  bool operator==(const TaskParams&) const = default;
};

// A job's share of its batch's results (only the member of its task kind is set), in the order
// of the job's sequences.
struct JobResult {
  Status status;
  Matrix embeddings;                            // kEmbed: (sequences, dim)
  std::vector<Matrix> hidden;                   // kHiddenStates: per sequence (tokens, C)
  std::vector<SequenceClassification> classes;  // kClassify
  std::vector<FillMaskResult> masks;            // kFillMask
  double queue_seconds = 0.0;                   // enqueue -> its batch started
  double inference_seconds = 0.0;               // its batch's task call
  int64_t batch_tokens = 0;                     // tokens of its whole batch
  int batch_jobs = 0;                           // jobs in its batch
};

struct SchedulerOptions {
  int64_t max_batch_tokens = 16384;
  int max_queue = 256;
  int threads = 0;  // OpenMP threads of the worker's Context (0: runtime default)
};

class Scheduler {
 public:
  // Starts the worker, which loads the model (Model::Load(source, load)); returns once it is
  // loaded, or its error.
  static Result<std::unique_ptr<Scheduler>> Start(const std::string& source,
                                                  const LoadOptions& load,
                                                  const SchedulerOptions& options,
                                                  Metrics* metrics);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  enum class Refusal { kNone, kQueueFull, kStopped };
  // Queues a job over `seqs` (token ids). A full queue or a stopped scheduler refuses at once:
  // `*refusal` says why and the future is invalid.
  std::future<JobResult> Submit(const TaskParams& params, std::vector<std::vector<int32_t>> seqs,
                                Refusal* refusal);

  // Refuses new jobs, runs every queued one (even while paused), then joins the worker.
  // Idempotent.
  void Stop();

  // The loaded model (immutable: handler threads read its info and tokenizer).
  const std::shared_ptr<const Model>& model() const { return model_; }
  size_t queue_depth() const;
  // Test hook: while paused the worker takes no job, so a test can fill the queue
  // deterministically (429) or make several jobs wait to batch together.
  void SetPaused(bool paused);
  // Most jobs one batch has run so far (batching made observable to tests).
  int max_batch_jobs() const;

 private:
  struct Job {
    TaskParams params;
    std::vector<std::vector<int32_t>> seqs;
    int64_t tokens = 0;
    std::chrono::steady_clock::time_point enqueued;
    std::promise<JobResult> promise;
  };

  Scheduler(const SchedulerOptions& options, Metrics* metrics);
  // The worker: loads the model and makes ctx_ (reported through `loaded`), then runs batches.
  void WorkerMain(const std::string& source, const LoadOptions& load, std::promise<Status>* loaded);
  void WorkerLoop();
  // Takes the oldest job and the later ones it can batch with; mu_ is held.
  std::vector<std::unique_ptr<Job>> TakeBatchLocked();
  void RunBatch(std::vector<std::unique_ptr<Job>>& batch);

  SchedulerOptions options_;
  std::shared_ptr<const Model> model_;  // set by the worker before Start returns
  std::unique_ptr<Context> ctx_;        // the worker's alone
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;
  bool paused_ = false;
  int max_batch_jobs_ = 0;
  std::thread worker_;
};

}  // namespace mbert::serve
