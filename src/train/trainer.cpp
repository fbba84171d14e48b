#include "train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "hub/hub.h"
#include "model/weights.h"
#include "train/init.h"
#include "train/mlm_backward.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

template <typename T>
Status Read(const json& j, const char* key, T* out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return Status::Error(origin + ": field '" + key + "' has the wrong type (" + it->dump() + ")");
  }
  return Status::Ok();
}

json RngToJson(const Rng& r) {
  json a = json::array();
  for (uint64_t w : r.state()) a.push_back(std::to_string(w));
  return a;
}

Status RngFromJson(const json& j, Rng* r, const std::string& what) {
  if (!j.is_array() || j.size() != 4) return Status::Error("trainer state: bad RNG state " + what);
  Rng::State s{};
  for (size_t i = 0; i < 4; ++i) s[i] = std::stoull(j[i].get<std::string>());
  r->set_state(s);
  return Status::Ok();
}

}  // namespace

Result<TrainConfig> TrainConfig::FromFile(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  return FromJson(j, path, fs::path(path).parent_path().string());
}

Result<TrainConfig> TrainConfig::FromJson(const json& j, const std::string& origin,
                                          const std::string& base) {
  if (!j.is_object()) return Status::Error(origin + ": training config must be a JSON object");
  static const char* kKnown[] = {
      "output_dir",   "init_from",        "model",      "tokenizer", "data",
      "seed",         "mlm_probability",  "row_tokens", "rows",      "batch_size_warmup",
      "optimizer",    "schedule",         "max_steps",  "log_every", "eval_every",
      "eval_batches", "checkpoint_every", "threads"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; }) == std::end(kKnown))
      return Status::Error(origin + ": unknown field '" + it.key() + "'");
  }
  TrainConfig c;
  MBERT_RETURN_IF_ERROR(Read(j, "output_dir", &c.output_dir, origin));
  if (c.output_dir.empty()) return Status::Error(origin + ": 'output_dir' is required");
  c.output_dir = Resolve(base, c.output_dir);
  MBERT_RETURN_IF_ERROR(Read(j, "init_from", &c.init_from, origin));
  c.init_from = Resolve(base, c.init_from);
  if (auto m = j.find("model"); m != j.end()) {
    if (m->is_string()) {
      MBERT_ASSIGN_OR_RETURN(c.model_config, ReadJsonFile(Resolve(base, m->get<std::string>())));
    } else if (m->is_object()) {
      c.model_config = *m;
    } else {
      return Status::Error(origin + ": 'model' must be a config.json path or object");
    }
  }
  if (c.init_from.empty() == c.model_config.is_null())
    return Status::Error(origin +
                         ": give exactly one of 'init_from' (a checkpoint directory) "
                         "or 'model' (a config for a freshly initialised model)");
  MBERT_RETURN_IF_ERROR(Read(j, "tokenizer", &c.tokenizer_dir, origin));
  c.tokenizer_dir = Resolve(base, c.tokenizer_dir.empty() ? c.init_from : c.tokenizer_dir);
  if (c.tokenizer_dir.empty()) return Status::Error(origin + ": 'tokenizer' directory is required");

  const json data = j.value("data", json::object());
  if (!data.is_object()) return Status::Error(origin + ": 'data' must be an object");
  std::vector<std::string> files;
  MBERT_RETURN_IF_ERROR(Read(data, "train", &files, origin + " data"));
  for (auto& f : files) c.data.files.push_back(Resolve(base, f));
  MBERT_RETURN_IF_ERROR(Read(data, "split", &c.data.split, origin + " data"));
  MBERT_RETURN_IF_ERROR(Read(data, "jsonl_field", &c.data.jsonl_field, origin + " data"));
  MBERT_RETURN_IF_ERROR(Read(data, "max_seq_len", &c.data.max_seq_len, origin + " data"));
  MBERT_RETURN_IF_ERROR(Read(data, "min_tokens", &c.data.min_tokens, origin + " data"));
  MBERT_RETURN_IF_ERROR(Read(data, "eval_every", &c.data.eval_every, origin + " data"));

  MBERT_RETURN_IF_ERROR(Read(j, "seed", &c.seed, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "mlm_probability", &c.mlm_probability, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "row_tokens", &c.row_tokens, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "rows", &c.rows, origin));
  if (auto bw = j.find("batch_size_warmup"); bw != j.end()) {
    MBERT_RETURN_IF_ERROR(Read(*bw, "min_rows", &c.min_rows, origin + " batch_size_warmup"));
    MBERT_RETURN_IF_ERROR(
        Read(*bw, "tokens", &c.batch_warmup_tokens, origin + " batch_size_warmup"));
  }
  const json opt = j.value("optimizer", json::object());
  MBERT_RETURN_IF_ERROR(Read(opt, "lr", &c.lr, origin + " optimizer"));
  MBERT_RETURN_IF_ERROR(
      Read(opt, "weight_decay", &c.optimizer.weight_decay, origin + " optimizer"));
  MBERT_RETURN_IF_ERROR(Read(opt, "eps", &c.optimizer.eps, origin + " optimizer"));
  if (auto b = opt.find("betas"); b != opt.end()) {
    if (!b->is_array() || b->size() != 2)
      return Status::Error(origin + ": optimizer.betas must be [b1, b2]");
    c.optimizer.beta1 = (*b)[0].get<double>();
    c.optimizer.beta2 = (*b)[1].get<double>();
  }
  c.optimizer.max_lr = c.lr;
  const json sch = j.value("schedule", json::object());
  std::string unit = "steps", shape = "1-sqrt";
  MBERT_RETURN_IF_ERROR(Read(sch, "unit", &unit, origin + " schedule"));
  MBERT_RETURN_IF_ERROR(Read(sch, "decay_shape", &shape, origin + " schedule"));
  MBERT_ASSIGN_OR_RETURN(c.schedule.unit, ParseScheduleUnit(unit));
  MBERT_ASSIGN_OR_RETURN(c.schedule.shape, ParseDecayShape(shape));
  MBERT_RETURN_IF_ERROR(Read(sch, "warmup", &c.schedule.warmup, origin + " schedule"));
  MBERT_RETURN_IF_ERROR(Read(sch, "decay", &c.schedule.decay, origin + " schedule"));
  MBERT_RETURN_IF_ERROR(Read(sch, "alpha_f", &c.schedule.alpha_f, origin + " schedule"));
  c.schedule.peak_lr = c.lr;
  MBERT_RETURN_IF_ERROR(Read(j, "max_steps", &c.max_steps, origin));
  c.schedule.total = c.schedule.unit == ScheduleUnit::kSteps ? c.max_steps : 0;
  MBERT_RETURN_IF_ERROR(Read(sch, "total", &c.schedule.total, origin + " schedule"));
  MBERT_RETURN_IF_ERROR(Read(j, "log_every", &c.log_every, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "eval_every", &c.eval_every, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "eval_batches", &c.eval_batches, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "checkpoint_every", &c.checkpoint_every, origin));
  MBERT_RETURN_IF_ERROR(Read(j, "threads", &c.threads, origin));
  if (c.rows < 1 || c.min_rows < 1 || c.min_rows > c.rows)
    return Status::Error(origin + ": need 1 <= batch_size_warmup.min_rows <= rows");
  if (c.row_tokens < 8) return Status::Error(origin + ": row_tokens must be at least 8");
  if (c.data.max_seq_len > c.row_tokens)
    return Status::Error(origin + ": data.max_seq_len must not exceed row_tokens");
  if (c.max_steps < 1) return Status::Error(origin + ": max_steps must be positive");
  if (!(c.lr > 0)) return Status::Error(origin + ": optimizer.lr must be positive");
  return c;
}

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& config, bool resume) {
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = config;
  if (config.threads > 0) omp_set_num_threads(config.threads);
  MBERT_ASSIGN_OR_RETURN(const std::string tokenizer_dir,
                         hub::ResolveModelDir(config.tokenizer_dir));
  MBERT_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::FromModelDir(tokenizer_dir));
  t->tokenizer_ = std::move(tok);

  std::string latest;
  if (resume) {
    auto l = ReadFile(config.output_dir + "/latest");
    if (!l.ok()) return Status::Error(config.output_dir + ": nothing to resume (no 'latest' file)");
    latest = config.output_dir + "/" + l.value();
  }
  if (!latest.empty() || !config.init_from.empty()) {
    // init_from may name a model (org/name[@revision]) as --model does.
    std::string dir = latest;
    if (dir.empty()) {
      MBERT_ASSIGN_OR_RETURN(dir, hub::ResolveModelDir(config.init_from));
    }
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::Load(dir));
    t->model_ = std::make_unique<Encoder>(std::move(m));
  } else {
    json mc = config.model_config;
    mc["architectures"] = {"ModernBertForMaskedLM"};
    mc["pad_token_id"] = mc.value("pad_token_id", t->tokenizer_->pad_id());
    MBERT_ASSIGN_OR_RETURN(ModelConfig c, ModelConfig::FromJson(mc, "model config"));
    TensorTable params;
    for (const ParamSpec& p : ExpectedParams(c)) params.emplace(p.name, Tensor(p.shape));
    MBERT_RETURN_IF_ERROR(MegatronInit(c, config.seed, &params));
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::FromParams(c, std::move(params)));
    t->model_ = std::make_unique<Encoder>(std::move(m));
  }
  const ModelConfig& mc = t->model_->config();
  if (mc.architecture != Architecture::kMaskedLM)
    return Status::Error("training needs a ModernBertForMaskedLM model");
  if (static_cast<int64_t>(t->tokenizer_->vocab_size()) > mc.vocab_size)
    return Status::Error("the tokenizer has " + std::to_string(t->tokenizer_->vocab_size()) +
                         " ids but the model's vocab_size is " + std::to_string(mc.vocab_size));

  MBERT_ASSIGN_OR_RETURN(t->data_, LoadTextDataset(config.data, *t->tokenizer_));
  MBERT_ASSIGN_OR_RETURN(StableAdamW opt, StableAdamW::Create(config.optimizer));
  t->optimizer_ = std::move(opt);
  MBERT_ASSIGN_OR_RETURN(LrSchedule sch, LrSchedule::Create(config.schedule));
  t->schedule_ = sch;
  if (config.batch_warmup_tokens > 0) {
    MBERT_ASSIGN_OR_RETURN(BatchSizeWarmup bw, BatchSizeWarmup::Create(config.min_rows, config.rows,
                                                                       config.batch_warmup_tokens));
    t->batch_warmup_ = bw;
  }
  t->mask_rng_ = Rng::ForStream(config.seed, "mlm-masking");
  t->data_rng_ = Rng::ForStream(config.seed, "data-order");
  PackerOptions po;
  po.rows = config.rows;
  po.row_tokens = config.row_tokens;
  po.max_seq_len = config.data.max_seq_len;
  po.source_batch_size = std::max<int64_t>(8, config.rows * 4);
  po.buffer_size = 5 * po.source_batch_size;
  po.pad_token_id = mc.pad_token_id;
  Trainer* self = t.get();
  MBERT_ASSIGN_OR_RETURN(
      GreedyBestFitPacker packer,
      GreedyBestFitPacker::Create(
          [self](std::vector<int32_t>* out) { return self->NextDocument(out); }, po));
  t->packer_ = std::move(packer);
  t->grads_ = ZeroGradsLike(t->model_->params());

  // Fixed evaluation batches: held-out documents packed in order, 15% masking (HF collator rule).
  EvalMaskingOptions eo;
  eo.mask_token_id = t->tokenizer_->mask_id();
  eo.vocab_size = static_cast<int32_t>(t->tokenizer_->vocab_size());
  for (int32_t id : {t->tokenizer_->cls_id(), t->tokenizer_->sep_id(), t->tokenizer_->pad_id(),
                     t->tokenizer_->mask_id(), t->tokenizer_->unk_id()})
    if (id >= 0) eo.special_ids.push_back(id);
  Rng eval_rng = Rng::ForStream(config.seed, "eval-masking");
  size_t d = 0;
  for (int b = 0; b < config.eval_batches && d < t->data_.eval.size(); ++b) {
    PackedBatch batch;
    int64_t n = 0;
    while (d < t->data_.eval.size() &&
           (batch.num_seqs() == 0 ||
            n + static_cast<int64_t>(t->data_.eval[d].size()) <= config.row_tokens)) {
      n += static_cast<int64_t>(t->data_.eval[d].size());
      batch.AppendSequence(t->data_.eval[d++]);
    }
    ApplyEvalMlmMasking(&batch, eo, eval_rng);
    t->eval_batches_.push_back(std::move(batch));
  }
  if (!latest.empty()) MBERT_RETURN_IF_ERROR(t->Restore(latest));
  return t;
}

