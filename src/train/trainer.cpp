#include "train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "core/safetensors.h"
#include "core/thread_limit.h"
#include "core/warn.h"
#include "hub/hub.h"
#include "model/weights.h"
#include "train/init.h"
#include "train/metrics_file.h"
#include "train/mlm_backward.h"
#include "train/numeric_guard.h"
#include "train/progress_line.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json RngToJson(const Rng& r) {
  json a = json::array();
  for (uint64_t w : r.state()) a.push_back(std::to_string(w));
  return a;
}

Status RngFromJson(const JsonFields& f, const char* key, Rng* r) {
  const std::string what = "must be 4 decimal strings of 64-bit words, not all zero";
  if (!f.Has(key) || !f.at(key).is_array() || f.at(key).size() != 4) return f.Error(key, what);
  Rng::State s{};
  for (size_t i = 0; i < 4; ++i) {
    const json& w = f.at(key)[i];
    const std::string text = w.is_string() ? w.get<std::string>() : "";
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s[i]);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
      return f.Error(key, what + ", got " + w.dump());
  }
  // xoshiro256** never leaves the all-zero state: every later draw would be 0.
  if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0) return f.Error(key, what);
  r->set_state(s);
  return Status::Ok();
}

// Reads output_dir/latest. It must name a checkpoint-<step> directory directly inside
// output_dir: a `latest` holding "../x" or an absolute path (or a symlinked checkpoint) would
// make a resume read, and the next save trust, a directory elsewhere.
Result<std::string> LatestCheckpoint(const std::string& out) {
  const std::string path = out + "/latest";
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::Error(out + ": nothing to resume (no 'latest' file)");
  MBERT_ASSIGN_OR_RETURN(std::string name, ReadFile(path, 256));
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  const std::string prefix = "checkpoint-";
  const bool digits = name.size() > prefix.size() && name.size() <= prefix.size() + 18 &&
                      name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
  if (name.rfind(prefix, 0) != 0 || !digits)
    return Status::Error(path + ": must hold the name of a checkpoint-<step> directory in " + out +
                         ", got '" + name.substr(0, 80) + "'");
  const std::string dir = out + "/" + name;
  const fs::path real = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(real))
    return Status::Error(path + ": names " + dir + ", which is not a directory");
  if (real.parent_path() != fs::canonical(out, ec))
    return Status::Error(path + ": " + dir + " resolves to " + real.string() +
                         ", outside the output directory " + out);
  return dir;
}

