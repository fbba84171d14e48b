#include "train/train_config.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "core/thread_limit.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

}  // namespace

Result<TrainConfig> TrainConfig::FromFile(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  return FromJson(j, path, fs::path(path).parent_path().string());
}

Result<TrainConfig> TrainConfig::FromJson(const json& j, const std::string& origin,
                                          const std::string& base) {
  MBERT_ASSIGN_OR_RETURN(const JsonFields f, JsonFields::Of(j, origin));
  MBERT_RETURN_IF_ERROR(f.OnlyKnown({"comment",
                                     "output_dir",
                                     "init_from",
                                     "model_overrides",
                                     "tile_from",
                                     "model",
                                     "tokenizer",
                                     "data",
                                     "seed",
                                     "mlm_probability",
                                     "row_tokens",
                                     "rows",
                                     "batch_size_warmup",
                                     "optimizer",
                                     "schedule",
                                     "max_steps",
                                     "log_every",
                                     "eval_every",
                                     "eval_batches",
                                     "checkpoint_every",
                                     "threads",
                                     "allow_data_change"}));
  TrainConfig c;
  MBERT_RETURN_IF_ERROR(f.String("output_dir", &c.output_dir));
  if (c.output_dir.empty()) return Status::Error(origin + ": 'output_dir' is required");
  c.output_dir = Resolve(base, c.output_dir);
  MBERT_RETURN_IF_ERROR(f.String("init_from", &c.init_from));
  c.init_from = Resolve(base, c.init_from);
  if (f.Has("model")) {
    const json& m = f.at("model");
    if (m.is_string()) {
      c.model_origin = Resolve(base, m.get<std::string>());
      MBERT_ASSIGN_OR_RETURN(c.model_config, ReadJsonFile(c.model_origin));
    } else if (m.is_object()) {
      c.model_origin = origin + ": model";
      c.model_config = m;
    } else {
      return f.Error("model", "must be a config.json path or object");
    }
  }
  if (c.init_from.empty() == c.model_config.is_null())
    return Status::Error(origin +
                         ": give exactly one of 'init_from' (a checkpoint directory) "
                         "or 'model' (a config for a freshly initialised model)");
  if (f.Has("model_overrides")) {
    if (c.init_from.empty() || !f.at("model_overrides").is_object())
      return f.Error("model_overrides",
                     "must be an object of config.json fields, and needs 'init_from'");
    c.model_overrides = f.at("model_overrides");
  }
  MBERT_RETURN_IF_ERROR(f.String("tile_from", &c.tile_from));
  c.tile_from = Resolve(base, c.tile_from);
  if (!c.tile_from.empty() && c.model_config.is_null())
    return f.Error("tile_from", "needs 'model' (the larger model's config) to tile into");
  MBERT_RETURN_IF_ERROR(f.String("tokenizer", &c.tokenizer_dir));
  c.tokenizer_dir = Resolve(base, c.tokenizer_dir.empty() ? c.init_from : c.tokenizer_dir);
  if (c.tokenizer_dir.empty()) return Status::Error(origin + ": 'tokenizer' directory is required");

  // Sizes are bounded before anything is allocated from them; the bounds are far beyond any
  // sensible run (ModernBERT: rows of 8192 tokens, sequences of 1024..8192).
  constexpr int64_t kMaxRowTokens = int64_t{1} << 20;
  constexpr int64_t kMaxRows = int64_t{1} << 16;
  constexpr int64_t kMaxCount = int64_t{1} << 50;  // steps, tokens: never an overflow risk
  MBERT_ASSIGN_OR_RETURN(const JsonFields data, f.Object("data"));
  MBERT_RETURN_IF_ERROR(data.OnlyKnown({"train", "corpus", "mixture", "split", "jsonl_field",
                                        "max_seq_len", "min_tokens", "eval_every"}));
  std::vector<std::string> files;
  MBERT_RETURN_IF_ERROR(data.StringList("train", &files, 100000));
  for (auto& file : files) c.data.files.push_back(Resolve(base, file));
  MBERT_RETURN_IF_ERROR(data.String("corpus", &c.corpus_dir));
  c.corpus_dir = Resolve(base, c.corpus_dir);
  MBERT_RETURN_IF_ERROR(data.String("mixture", &c.mixture_path));
  c.mixture_path = Resolve(base, c.mixture_path);
  if (!c.mixture_path.empty() && c.corpus_dir.empty())
    return data.Error("mixture", "applies to data.corpus only");
  MBERT_RETURN_IF_ERROR(data.String("split", &c.data.split));
  if (c.data.split != "paragraph" && c.data.split != "line")
    return data.Error("split", "must be \"paragraph\" or \"line\", got '" + c.data.split + "'");
  MBERT_RETURN_IF_ERROR(data.String("jsonl_field", &c.data.jsonl_field));
  MBERT_RETURN_IF_ERROR(f.Int("row_tokens", &c.row_tokens, 8, kMaxRowTokens));
  // At least [CLS] and [SEP]; a document never spans two rows.
  MBERT_RETURN_IF_ERROR(data.Int("max_seq_len", &c.data.max_seq_len, 2, c.row_tokens));
  MBERT_RETURN_IF_ERROR(data.Int("min_tokens", &c.data.min_tokens, 1, c.data.max_seq_len));
  MBERT_RETURN_IF_ERROR(data.Int("eval_every", &c.data.eval_every, 0, kMaxCount));

  MBERT_RETURN_IF_ERROR(f.Int("seed", &c.seed, 0, std::numeric_limits<int64_t>::max()));
  // 0 masks nothing (loss 0, nothing learnt); above 1 is not a probability.
  MBERT_RETURN_IF_ERROR(
      f.Number("mlm_probability", &c.mlm_probability, 0.0, 1.0, /*lo_open=*/true));
  MBERT_RETURN_IF_ERROR(f.Int("rows", &c.rows, 1, kMaxRows));
  MBERT_ASSIGN_OR_RETURN(const JsonFields bw, f.Object("batch_size_warmup"));
  MBERT_RETURN_IF_ERROR(bw.OnlyKnown({"min_rows", "tokens"}));
  MBERT_RETURN_IF_ERROR(bw.Int("min_rows", &c.min_rows, 1, c.rows));
  MBERT_RETURN_IF_ERROR(bw.Int("tokens", &c.batch_warmup_tokens, 0, kMaxCount));

  MBERT_ASSIGN_OR_RETURN(const JsonFields opt, f.Object("optimizer"));
  MBERT_RETURN_IF_ERROR(opt.OnlyKnown({"lr", "weight_decay", "betas", "eps"}));
  MBERT_RETURN_IF_ERROR(opt.Number("lr", &c.lr, 0.0, 10.0, /*lo_open=*/true));
  MBERT_RETURN_IF_ERROR(opt.Number("weight_decay", &c.optimizer.weight_decay, 0.0, 1.0));
  // eps 0 divides 0 by 0 for a parameter whose gradient is always zero.
  MBERT_RETURN_IF_ERROR(opt.Number("eps", &c.optimizer.eps, 0.0, 1.0, /*lo_open=*/true));
  if (opt.Has("betas")) {
    const json& b = opt.at("betas");
    if (!b.is_array() || b.size() != 2)
      return opt.Error("betas", "must be [beta1, beta2], got " + b.dump());
    // A beta of 1 never updates the moment (and divides by zero in the bias correction).
    MBERT_RETURN_IF_ERROR(CheckJsonNumber(b[0], opt.Field("betas[0]"), 0.0, 1.0 - 1e-12,
                                          /*lo_open=*/false, &c.optimizer.beta1));
    MBERT_RETURN_IF_ERROR(CheckJsonNumber(b[1], opt.Field("betas[1]"), 0.0, 1.0 - 1e-12,
                                          /*lo_open=*/false, &c.optimizer.beta2));
  }
  c.optimizer.max_lr = c.lr;
  MBERT_ASSIGN_OR_RETURN(const JsonFields sch, f.Object("schedule"));
  MBERT_RETURN_IF_ERROR(
      sch.OnlyKnown({"unit", "decay_shape", "warmup", "decay", "alpha_f", "total"}));
  std::string unit = "steps", shape = "1-sqrt";
  MBERT_RETURN_IF_ERROR(sch.String("unit", &unit));
  MBERT_RETURN_IF_ERROR(sch.String("decay_shape", &shape));
  auto parsed_unit = ParseScheduleUnit(unit);
  if (!parsed_unit.ok()) return sch.Error("unit", parsed_unit.status().message());
  auto parsed_shape = ParseDecayShape(shape);
  if (!parsed_shape.ok()) return sch.Error("decay_shape", parsed_shape.status().message());
  c.schedule.unit = parsed_unit.value();
  c.schedule.shape = parsed_shape.value();
  MBERT_RETURN_IF_ERROR(sch.Int("warmup", &c.schedule.warmup, 0, kMaxCount));
  MBERT_RETURN_IF_ERROR(sch.Int("decay", &c.schedule.decay, 0, kMaxCount));
  MBERT_RETURN_IF_ERROR(sch.Number("alpha_f", &c.schedule.alpha_f, 0.0, 1.0));
  c.schedule.peak_lr = c.lr;
  MBERT_RETURN_IF_ERROR(f.Int("max_steps", &c.max_steps, 1, kMaxCount));
  c.schedule.total = c.schedule.unit == ScheduleUnit::kSteps ? c.max_steps : 0;
  MBERT_RETURN_IF_ERROR(sch.Int("total", &c.schedule.total, 0, kMaxCount));
  // log_every 0 used to divide by zero (SIGFPE) on the first step.
  MBERT_RETURN_IF_ERROR(f.Int("log_every", &c.log_every, 1, kMaxCount));
  MBERT_RETURN_IF_ERROR(f.Int("eval_every", &c.eval_every, 0, kMaxCount));
  MBERT_RETURN_IF_ERROR(f.Int("eval_batches", &c.eval_batches, 0, 1 << 20));
  MBERT_RETURN_IF_ERROR(f.Int("checkpoint_every", &c.checkpoint_every, 0, kMaxCount));
  MBERT_RETURN_IF_ERROR(f.Int("threads", &c.threads, 0, MaxThreads()));
  MBERT_RETURN_IF_ERROR(f.Bool("allow_data_change", &c.allow_data_change));
  // After every field's own check, so an error names the first bad field as before.
  if (c.data.files.empty() == c.corpus_dir.empty())
    return data.Error("train",
                      "or data.corpus is required, and not both: data.train lists text/JSONL "
                      "files, data.corpus is a directory written by `mbert data prepare`");
  // Checked again here for a config built in code rather than parsed.
  MBERT_RETURN_IF_ERROR(c.Validate(origin));
  return c;
}

