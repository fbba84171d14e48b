// Training configs, checkpoints and resumes as a careless user or an attacker makes them: every
// probe of issue #14 in the trainer's scope is a clear error (or, where continuing is
// legitimate, an explicit opt-in with a warning), never a crash or a silently wrong run.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/safetensors.h"
#include "core/warn.h"
#include "hardening_util.h"
#include "mbert/tokenizer.h"
#include "train/numeric_guard.h"
#include "train/text_dataset.h"
#include "train/trainer.h"

namespace mbert::hardening {
namespace {

using nlohmann::json;

// ~200 short documents from Moby Dick; `lines` controls how much of it.
std::string Corpus(const std::string& dir, int lines = 1200) {
  std::ifstream in(SharedDir() + "/data/corpora/moby-dick.txt");
  std::ofstream corpus(dir + "/corpus.txt");
  std::string line;
  for (int n = 0; n < lines && std::getline(in, line); ++n) corpus << line << "\n";
  return dir + "/corpus.txt";
}

json TinyTrainJson(const std::string& dir, int64_t steps) {
  return {{"output_dir", dir + "/out"},
          {"model",
           {{"hidden_size", 32},
            {"intermediate_size", 48},
            {"num_hidden_layers", 3},
            {"num_attention_heads", 2},
            {"local_attention", 16},
            {"vocab_size", 50368}}},
          {"tokenizer", SharedDir() + "/data/modernbert-base"},
          {"data", {{"train", {dir + "/corpus.txt"}}, {"max_seq_len", 128}, {"eval_every", 20}}},
          {"seed", 5},
          {"row_tokens", 256},
          {"rows", 2},
          {"optimizer", {{"lr", 3e-3}}},
          {"schedule", {{"unit", "steps"}, {"warmup", 2}}},
          {"max_steps", steps},
          {"log_every", 1},
          {"eval_every", 0},
          {"eval_batches", 1}};
}

Result<TrainConfig> Parse(const json& j) { return TrainConfig::FromJson(j, "train.json", "/"); }

// The tiny config with `path` (dotted) set to `value`.
Result<TrainConfig> With(const std::string& path, const json& value) {
  json j = TinyTrainJson("/tmp", 10);
  std::string pointer = path;
  std::replace(pointer.begin(), pointer.end(), '.', '/');
  pointer.insert(0, 1, '/');
  j[json::json_pointer(pointer)] = value;
  return Parse(j);
}

TEST(TrainConfigProbes, EachBadFieldIsNamedWithItsRange) {
  // Before: heap buffer overflow write in text_dataset.cpp.
  EXPECT_TRUE(
      FailsWith(With("data.max_seq_len", 0),
                {"train.json: field 'data.max_seq_len' must be an integer in [2, 256]", "got 0"}));
  // Before: SIGFPE (step % 0).
  EXPECT_TRUE(FailsWith(With("log_every", 0), {"field 'log_every' must be an integer in [1, "}));
  // Before: nlohmann type_error escaped (abort).
  EXPECT_TRUE(FailsWith(With("optimizer.betas", json::array({"a", 0.98})),
                        {"field 'optimizer.betas[0]' must be a finite number", "got \"a\""}));
  EXPECT_TRUE(
      FailsWith(With("optimizer.betas", json::array({0.9, 1.0})), {"field 'optimizer.betas[1]'"}));
  // Before: accepted, loss 0 throughout.
  EXPECT_TRUE(FailsWith(With("mlm_probability", 5), {"field 'mlm_probability'", "(0, 1]"}));
  EXPECT_TRUE(FailsWith(With("mlm_probability", -1), {"field 'mlm_probability'"}));
  EXPECT_TRUE(FailsWith(With("mlm_probability", 0), {"field 'mlm_probability'"}));
  EXPECT_TRUE(FailsWith(With("threads", 100000), {"field 'threads' must be an integer in [0, "}));
  EXPECT_TRUE(FailsWith(With("rows", 4294967300LL), {"field 'rows'"}));
  EXPECT_TRUE(FailsWith(With("seed", -1), {"field 'seed'"}));
  EXPECT_TRUE(FailsWith(With("optimizer.eps", 0), {"field 'optimizer.eps'"}));
  EXPECT_TRUE(FailsWith(With("optimizer.lr", -1e-3), {"field 'optimizer.lr'"}));
  EXPECT_TRUE(FailsWith(With("schedule.warmup", -5), {"field 'schedule.warmup'"}));
  EXPECT_TRUE(FailsWith(With("schedule.unit", "epochs"), {"field 'schedule.unit'"}));
  EXPECT_TRUE(FailsWith(With("data.split", "sentence"), {"field 'data.split'"}));
  EXPECT_TRUE(FailsWith(With("data.min_tokens", 1000), {"field 'data.min_tokens'"}));
  EXPECT_TRUE(FailsWith(With("row_tokens", 1LL << 40), {"field 'row_tokens'"}));
  EXPECT_TRUE(FailsWith(With("eval_every", -1), {"field 'eval_every'"}));
  // Before: a non-object was silently ignored (its settings lost).
  EXPECT_TRUE(
      FailsWith(With("optimizer", json::array({1})), {"'optimizer' must be a JSON object"}));
  EXPECT_TRUE(FailsWith(With("batch_size_warmup", 3), {"'batch_size_warmup' must be a JSON"}));
  EXPECT_TRUE(FailsWith(With("data", "corpus.txt"), {"'data' must be a JSON object"}));
  // Before: nested typos were silently ignored.
  EXPECT_TRUE(FailsWith(With("data.max_seq_length", 64), {"unknown field 'data.max_seq_length'"}));
  EXPECT_TRUE(FailsWith(With("optimizer.beta1", 0.8), {"unknown field 'optimizer.beta1'"}));
  EXPECT_TRUE(FailsWith(With("data.train", json::array({1})), {"field 'data.train'"}));
  EXPECT_TRUE(Parse(TinyTrainJson("/tmp", 10)).ok());
}

TEST(TrainConfigProbes, FilesThatAreNotConfigs) {
  const std::string dir = ScratchDir("train_files");
  WriteText(dir + "/train.json", R"({"output_dir": "o", "init_from": "m", "seed": 1e400})");
  EXPECT_TRUE(FailsWith(TrainConfig::FromFile(dir + "/train.json"), {"train.json", "1e400"}));
  EXPECT_TRUE(FailsWith(TrainConfig::FromFile("/dev/zero"), {"not a regular file"}));
  WriteText(dir + "/train.json", R"({"output_dir": "o", "model": "/dev/zero"})");
  EXPECT_TRUE(FailsWith(TrainConfig::FromFile(dir + "/train.json"), {"/dev/zero"}));
  WriteText(dir + "/train.json", R"({"output_dir": "o", "model": {"num_hidden_layers": 1e400}})");
  EXPECT_TRUE(FailsWith(TrainConfig::FromFile(dir + "/train.json"), {"1e400"}));
}

TEST(TrainConfigProbes, LibraryEntryPointsCheckTooNotOnlyTheParser) {
  // A config built in code bypasses FromJson; Create and LoadTextDataset check it again.
  const std::string dir = ScratchDir("train_code");
  Corpus(dir, 200);
  auto c = Parse(TinyTrainJson(dir, 2));
  ASSERT_TRUE(c.ok()) << c.status().message();
  TrainConfig bad = c.value();
  bad.log_every = 0;
  EXPECT_TRUE(FailsWith(Trainer::Create(bad, false), {"log_every"}));
  bad = c.value();
  bad.mlm_probability = std::nan("");
  EXPECT_TRUE(FailsWith(Trainer::Create(bad, false), {"mlm_probability"}));
  auto tok = Tokenizer::FromModelDir(SharedDir() + "/data/modernbert-base");
  ASSERT_TRUE(tok.ok());
  TextDatasetOptions o;
  o.files = {dir + "/corpus.txt"};
  o.max_seq_len = 0;
  EXPECT_TRUE(FailsWith(LoadTextDataset(o, tok.value()), {"max_seq_len must be at least 2"}));
}

TEST(TrainConfigProbes, RowTokensAboveMaxPositionsIsAnError) {
  const std::string dir = ScratchDir("train_rowtokens");
  Corpus(dir, 200);
  json j = TinyTrainJson(dir, 2);
  j["model"]["max_position_embeddings"] = 128;  // rows of 256 would index past the RoPE table
  auto c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(FailsWith(Trainer::Create(c.value(), false),
                        {"row_tokens 256 is above the model's max_position_embeddings 128"}));
}

TEST(NumericGuards, NonFiniteLossStopsBeforeTheOptimizerAndSavesNothing) {
  const std::string dir = ScratchDir("train_nan");
  Corpus(dir, 200);
  auto t = Trainer::Create(Parse(TinyTrainJson(dir, 4)).value(), false);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_TRUE(t.value()->Step().ok());
  Encoder& m = t.value()->model();
  Tensor& w = m.mutable_params().at("model.layers.1.mlp.Wo.weight");
  w.data()[3] = std::numeric_limits<float>::quiet_NaN();
  m.RefreshWeights();
  const float before = m.params().at("model.embeddings.norm.weight").data()[0];
  // Before: the NaN loss was trained on (every weight NaN) and checkpointed with exit 0.
  EXPECT_TRUE(FailsWith(t.value()->Step(),
                        {"step 2: the loss is nan", "stopped before the optimizer step"}));
  EXPECT_EQ(t.value()->step(), 1);
  EXPECT_EQ(m.params().at("model.embeddings.norm.weight").data()[0], before);
  EXPECT_TRUE(FailsWith(t.value()->SaveCheckpoint(),
                        {"refusing to save checkpoint-1", "model.layers.1.mlp.Wo.weight"}));
  EXPECT_FALSE(fs::exists(dir + "/out/checkpoint-1"));
  EXPECT_FALSE(fs::exists(dir + "/out/latest"));
}

TEST(NumericGuards, NonFiniteGradientNamesTheFirstParameter) {
  TensorTable grads;
  const std::vector<ParamSpec> order = {{"model.embeddings.tok_embeddings.weight", {2, 2}},
                                        {"model.layers.0.attn.Wqkv.weight", {2}},
                                        {"head.dense.weight", {2}}};
  for (const ParamSpec& p : order) {
    grads.emplace(p.name, Tensor(p.shape));
    grads.at(p.name).Zero();
  }
  grads.at("model.embeddings.tok_embeddings.weight").data()[1] = 3.0f;
  grads.at("model.embeddings.tok_embeddings.weight").data()[2] = 4.0f;
  auto n = FiniteGradientNorm(grads, order, "step 7");
  ASSERT_TRUE(n.ok());
  EXPECT_DOUBLE_EQ(n.value(), 5.0);
  // head.dense sorts first in the map; the model's order makes the Wqkv gradient the first bad.
  grads.at("head.dense.weight").data()[0] = std::numeric_limits<float>::infinity();
  grads.at("model.layers.0.attn.Wqkv.weight").data()[1] = std::nanf("");
  EXPECT_TRUE(FailsWith(FiniteGradientNorm(grads, order, "step 7"),
                        {"step 7: the gradient of 'model.layers.0.attn.Wqkv.weight' is not finite",
                         "element 1 of 2"}));
}

// Trains `steps` steps with a checkpoint at the end; returns the output directory.
std::string TrainAndCheckpoint(const std::string& dir, int steps) {
  auto t = Trainer::Create(Parse(TinyTrainJson(dir, 8)).value(), false);
  EXPECT_TRUE(t.ok()) << t.status().message();
  for (int i = 0; i < steps; ++i) EXPECT_TRUE(t.value()->Step().ok());
  EXPECT_TRUE(t.value()->SaveCheckpoint().ok());
  return dir + "/out";
}

TEST(ResumeSafety, ChangedOrShrunkDataIsAnErrorUnlessAllowed) {
  const std::string dir = ScratchDir("resume_data");
  Corpus(dir, 600);
  TrainAndCheckpoint(dir, 3);
  const TrainConfig cfg = Parse(TinyTrainJson(dir, 8)).value();
  ASSERT_TRUE(Trainer::Create(cfg, true).ok());
  // Shrunk: before, the saved order indexed past the new document list (out-of-bounds read).
  Corpus(dir, 300);
  EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true),
                        {"trainer_state.json", "not the data this checkpoint was trained on",
                         "corpus.txt has", "allow_data_change"}));
  // Same size, different bytes: before, not noticed at all.
  std::string text = ReadText(dir + "/corpus.txt");
  Corpus(dir, 600);
  text = ReadText(dir + "/corpus.txt");
  text[100] = text[100] == 'x' ? 'y' : 'x';
  WriteText(dir + "/corpus.txt", text);
  EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true), {"same size but different content"}));
  // Opted in: a warning, a fresh epoch over the new data, and training goes on.
  Corpus(dir, 300);
  TrainConfig allowed = cfg;
  allowed.allow_data_change = true;
  std::vector<std::string> warnings;
  auto prev = SetWarningHandler([&](const std::string& w) { warnings.push_back(w); });
  auto t = Trainer::Create(allowed, true);
  SetWarningHandler(prev);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("training data changed"), std::string::npos) << warnings[0];
  EXPECT_EQ(t.value()->step(), 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.value()->Step().ok());
}