constexpr int64_t kMaxStateCount = int64_t{1} << 50;

}  // namespace

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainConfig& config, bool resume,
                                                 Communicator* comm) {
  MBERT_RETURN_IF_ERROR(config.Validate("training config"));
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = config;
  if (comm != nullptr) t->comm_ = comm;
  const int world = t->comm_->size();
  if (config.rows % world != 0)
    return Status::Error("training config: rows (" + std::to_string(config.rows) +
                         ", the global batch in packed rows) must be a multiple of the number of "
                         "ranks (" +
                         std::to_string(world) + "); change rows or the mpirun -np count");
  if (config.threads > 0) omp_set_num_threads(config.threads);
  MBERT_ASSIGN_OR_RETURN(const std::string tokenizer_dir,
                         hub::ResolveModelDir(config.tokenizer_dir));
  auto tok_loaded = Tokenizer::FromModelDir(tokenizer_dir);
  if (!tok_loaded.ok())
    return tok_loaded.status().Wrap(
        "training config field 'tokenizer' (a directory with "
        "tokenizer.json)");
  Tokenizer tok = std::move(tok_loaded).value();
  t->tokenizer_ = std::move(tok);

  std::string latest;
  if (resume) {
    MBERT_ASSIGN_OR_RETURN(latest, LatestCheckpoint(config.output_dir));
  }
  if (!latest.empty() || !config.init_from.empty()) {
    // init_from may name a model (org/name[@revision]) as --model does.
    std::string dir = latest;
    if (dir.empty() && FileExists(config.init_from + "/latest") &&
        !FileExists(config.init_from + "/config.json")) {
      // The output directory of an earlier phase: start from its newest checkpoint.
      auto last = LatestCheckpoint(config.init_from);
      if (!last.ok()) return last.status().Wrap("training config field 'init_from'");
      dir = last.value();
    }
    if (dir.empty()) {
      MBERT_ASSIGN_OR_RETURN(dir, hub::ResolveModelDir(config.init_from));
    }
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::Load(dir));
    if (latest.empty() && !config.model_overrides.is_null()) {
      // A new phase: the checkpoint's weights under a changed config (a resumed run already has
      // the changed config in its checkpoint).
      json cj = m.config().ToJson();
      // ToJson writes each RoPE theta twice (the v4 fields and v5's rope_parameters, which the
      // parser reads last): an override of either form must not be undone by the other.
      const json& o = config.model_overrides;
      if (o.contains("global_rope_theta") || o.contains("local_rope_theta"))
        cj.erase("rope_parameters");
      if (o.contains("rope_parameters")) {
        cj.erase("global_rope_theta");
        cj.erase("local_rope_theta");
      }
      cj.update(o);
      MBERT_ASSIGN_OR_RETURN(ModelConfig c,
                             ModelConfig::FromJson(cj, "training config field 'model_overrides'"));
      TensorTable params;
      for (const ParamSpec& p : ExpectedParams(c)) {
        auto it = m.params().find(p.name);
        if (it == m.params().end() || it->second.shape() != p.shape)
          return Status::Error(
              "training config field 'model_overrides': changes the shape of '" + p.name +
              "'; only fields that keep every weight's shape can change between phases");
        params.emplace(p.name, it->second.Clone());
      }
      MBERT_ASSIGN_OR_RETURN(m, Encoder::FromParams(c, std::move(params)));
    }
    t->model_ = std::make_unique<Encoder>(std::move(m));
  } else {
    json mc = config.model_config;
    mc["architectures"] = {"ModernBertForMaskedLM"};
    mc["pad_token_id"] = mc.value("pad_token_id", t->tokenizer_->pad_id());
    MBERT_ASSIGN_OR_RETURN(
        ModelConfig c, ModelConfig::FromJson(
                           mc, config.model_origin.empty() ? "model config" : config.model_origin));
    TensorTable params;
    for (const ParamSpec& p : ExpectedParams(c)) params.emplace(p.name, Tensor(p.shape));
    MBERT_RETURN_IF_ERROR(MegatronInit(c, config.seed, &params));
    if (!config.tile_from.empty()) {
      MBERT_ASSIGN_OR_RETURN(const std::string small_dir, hub::ResolveModelDir(config.tile_from));
      auto small = Encoder::Load(small_dir);
      if (!small.ok()) return small.status().Wrap("training config field 'tile_from'");
      auto untouched = TileFromSmaller(small->params(), small->config().num_hidden_layers, &params,
                                       c.num_hidden_layers);
      if (!untouched.ok()) return untouched.status().Wrap("training config field 'tile_from'");
    }
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::FromParams(c, std::move(params)));
    t->model_ = std::make_unique<Encoder>(std::move(m));
  }
  const ModelConfig& mc = t->model_->config();
  if (mc.architecture != Architecture::kMaskedLM)
    return Status::Error("training needs a ModernBertForMaskedLM model");
  if (static_cast<int64_t>(t->tokenizer_->vocab_size()) > mc.vocab_size)
    return Status::Error("the tokenizer has " + std::to_string(t->tokenizer_->vocab_size()) +
                         " ids but the model's vocab_size is " + std::to_string(mc.vocab_size));
  // Every packed row is also a sequence position range: the row's padding is one sequence of up
  // to row_tokens positions, and RoPE tables end at max_position_embeddings.
  if (config.row_tokens > mc.max_position_embeddings)
    return Status::Error("row_tokens " + std::to_string(config.row_tokens) +
                         " is above the model's max_position_embeddings " +
                         std::to_string(mc.max_position_embeddings) +
                         "; lower row_tokens (and data.max_seq_len) to at most that");

  if (config.corpus_dir.empty()) {
    MBERT_ASSIGN_OR_RETURN(t->data_, LoadTextDataset(config.data, *t->tokenizer_));
    t->data_fingerprint_ = t->data_.fingerprint();
  } else {
    auto opened = OpenCorpusData(config.corpus_dir, config.mixture_path, config.seed,
                                 tokenizer_dir + "/tokenizer.json");
    if (!opened.ok()) return opened.status().Wrap("training config field 'data.corpus'");
    t->corpus_ = std::move(opened).value();
    if (t->corpus_->train->manifest().vocab_size > static_cast<uint64_t>(mc.vocab_size))
      return Status::Error(config.corpus_dir + ": the corpus's vocabulary (" +
                           std::to_string(t->corpus_->train->manifest().vocab_size) +
                           " ids) is larger than the model's vocab_size " +
                           std::to_string(mc.vocab_size));
    t->data_fingerprint_ = t->corpus_->fingerprint;
  }
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
  // Packs held-out sequences in order into up to eval_batches rows of at most row_tokens tokens,
  // each sequence cut to data.max_seq_len as training cuts it.
  auto pack_eval = [&](int source, size_t count, auto&& sequence) {
    size_t d = 0;
    for (int b = 0; b < config.eval_batches && d < count; ++b) {
      PackedBatch batch;
      int64_t n = 0;
      while (d < count) {
        std::vector<int32_t> ids = sequence(d);
        if (static_cast<int64_t>(ids.size()) > config.data.max_seq_len)
          ids.resize(static_cast<size_t>(config.data.max_seq_len));
        if (batch.num_seqs() > 0 && n + static_cast<int64_t>(ids.size()) > config.row_tokens) break;
        n += static_cast<int64_t>(ids.size());
        batch.AppendSequence(ids);
        ++d;
      }
      ApplyEvalMlmMasking(&batch, eo, eval_rng);
      t->eval_batches_.push_back(std::move(batch));
      t->eval_source_.push_back(source);
    }
  };
  if (t->corpus_) {
    // Unigram baselines per source from its train sequences (ids below the corpus's vocab).
    const corpus::CorpusSampler& tr = *t->corpus_->train;
    const size_t vocab = static_cast<size_t>(mc.vocab_size);
    for (size_t s = 0; s < t->corpus_->mixture.sources.size(); ++s) {
      std::vector<uint64_t> counts(vocab, 0);
      uint64_t total = 0;
      for (uint64_t i = 0; i < tr.SequencesOf(static_cast<int>(s)); ++i) {
        const auto ids = tr.Sequence(static_cast<int>(s), i);
        // [CLS] and [SEP] are never masked: they are not part of the baseline's distribution.
        for (size_t k = 1; k + 1 < ids.size(); ++k) ++counts[ids[k]];
        total += ids.size() >= 2 ? ids.size() - 2 : 0;
      }
      Unigram u;
      u.top = static_cast<int32_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
      u.neg_log_p.resize(vocab);
      const double denom = static_cast<double>(total + vocab);
      for (size_t v = 0; v < vocab; ++v)
        u.neg_log_p[v] =
            static_cast<float>(-std::log((static_cast<double>(counts[v]) + 1.0) / denom));
      t->unigram_.push_back(std::move(u));
    }
  }
  if (!t->corpus_) {
    pack_eval(-1, t->data_.eval.size(), [&](size_t i) { return t->data_.eval[i]; });
  } else if (t->corpus_->val) {
    const corpus::CorpusSampler& val = *t->corpus_->val;
    const auto& mix = t->corpus_->mixture.sources;
    int v = 0;  // index among the sources with val sequences (the val sampler's mixture)
    for (size_t s = 0; s < mix.size(); ++s) {
      const corpus::SourceEntry* e = val.manifest().FindSource(mix[s].name);
      if (e == nullptr || e->val.sequences == 0) continue;
      pack_eval(static_cast<int>(s), val.SequencesOf(v), [&](size_t i) {
        const auto ids = val.Sequence(v, i);
        return std::vector<int32_t>(ids.begin(), ids.end());
      });
      ++v;
    }
  }
  if (!latest.empty()) MBERT_RETURN_IF_ERROR(t->Restore(latest));
  return t;
}