Result<bool> Trainer::NextDocument(std::vector<int32_t>* out) {
  // An endless stream: each epoch visits every training document once in a fresh seeded order.
  if (cursor_ >= static_cast<int64_t>(order_.size())) {
    order_.resize(data_.train.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<uint32_t>(i);
    for (size_t i = order_.size(); i > 1; --i)
      std::swap(order_[i - 1], order_[data_rng_.UniformInt(i)]);
    cursor_ = 0;
    ++epoch_;
  }
  *out = data_.train[order_[static_cast<size_t>(cursor_++)]];
  return true;
}

Result<StepMetrics> Trainer::Step() {
  const auto t0 = std::chrono::steady_clock::now();
  StepMetrics sm;
  sm.rows = batch_warmup_ ? batch_warmup_->Rows(tokens_seen_) : cfg_.rows;
  std::vector<PackedBatch> rows;
  MBERT_ASSIGN_OR_RETURN(bool got, packer_->Next(&rows, sm.rows));
  if (!got) return Status::Error("the training data cannot fill a batch");
  MlmMaskingOptions mo;
  mo.mlm_probability = cfg_.mlm_probability;
  mo.mask_token_id = tokenizer_->mask_id();
  mo.pad_token_id = model_->config().pad_token_id;
  // Count real tokens before masking: masking may put [MASK] or random ids on pad positions.
  for (const PackedBatch& r : rows) sm.tokens += r.num_non_pad(mo.pad_token_id);
  ApplyMlmMasking(&rows, mo, mask_rng_);

  int64_t labeled = 0;
  for (const PackedBatch& r : rows) labeled += r.num_labeled();
  for (auto& [name, g] : grads_) g.Zero();
  // Each row is a micro-batch; weighting by its share of the predicted tokens makes the summed
  // gradient the gradient of the mean loss over every predicted token of the step.
  for (const PackedBatch& r : rows) {
    if (r.num_labeled() == 0) continue;
    const float w = static_cast<float>(r.num_labeled()) / static_cast<float>(labeled);
    MBERT_ASSIGN_OR_RETURN(MlmStepResult res, MlmForwardBackward(*model_, r, &grads_, w, &ws_));
    sm.loss += static_cast<double>(res.loss) * w;
  }
  const int64_t t = schedule_->config().unit == ScheduleUnit::kSteps ? step_ : tokens_seen_;
  sm.lr = schedule_->Lr(t);
  optimizer_->Step(model_->mutable_params(), grads_, sm.lr);
  model_->RefreshWeights();
  tokens_seen_ += sm.tokens;
  sm.step = ++step_;
  sm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sm;
}

Result<EvalMetrics> Trainer::Evaluate() {
  EvalMetrics em;
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (const PackedBatch& b : eval_batches_) {
    MBERT_ASSIGN_OR_RETURN(MlmStepResult r, MlmEvaluate(*model_, b, &ws_));
    loss_sum += static_cast<double>(r.loss) * static_cast<double>(r.predicted);
    correct += r.correct;
    em.predicted += r.predicted;
  }
  if (em.predicted > 0) {
    em.loss = loss_sum / static_cast<double>(em.predicted);
    em.accuracy = static_cast<double>(correct) / static_cast<double>(em.predicted);
  }
  return em;
}

Status Trainer::SaveCheckpoint() {
  const std::string name = "checkpoint-" + std::to_string(step_);
  const std::string final_dir = cfg_.output_dir + "/" + name;
  const std::string tmp_dir = cfg_.output_dir + "/." + name + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) return Status::Error(tmp_dir + ": cannot create: " + ec.message());
  const ModelConfig& c = model_->config();
  MBERT_RETURN_IF_ERROR(SaveWeights(tmp_dir, c, model_->params()));
  json cj = c.ToJson();
  cj["transformers_version"] = "5.23.0";
  MBERT_RETURN_IF_ERROR(WriteFileAtomic(tmp_dir + "/config.json", cj.dump(2)));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = cfg_.tokenizer_dir + "/" + f;
    if (FileExists(src)) {
      MBERT_ASSIGN_OR_RETURN(std::string s, ReadFile(src));
      MBERT_RETURN_IF_ERROR(WriteFileAtomic(tmp_dir + "/" + f, s));
    }
  }
  // Optimizer moments, HF-named, in one safetensors file.
  const StableAdamWState& os = optimizer_->state();
  std::vector<TensorToWrite> moments;
  for (const auto& [n, m] : os.exp_avg) moments.push_back({"exp_avg." + n, &m, DType::kF32});
  for (const auto& [n, v] : os.exp_avg_sq) moments.push_back({"exp_avg_sq." + n, &v, DType::kF32});
  MBERT_RETURN_IF_ERROR(WriteSafetensors(tmp_dir + "/optimizer.safetensors", moments,
                                         {{"step", std::to_string(os.step)}}));
  json st;
  st["step"] = step_;
  st["tokens_seen"] = tokens_seen_;
  st["optimizer_step"] = os.step;
  st["epoch"] = epoch_;
  st["cursor"] = cursor_;
  st["order"] = order_;
  st["mask_rng"] = RngToJson(mask_rng_);
  st["data_rng"] = RngToJson(data_rng_);
  st["packer_buffer"] = packer_->SaveBuffer();
  const PackerStats& ps = packer_->stats();
  st["packer_stats"] = {ps.batches,     ps.seqs_consumed, ps.seqs_emitted,
                        ps.real_tokens, ps.slots,         ps.truncated};
  MBERT_RETURN_IF_ERROR(WriteFileAtomic(tmp_dir + "/trainer_state.json", st.dump()));
  // Publish: rename the finished directory into place, then atomically repoint `latest`. A crash
  // before the rename leaves only a .tmp directory; the previous checkpoint stays intact.
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) return Status::Error(final_dir + ": cannot publish checkpoint: " + ec.message());
  return WriteFileAtomic(cfg_.output_dir + "/latest", name);
}