Status TrainConfig::Validate(const std::string& origin) const {
  auto bad = [&](const std::string& what) { return Status::Error(origin + ": " + what); };
  if (rows < 1 || min_rows < 1 || min_rows > rows)
    return bad("need 1 <= batch_size_warmup.min_rows <= rows");
  if (row_tokens < 8 || row_tokens > (int64_t{1} << 20))
    return bad("row_tokens must be in [8, 1048576], got " + std::to_string(row_tokens));
  if (data.max_seq_len < 2 || data.max_seq_len > row_tokens)
    return bad("data.max_seq_len must be in [2, row_tokens = " + std::to_string(row_tokens) +
               "], got " + std::to_string(data.max_seq_len));
  if (data.min_tokens < 1) return bad("data.min_tokens must be at least 1");
  if (data.eval_every < 0) return bad("data.eval_every must be >= 0");
  if (max_steps < 1) return bad("max_steps must be positive");
  if (log_every < 1) return bad("log_every must be at least 1");
  if (eval_every < 0 || checkpoint_every < 0 || eval_batches < 0)
    return bad("eval_every, checkpoint_every and eval_batches must be >= 0");
  if (!(mlm_probability > 0.0 && mlm_probability <= 1.0))
    return bad("mlm_probability must be in (0, 1], got " + std::to_string(mlm_probability));
  if (!(lr > 0.0) || !std::isfinite(lr)) return bad("optimizer.lr must be a positive number");
  MBERT_RETURN_IF_ERROR(CheckThreadCount(threads, origin + ": threads"));
  return Status::Ok();
}

}  // namespace mbert