Result<bool> Trainer::NextDocument(std::vector<int32_t>* out) {
  if (corpus_) {
    // Endless too: the sampler starts a source's next epoch when it runs out.
    const corpus::DocumentRef d = corpus_->train->Next();
    out->assign(d.ids.begin(), d.ids.end());
    return true;
  }
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
  // gradient the gradient of the mean loss over every predicted token of the step. This rank
  // takes rows rank, rank + W, ...; the all-reduce adds the other ranks' rows.
  const int world = comm_->size();
  for (size_t i = static_cast<size_t>(comm_->rank()); i < rows.size();
       i += static_cast<size_t>(world)) {
    const PackedBatch& r = rows[i];
    if (r.num_labeled() == 0) continue;
    const float w = static_cast<float>(r.num_labeled()) / static_cast<float>(labeled);
    MBERT_ASSIGN_OR_RETURN(MlmStepResult res, MlmForwardBackward(*model_, r, &grads_, w, &ws_));
    sm.loss += static_cast<double>(res.loss) * w;
  }
  if (world > 1) {
    const auto r0 = std::chrono::steady_clock::now();
    std::vector<std::span<float>> buffers;
    for (auto& [name, g] : grads_) buffers.emplace_back(g.data(), static_cast<size_t>(g.numel()));
    MBERT_RETURN_IF_ERROR(comm_->AllReduceSum(buffers));
    MBERT_RETURN_IF_ERROR(comm_->AllReduceSum(std::span<double>(&sm.loss, 1)));
    sm.allreduce_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
  }
  // Guards before the optimizer: one NaN gradient would make every weight NaN at once, and the
  // run would then train on and checkpoint garbage with exit 0.
  const std::string at_step = "step " + std::to_string(step_ + 1);
  const std::string stopped =
      "; stopped before the optimizer step, so the weights and the checkpoints are those of step " +
      std::to_string(step_) + " (lower optimizer.lr, or resume from the last checkpoint)";
  if (!std::isfinite(sm.loss)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", sm.loss);
    return Status::Error(at_step + ": the loss is " + buf + stopped);
  }
  auto norm = FiniteGradientNorm(grads_, ExpectedParams(model_->config()), at_step);
  if (!norm.ok()) return Status::Error(norm.status().message() + stopped);
  sm.grad_norm = norm.value();
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
  // Sums of loss x predicted and of correct predictions, overall and per source.
  struct Sums {
    double loss = 0.0;
    int64_t correct = 0, predicted = 0;
    double unigram_loss = 0.0;
    int64_t unigram_correct = 0;
    MlmScore Score() const {
      MlmScore m;
      m.predicted = predicted;
      if (predicted > 0) {
        const double n = static_cast<double>(predicted);
        m.loss = loss / n;
        m.accuracy = static_cast<double>(correct) / n;
        m.unigram_loss = unigram_loss / n;
        m.unigram_accuracy = static_cast<double>(unigram_correct) / n;
      }
      return m;
    }
  };
  Sums all;
  std::map<int, Sums> by_source;
  // Data parallel: each rank scores batches rank, rank + W, ...; the sums are all-reduced.
  for (const int s : eval_source_)
    if (s >= 0) by_source[s];
  for (size_t i = static_cast<size_t>(comm_->rank()); i < eval_batches_.size();
       i += static_cast<size_t>(comm_->size())) {
    MBERT_ASSIGN_OR_RETURN(MlmStepResult r, MlmEvaluate(*model_, eval_batches_[i], &ws_));
    double base_loss = 0.0;
    int64_t base_correct = 0;
    if (eval_source_[i] >= 0) {
      const Unigram& u = unigram_[static_cast<size_t>(eval_source_[i])];
      for (const int32_t l : eval_batches_[i].labels) {
        if (l < 0) continue;
        base_loss += u.neg_log_p[static_cast<size_t>(l)];
        base_correct += l == u.top ? 1 : 0;
      }
    }
    for (Sums* s : {&all, eval_source_[i] >= 0 ? &by_source[eval_source_[i]] : nullptr}) {
      if (s == nullptr) continue;
      s->loss += static_cast<double>(r.loss) * static_cast<double>(r.predicted);
      s->correct += r.correct;
      s->predicted += r.predicted;
      s->unigram_loss += base_loss;
      s->unigram_correct += base_correct;
    }
  }
  if (comm_->size() > 1) {
    // Counts travel as doubles: exact below 2^53.
    std::vector<double> v;
    auto put = [&](const Sums& s) {
      v.insert(v.end(), {s.loss, static_cast<double>(s.correct), static_cast<double>(s.predicted),
                         s.unigram_loss, static_cast<double>(s.unigram_correct)});
    };
    put(all);
    for (auto& [k, s] : by_source) put(s);
    MBERT_RETURN_IF_ERROR(comm_->AllReduceSum(std::span<double>(v)));
    size_t j = 0;
    auto take = [&](Sums* s) {
      s->loss = v[j];
      s->correct = static_cast<int64_t>(v[j + 1]);
      s->predicted = static_cast<int64_t>(v[j + 2]);
      s->unigram_loss = v[j + 3];
      s->unigram_correct = static_cast<int64_t>(v[j + 4]);
      j += 5;
    };
    take(&all);
    for (auto& [k, s] : by_source) take(&s);
  }
  EvalMetrics em;
  static_cast<MlmScore&>(em) = all.Score();
  for (const auto& [s, sums] : by_source)
    em.per_source[corpus_->mixture.sources[static_cast<size_t>(s)].name] = sums.Score();
  return em;
}