Status Trainer::Restore(const std::string& dir) {
  MBERT_ASSIGN_OR_RETURN(json st, ReadJsonFile(dir + "/trainer_state.json"));
  try {
    step_ = st.at("step").get<int64_t>();
    tokens_seen_ = st.at("tokens_seen").get<int64_t>();
    epoch_ = st.at("epoch").get<int64_t>();
    cursor_ = st.at("cursor").get<int64_t>();
    order_ = st.at("order").get<std::vector<uint32_t>>();
    MBERT_RETURN_IF_ERROR(RngFromJson(st.at("mask_rng"), &mask_rng_, "mask_rng"));
    MBERT_RETURN_IF_ERROR(RngFromJson(st.at("data_rng"), &data_rng_, "data_rng"));
    const auto ps = st.at("packer_stats").get<std::vector<int64_t>>();
    PackerStats stats;
    if (ps.size() == 6) {
      stats.batches = ps[0];
      stats.seqs_consumed = ps[1];
      stats.seqs_emitted = ps[2];
      stats.real_tokens = ps[3];
      stats.slots = ps[4];
      stats.truncated = ps[5];
    }
    packer_->RestoreBuffer(st.at("packer_buffer").get<std::vector<std::vector<int32_t>>>(), stats);
    StableAdamWState os;
    os.step = st.at("optimizer_step").get<int64_t>();
    MBERT_ASSIGN_OR_RETURN(SafetensorsFile f,
                           SafetensorsFile::Open(dir + "/optimizer.safetensors"));
    for (const TensorView& v : f.tensors()) {
      Tensor t(v.shape);
      MBERT_RETURN_IF_ERROR(ConvertToFloat(v, t.data(), f.path()));
      if (v.name.rfind("exp_avg_sq.", 0) == 0)
        os.exp_avg_sq.emplace(v.name.substr(11), std::move(t));
      else if (v.name.rfind("exp_avg.", 0) == 0)
        os.exp_avg.emplace(v.name.substr(8), std::move(t));
    }
    MBERT_RETURN_IF_ERROR(optimizer_->LoadState(std::move(os), model_->params()));
  } catch (const json::exception& e) {
    return Status::Error(dir + "/trainer_state.json: malformed: " + e.what());
  }
  return Status::Ok();
}

