#include "serve/scheduler.h"

#include <exception>
#include <utility>

#include "tasks/run.h"

namespace mbert::serve {

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

ContextOptions WorkerContextOptions(const SchedulerOptions& o) {
  ContextOptions c;
  c.batch_tokens = o.max_batch_tokens;
  c.threads = o.threads;
  return c;  // max_length 0: inputs arrive already checked against the server's input limit
}

// Tokens of each forward the task will run (tasks::BatchEnd: the tasks' own packing).
std::vector<int64_t> ForwardTokens(const std::vector<Input>& inputs, int64_t budget) {
  std::vector<int64_t> lengths, out;
  for (const Input& in : inputs) lengths.push_back(static_cast<int64_t>(in.ids.size()));
  for (size_t i = 0; i < lengths.size();) {
    const size_t j = tasks::BatchEnd(lengths, i, budget);
    int64_t n = 0;
    for (size_t k = i; k < j; ++k) n += lengths[k];
    out.push_back(n);
    i = j;
  }
  return out;
}

}  // namespace

Scheduler::Scheduler(const SchedulerOptions& options, Metrics* metrics)
    : options_(options), metrics_(metrics) {}

Result<std::unique_ptr<Scheduler>> Scheduler::Start(const std::string& source,
                                                    const LoadOptions& load,
                                                    const SchedulerOptions& options,
                                                    Metrics* metrics) {
  std::unique_ptr<Scheduler> s(new Scheduler(options, metrics));
  std::promise<Status> loaded;  // moved to the worker, which outlives this call
  std::future<Status> status = loaded.get_future();
  s->worker_ = std::thread([&self = *s, source, load, loaded = std::move(loaded)]() mutable {
    self.WorkerMain(source, load, &loaded);
  });
  Status st = status.get();
  if (!st.ok()) {
    s->worker_.join();  // it returned after reporting the error
    return st;
  }
  return s;
}

void Scheduler::WorkerMain(const std::string& source, const LoadOptions& load,
                           std::promise<Status>* loaded) {
  try {
    auto model = Model::Load(source, load);
    if (!model.ok()) {
      loaded->set_value(model.status());
      return;
    }
    model_ = model.value();
    ctx_ = std::make_unique<Context>(model_, WorkerContextOptions(options_));
  } catch (const std::exception& e) {
    loaded->set_value(Status::Error(std::string("loading failed: ") + e.what()));
    return;
  }
  loaded->set_value(Status::Ok());
  WorkerLoop();
}

Scheduler::~Scheduler() { Stop(); }

std::future<JobResult> Scheduler::Submit(const TaskParams& params,
                                         std::vector<std::vector<int32_t>> seqs, Refusal* refusal) {
  auto job = std::make_unique<Job>();
  job->params = params;
  for (const auto& s : seqs) job->tokens += static_cast<int64_t>(s.size());
  job->seqs = std::move(seqs);
  std::future<JobResult> future = job->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      *refusal = Refusal::kStopped;
      return {};
    }
    if (static_cast<int64_t>(queue_.size()) >= options_.max_queue) {
      *refusal = Refusal::kQueueFull;
      return {};
    }
    job->enqueued = Clock::now();
    queue_.push_back(std::move(job));
  }
  *refusal = Refusal::kNone;
  cv_.notify_one();
  return future;
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

size_t Scheduler::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Scheduler::SetPaused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = paused;
  }
  cv_.notify_all();
}

int Scheduler::max_batch_jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_batch_jobs_;
}

void Scheduler::WorkerLoop() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // A stopping scheduler drains its queue even when paused.
      cv_.wait(lock, [this] { return stopping_ || (!paused_ && !queue_.empty()); });
      if (queue_.empty()) return;  // stopping and drained
      batch = TakeBatchLocked();
      max_batch_jobs_ = std::max(max_batch_jobs_, static_cast<int>(batch.size()));
    }
    RunBatch(batch);
  }
}