Status Trainer::SaveCheckpoint() {
  if (comm_->size() == 1) return WriteCheckpoint();
  // Rank 0 writes; every rank learns whether it succeeded, and none goes on (or reads `latest`)
  // before the checkpoint is in place.
  uint8_t ok = 1;
  Status st = Status::Ok();
  if (comm_->rank() == 0) {
    st = WriteCheckpoint();
    ok = st.ok() ? 1 : 0;
  }
  MBERT_RETURN_IF_ERROR(comm_->Broadcast(std::span<uint8_t>(&ok, 1)));
  if (comm_->rank() == 0) return st;
  return ok ? Status::Ok()
            : Status::Error("rank 0 failed to write checkpoint-" + std::to_string(step_));
}

Status Trainer::WriteCheckpoint() {
  const std::string name = "checkpoint-" + std::to_string(step_);
  MBERT_RETURN_IF_ERROR(CheckFinite("refusing to save " + name));
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
  st["data"] = data_fingerprint_;
  if (corpus_) st["sampler"] = corpus_->train->State().ToJson();
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

Status Trainer::CheckFinite(const std::string& when) const {
  const StableAdamWState& os = optimizer_->state();
  for (const auto* table : {&model_->params(), &os.exp_avg, &os.exp_avg_sq}) {
    for (const auto& [name, t] : *table) {
      const float* d = t.data();
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (!std::isfinite(d[i])) {
          const char* kind = table == &model_->params() ? "parameter"
                             : table == &os.exp_avg     ? "optimizer exp_avg of"
                                                        : "optimizer exp_avg_sq of";
          return Status::Error(when + ": " + kind + " '" + name + "' holds a non-finite value (" +
                               std::to_string(d[i]) + " at element " + std::to_string(i) + ")");
        }
      }
    }
  }
  return Status::Ok();
}