Status Trainer::Run() {
  std::error_code ec;
  fs::create_directories(cfg_.output_dir, ec);
  if (ec) return Status::Error(cfg_.output_dir + ": cannot create: " + ec.message());
  std::ofstream metrics(cfg_.output_dir + "/metrics.jsonl", std::ios::app);
  std::cerr << "training " << model_->num_parameters() << " parameters on " << data_.train.size()
            << " documents (" << data_.train_tokens << " tokens), " << data_.eval.size()
            << " held out; " << omp_get_max_threads() << " threads\n";
  auto write = [&](const json& j) {
    metrics << j.dump() << "\n";
    metrics.flush();
  };
  if (step_ == 0 && cfg_.eval_every > 0) {
    MBERT_ASSIGN_OR_RETURN(EvalMetrics em, Evaluate());
    std::cerr << "step 0 eval loss " << em.loss << " accuracy " << em.accuracy << "\n";
    write({{"step", 0}, {"eval_loss", em.loss}, {"eval_accuracy", em.accuracy}});
  }
  double window_seconds = 0.0, total_seconds = 0.0;
  int64_t window_tokens = 0;
  const int64_t start_step = step_;
  while (step_ < cfg_.max_steps) {
    MBERT_ASSIGN_OR_RETURN(StepMetrics sm, Step());
    window_seconds += sm.seconds;
    total_seconds += sm.seconds;
    window_tokens += sm.tokens;
    write({{"step", sm.step},
           {"loss", sm.loss},
           {"lr", sm.lr},
           {"rows", sm.rows},
           {"tokens", sm.tokens},
           {"tokens_seen", tokens_seen_},
           {"seconds", sm.seconds}});
    if (sm.step % cfg_.log_every == 0 || sm.step == cfg_.max_steps) {
      const double eta = total_seconds / static_cast<double>(step_ - start_step) *
                         static_cast<double>(cfg_.max_steps - step_);
      std::fprintf(stderr, "step %lld loss %.4f lr %.3e rows %d tokens/s %.0f eta %.0fs\n",
                   static_cast<long long>(sm.step), sm.loss, sm.lr, sm.rows,
                   window_tokens / std::max(window_seconds, 1e-9), eta);
      window_seconds = 0.0;
      window_tokens = 0;
    }
    if (cfg_.eval_every > 0 && (sm.step % cfg_.eval_every == 0 || sm.step == cfg_.max_steps)) {
      MBERT_ASSIGN_OR_RETURN(EvalMetrics em, Evaluate());
      std::fprintf(stderr, "step %lld eval loss %.4f accuracy %.4f (%lld predicted tokens)\n",
                   static_cast<long long>(sm.step), em.loss, em.accuracy,
                   static_cast<long long>(em.predicted));
      write({{"step", sm.step}, {"eval_loss", em.loss}, {"eval_accuracy", em.accuracy}});
    }
    if ((cfg_.checkpoint_every > 0 && sm.step % cfg_.checkpoint_every == 0) ||
        sm.step == cfg_.max_steps) {
      MBERT_RETURN_IF_ERROR(SaveCheckpoint());
    }
  }
  return Status::Ok();
}

}  // namespace mbert