TEST(ResumeSafety, EditedTrainerStateFieldsAreValidated) {
  const std::string dir = ScratchDir("resume_state");
  Corpus(dir, 400);
  const std::string out = TrainAndCheckpoint(dir, 2);
  const TrainConfig cfg = Parse(TinyTrainJson(dir, 8)).value();
  const std::string path = out + "/checkpoint-2/trainer_state.json";
  const json original = json::parse(ReadText(path));
  struct Probe {
    const char* field;
    json value;
    const char* expect;
  };
  const std::vector<Probe> probes = {
      {"/order/0", 1000000, "field 'order[0]'"},
      {"/order/1", original["order"][0], "lists document"},
      {"/order", json::array(), "field 'order'"},
      {"/cursor", 1LL << 40, "field 'cursor'"},
      {"/step", "three", "field 'step'"},
      {"/step", 7, "field 'optimizer_step' must be an integer in [7, 7]"},
      {"/optimizer_step", 5, "field 'optimizer_step'"},
      {"/tokens_seen", -4, "field 'tokens_seen'"},
      {"/mask_rng/2", "12x", "field 'mask_rng'"},
      {"/data_rng", json::array({"0", "0", "0", "0"}), "field 'data_rng'"},
      {"/packer_stats", json::array({1, 2}), "field 'packer_stats'"},
      {"/packer_buffer", json::array({json::array({1, 2, 99999999})}), "packer_buffer"},
      {"/packer_buffer", json::array({json::array()}), "packer_buffer[0]"},
  };
  for (const Probe& p : probes) {
    json j = original;
    j[json::json_pointer(p.field)] = p.value;
    WriteText(path, j.dump());
    EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true), {path, p.expect})) << p.field;
  }
  json j = original;
  j.erase("epoch");
  WriteText(path, j.dump());
  EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true), {"field 'epoch' is missing"}));
  WriteText(path, original.dump());
  EXPECT_TRUE(Trainer::Create(cfg, true).ok());
}