Status Trainer::RestoreTrainerState(const std::string& path, const json& st) {
  MBERT_ASSIGN_OR_RETURN(const JsonFields f, JsonFields::Of(st, path));
  for (const char* k : {"step", "tokens_seen", "optimizer_step", "epoch", "cursor", "order",
                        "mask_rng", "data_rng", "packer_buffer", "packer_stats"})
    if (!f.Has(k)) return f.Error(k, "is missing (not a checkpoint written by mbert train?)");
  MBERT_RETURN_IF_ERROR(f.Int("step", &step_, 0, kMaxStateCount));
  MBERT_RETURN_IF_ERROR(f.Int("tokens_seen", &tokens_seen_, 0, kMaxStateCount));
  MBERT_RETURN_IF_ERROR(f.Int("epoch", &epoch_, 0, kMaxStateCount));
  int64_t optimizer_step = 0;
  MBERT_RETURN_IF_ERROR(f.Int("optimizer_step", &optimizer_step, step_, step_));
  MBERT_RETURN_IF_ERROR(RngFromJson(f, "mask_rng", &mask_rng_));
  MBERT_RETURN_IF_ERROR(RngFromJson(f, "data_rng", &data_rng_));

  // The data: order_ indexes data_.train, so it must be this data's permutation; the sampler's
  // state counts draws of this mixture over these shards.
  const json saved_data = f.Has("data") ? f.at("data") : json();
  const std::string diff = corpus_ ? CorpusFingerprintDiff(saved_data, data_fingerprint_)
                                   : DataFingerprintDiff(saved_data, data_fingerprint_);
  const size_t n_train = data_.train.size();
  if (!f.Has("data")) {
    Warn(path +
         ": the checkpoint records no data fingerprint (written by an older mbert); "
         "cannot check that the training data is unchanged");
  } else if (!diff.empty() && !cfg_.allow_data_change) {
    return Status::Error(path +
                         ": the training data is not the data this checkpoint was "
                         "trained on: " +
                         diff +
                         ". Resume with the original data, or set \"allow_data_change\": true "
                         "in the training config (mbert train --allow-data-change) to continue "
                         "on this data from a fresh epoch");
  }
  if (f.Has("data") && !diff.empty()) {
    Warn(path + ": the training data changed (" + diff +
         "); continuing on the new data from a fresh epoch (allow_data_change)");
    order_.clear();
    cursor_ = 0;
  } else if (corpus_) {
    if (!f.Has("sampler"))
      return f.Error("sampler", "is missing: the checkpoint was not trained on data.corpus");
    auto state = corpus::SamplerState::FromJson(f.at("sampler"), f.Field("sampler"));
    if (!state.ok()) return state.status();
    MBERT_RETURN_IF_ERROR(corpus_->train->Restore(state.value()).Wrap(path));
  } else {
    const json& order = f.at("order");
    if (!order.is_array() || order.size() != n_train)
      return f.Error("order", "must list each of the " + std::to_string(n_train) +
                                  " training documents once (the data changed?)");
    std::vector<bool> seen(n_train, false);
    order_.assign(n_train, 0);
    for (size_t i = 0; i < n_train; ++i) {
      int64_t v = -1;
      MBERT_RETURN_IF_ERROR(CheckJsonInt(order[i], f.Field("order[" + std::to_string(i) + "]"), 0,
                                         static_cast<int64_t>(n_train) - 1, &v));
      if (seen[static_cast<size_t>(v)])
        return f.Error("order", "lists document " + std::to_string(v) + " twice");
      seen[static_cast<size_t>(v)] = true;
      order_[i] = static_cast<uint32_t>(v);
    }
    MBERT_RETURN_IF_ERROR(f.Int("cursor", &cursor_, 0, static_cast<int64_t>(n_train)));
  }

  // The packer's buffer holds documents (token ids), checked like the data they came from.
  const json& buf = f.at("packer_buffer");
  const int64_t vocab = model_->config().vocab_size;
  if (!buf.is_array() || buf.size() > (size_t{1} << 20))
    return f.Error("packer_buffer", "must be a list of at most 1048576 documents");
  std::vector<std::vector<int32_t>> docs;
  for (size_t d = 0; d < buf.size(); ++d) {
    const std::string field = "packer_buffer[" + std::to_string(d) + "]";
    if (!buf[d].is_array() || buf[d].empty() ||
        static_cast<int64_t>(buf[d].size()) > cfg_.data.max_seq_len)
      return f.Error(field, "must be a document of 1 to data.max_seq_len = " +
                                std::to_string(cfg_.data.max_seq_len) + " token ids");
    std::vector<int32_t> ids(buf[d].size());
    for (size_t i = 0; i < ids.size(); ++i) {
      int64_t v = 0;
      MBERT_RETURN_IF_ERROR(CheckJsonInt(buf[d][i], f.Field(field), 0, vocab - 1, &v));
      ids[i] = static_cast<int32_t>(v);
    }
    docs.push_back(std::move(ids));
  }
  const json& ps = f.at("packer_stats");
  if (!ps.is_array() || ps.size() != 6)
    return f.Error("packer_stats",
                   "must be 6 counts [batches, seqs_consumed, seqs_emitted, "
                   "real_tokens, slots, truncated]");
  int64_t v[6];
  for (size_t i = 0; i < 6; ++i)
    MBERT_RETURN_IF_ERROR(CheckJsonInt(ps[i], f.Field("packer_stats"), 0, kMaxStateCount, &v[i]));
  PackerStats stats;
  stats.batches = v[0];
  stats.seqs_consumed = v[1];
  stats.seqs_emitted = v[2];
  stats.real_tokens = v[3];
  stats.slots = v[4];
  stats.truncated = v[5];
  packer_->RestoreBuffer(docs, stats);
  return Status::Ok();
}