std::vector<std::unique_ptr<Scheduler::Job>> Scheduler::TakeBatchLocked() {
  std::vector<std::unique_ptr<Job>> batch;
  batch.push_back(std::move(queue_.front()));
  queue_.pop_front();
  int64_t tokens = batch.front()->tokens;
  const TaskParams params = batch.front()->params;
  // Later jobs of other kinds keep their place; the first same-kind job that does not fit ends
  // the batch so that same-kind jobs still run in arrival order.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (!((*it)->params == params)) {
      ++it;
      continue;
    }
    if (tokens + (*it)->tokens > options_.max_batch_tokens) break;
    tokens += (*it)->tokens;
    batch.push_back(std::move(*it));
    it = queue_.erase(it);
  }
  return batch;
}

void Scheduler::RunBatch(std::vector<std::unique_ptr<Job>>& batch) {
  const Clock::time_point start = Clock::now();
  const TaskParams params = batch.front()->params;
  std::vector<Input> inputs;
  int64_t tokens = 0;
  for (auto& job : batch) {
    tokens += job->tokens;
    for (auto& s : job->seqs) inputs.push_back(Input::Ids(std::move(s)));
  }
  JobResult all;
  try {
    switch (params.kind) {
      case TaskKind::kEmbed: {
        EmbedOptions o;
        o.normalize = params.normalize;
        o.dims = params.dims;
        auto r = Embed(*ctx_, inputs, o);
        if (r.ok()) all.embeddings = std::move(r).value();
        all.status = r.status();
        break;
      }
      case TaskKind::kHiddenStates: {
        auto r = HiddenStates(*ctx_, inputs);
        if (r.ok()) all.hidden = std::move(r).value();
        all.status = r.status();
        break;
      }
      case TaskKind::kClassify: {
        auto r = ClassifySequences(*ctx_, inputs);
        if (r.ok()) all.classes = std::move(r).value();
        all.status = r.status();
        break;
      }
      case TaskKind::kFillMask: {
        FillMaskOptions o;
        o.top_k = params.top_k;
        auto r = FillMask(*ctx_, inputs, o);
        if (r.ok()) all.masks = std::move(r).value();
        all.status = r.status();
        break;
      }
    }
  } catch (const std::exception& e) {
    // Out of memory and the like: fail this batch's jobs, keep serving.
    all.status = Status::Error(std::string("inference failed: ") + e.what());
  }
  const double inference = Seconds(Clock::now() - start);
  if (metrics_) {
    metrics_->inference_seconds.Observe(inference);
    metrics_->batch_requests.Observe(static_cast<double>(batch.size()));
    if (all.status.ok()) {
      for (int64_t n : ForwardTokens(inputs, options_.max_batch_tokens))
        metrics_->batch_tokens.Observe(static_cast<double>(n));
      metrics_->AddTokens(tokens);
    }
  }
  // (B, dim) rows or per-sequence results, split back in job order.
  size_t first = 0;
  for (auto& job : batch) {
    const size_t n = job->seqs.size();
    JobResult r;
    r.status = all.status;
    r.queue_seconds = Seconds(start - job->enqueued);
    r.inference_seconds = inference;
    r.batch_tokens = tokens;
    r.batch_jobs = static_cast<int>(batch.size());
    if (metrics_) metrics_->queue_seconds.Observe(r.queue_seconds);
    if (all.status.ok()) {
      switch (params.kind) {
        case TaskKind::kEmbed: {
          const int64_t dim = all.embeddings.dim;
          r.embeddings.rows = static_cast<int64_t>(n);
          r.embeddings.dim = dim;
          r.embeddings.values.assign(
              all.embeddings.values.begin() + static_cast<int64_t>(first) * dim,
              all.embeddings.values.begin() + static_cast<int64_t>(first + n) * dim);
          break;
        }
        case TaskKind::kHiddenStates:
          for (size_t i = first; i < first + n; ++i) r.hidden.push_back(std::move(all.hidden[i]));
          break;
        case TaskKind::kClassify:
          for (size_t i = first; i < first + n; ++i) r.classes.push_back(std::move(all.classes[i]));
          break;
        case TaskKind::kFillMask:
          for (size_t i = first; i < first + n; ++i) r.masks.push_back(std::move(all.masks[i]));
          break;
      }
    }
    first += n;
    job->promise.set_value(std::move(r));
  }
}

}  // namespace mbert::serve