TEST(ResumeSafety, LatestMustNameACheckpointInsideTheOutputDirectory) {
  const std::string dir = ScratchDir("resume_latest");
  Corpus(dir, 300);
  const std::string out = TrainAndCheckpoint(dir, 1);
  const TrainConfig cfg = Parse(TinyTrainJson(dir, 8)).value();
  // A copy of the checkpoint outside the output directory: before, `latest` was followed there.
  fs::copy(out + "/checkpoint-1", dir + "/elsewhere", fs::copy_options::recursive);
  for (const char* bad : {"../elsewhere", "/etc", "checkpoint-1/../../elsewhere", "", "latest"}) {
    WriteText(out + "/latest", bad);
    EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true), {out + "/latest", "checkpoint-<step>"}))
        << bad;
  }
  fs::create_directory_symlink(dir + "/elsewhere", out + "/checkpoint-9");
  WriteText(out + "/latest", "checkpoint-9");
  EXPECT_TRUE(FailsWith(Trainer::Create(cfg, true), {"outside the output directory"}));
  WriteText(out + "/latest", "checkpoint-1\n");
  EXPECT_TRUE(Trainer::Create(cfg, true).ok());
}

TEST(ResumeSafety, MetricsContinueWithoutRepeatedSteps) {
  const std::string dir = ScratchDir("resume_metrics");
  Corpus(dir, 300);
  json j = TinyTrainJson(dir, 4);
  j["checkpoint_every"] = 2;
  const TrainConfig cfg = Parse(j).value();
  {
    auto t = Trainer::Create(cfg, false);
    ASSERT_TRUE(t.ok()) << t.status().message();
    ASSERT_TRUE(t.value()->Run().ok());
  }
  // A crash after step 4 but before its checkpoint: latest still names checkpoint-2.
  WriteText(dir + "/out/latest", "checkpoint-2");
  {
    auto t = Trainer::Create(cfg, true);
    ASSERT_TRUE(t.ok()) << t.status().message();
    ASSERT_TRUE(t.value()->Run().ok());
  }
  std::istringstream in(ReadText(dir + "/out/metrics.jsonl"));
  std::vector<int64_t> steps;
  std::string line;
  while (std::getline(in, line)) {
    const json m = json::parse(line);
    if (m.contains("loss")) {
      steps.push_back(m["step"].get<int64_t>());
      EXPECT_TRUE(std::isfinite(m["grad_norm"].get<double>()));
    }
  }
  // Before: 1 2 3 4 3 4.
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace mbert::hardening