Status Trainer::Restore(const std::string& dir) {
  const std::string state_path = dir + "/trainer_state.json";
  MBERT_ASSIGN_OR_RETURN(const json st, ReadJsonFile(state_path));
  MBERT_RETURN_IF_ERROR(RestoreTrainerState(state_path, st));
  // LatestCheckpoint checked the name's form: checkpoint-<digits>.
  const std::string name = fs::path(dir).filename().string();
  if (name != "checkpoint-" + std::to_string(step_))
    return Status::Error(state_path + ": step " + std::to_string(step_) +
                         " does not match the checkpoint directory's name " + name);
  StableAdamWState os;
  os.step = step_;
  MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(dir + "/optimizer.safetensors"));
  for (const TensorView& v : f.tensors()) {
    const bool sq = v.name.rfind("exp_avg_sq.", 0) == 0;
    if (!sq && v.name.rfind("exp_avg.", 0) != 0)
      return Status::Error(f.path() + ": unexpected tensor '" + v.name +
                           "' (only exp_avg.<param> and exp_avg_sq.<param>)");
    const std::string param = v.name.substr(sq ? 11 : 8);
    auto p = model_->params().find(param);
    if (p == model_->params().end() || p->second.shape() != v.shape)
      return Status::Error(f.path() + ": tensor '" + v.name + "' has shape " +
                           ShapeString(v.shape) + ", which matches no parameter of the model");
    Tensor t(v.shape);
    MBERT_RETURN_IF_ERROR(ConvertToFloat(v, t.data(), f.path()));
    (sq ? os.exp_avg_sq : os.exp_avg).emplace(param, std::move(t));
  }
  // After a step every parameter has both moments; a missing one would silently restart at 0.
  if (step_ > 0 && (os.exp_avg.size() != model_->params().size() ||
                    os.exp_avg_sq.size() != model_->params().size()))
    return Status::Error(f.path() + ": holds moments for " + std::to_string(os.exp_avg.size()) +
                         " and " + std::to_string(os.exp_avg_sq.size()) + " of the " +
                         std::to_string(model_->params().size()) + " parameters");
  MBERT_RETURN_IF_ERROR(optimizer_->LoadState(std::move(os), model_->params()));
  return CheckFinite("resuming from " + dir);
}

Status Trainer::Run() {
  std::error_code ec;
  fs::create_directories(cfg_.output_dir, ec);
  if (ec) return Status::Error(cfg_.output_dir + ": cannot create: " + ec.message());
  // Rank 0 alone writes metrics and progress; the other ranks compute the same numbers.
  const bool lead = comm_->rank() == 0;
  const std::string metrics_path = cfg_.output_dir + "/metrics.jsonl";
  if (lead) MBERT_RETURN_IF_ERROR(TruncateMetrics(metrics_path, step_ > 0 ? step_ : -1));
  std::ofstream metrics;
  if (lead) metrics.open(metrics_path, std::ios::app);
  std::ofstream discard;  // never opened: what the other ranks print goes nowhere
  std::ostream& log = lead ? std::cerr : discard;
  if (corpus_) {
    log << "training " << model_->num_parameters() << " parameters on corpus " << cfg_.corpus_dir
        << " (" << corpus_->mixture.sources.size() << " sources, " << corpus_->train_sequences
        << " sequences, " << corpus_->train_tokens << " tokens), " << eval_batches_.size()
        << " held-out rows; ";
  } else {
    log << "training " << model_->num_parameters() << " parameters on " << data_.train.size()
        << " documents (" << data_.train_tokens << " tokens), " << data_.eval.size()
        << " held out; ";
  }
  log << comm_->size() << (comm_->size() == 1 ? " process, " : " ranks, ") << omp_get_max_threads()
      << " threads each\n";
  auto write = [&](const json& j) {
    if (!lead) return;
    metrics << j.dump() << "\n";
    metrics.flush();
  };
  // One metrics line per evaluation: overall, then "eval_loss/<source>" per corpus source.
  auto write_eval = [&](int64_t step, const EvalMetrics& em) {
    json j = {{"step", step}, {"eval_loss", em.loss}, {"eval_accuracy", em.accuracy}};
    for (const auto& [name, m] : em.per_source) {
      j["eval_loss/" + name] = m.loss;
      j["eval_accuracy/" + name] = m.accuracy;
    }
    if (!em.per_source.empty()) {
      j["eval_unigram_loss"] = em.unigram_loss;
      j["eval_unigram_accuracy"] = em.unigram_accuracy;
    }
    write(j);
  };
  if (step_ == 0 && cfg_.eval_every > 0) {
    MBERT_ASSIGN_OR_RETURN(EvalMetrics em, Evaluate());
    log << "step 0 eval loss " << em.loss << " accuracy " << em.accuracy << "\n";
    write_eval(0, em);
  }
  ProgressLine bar(lead);
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
           {"grad_norm", sm.grad_norm},
           {"lr", sm.lr},
           {"rows", sm.rows},
           {"tokens", sm.tokens},
           {"tokens_seen", tokens_seen_},
           {"seconds", sm.seconds},
           {"allreduce_seconds", sm.allreduce_seconds},
           {"ranks", comm_->size()}});
    const double eta = total_seconds / static_cast<double>(step_ - start_step) *
                       static_cast<double>(cfg_.max_steps - step_);
    bar.Show(sm.step, cfg_.max_steps, sm.loss, sm.lr,
             static_cast<double>(sm.tokens) / std::max(sm.seconds, 1e-9), eta);
    if (sm.step % cfg_.log_every == 0 || sm.step == cfg_.max_steps) {
      char line[160];
      std::snprintf(line, sizeof line, "step %lld loss %.4f lr %.3e rows %d tokens/s %.0f eta %s",
                    static_cast<long long>(sm.step), sm.loss, sm.lr, sm.rows,
                    window_tokens / std::max(window_seconds, 1e-9), FormatDuration(eta).c_str());
      if (lead) bar.Line(line);
      window_seconds = 0.0;
      window_tokens = 0;
    }
    if (cfg_.eval_every > 0 && (sm.step % cfg_.eval_every == 0 || sm.step == cfg_.max_steps)) {
      MBERT_ASSIGN_OR_RETURN(EvalMetrics em, Evaluate());
      char line[160];
      std::snprintf(line, sizeof line,
                    "step %lld eval loss %.4f accuracy %.4f (%lld predicted tokens)",
                    static_cast<long long>(sm.step), em.loss, em.accuracy,
                    static_cast<long long>(em.predicted));
      if (lead) bar.Line(line);
      write_eval(sm.step, em);
    }
    if ((cfg_.checkpoint_every > 0 && sm.step % cfg_.checkpoint_every == 0) ||
        sm.step == cfg_.max_steps) {
      MBERT_RETURN_IF_ERROR(SaveCheckpoint());
    }
  }
  bar.End();
  return Status::Ok();
}

}  // namespace mbert
