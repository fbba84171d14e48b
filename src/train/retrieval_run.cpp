#include "train/retrieval_run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "batch/rng.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "eval/exact_search.h"
#include "eval/ranking_metrics.h"
#include "model/weights.h"
#include "train/finetuner.h"
#include "train/retrieval_objectives.h"

namespace mbert {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kTokenEmbeddings = "model.embeddings.tok_embeddings.weight";

Status CopyFile(const std::string& from, const std::string& to) {
  MBERT_ASSIGN_OR_RETURN(std::string s, ReadFile(from));
  return WriteFileAtomic(to, s);
}

Status WriteJson(const std::string& path, const json& j) {
  return WriteFileAtomic(path, j.dump(2) + "\n");
}

// The tokenizer files of `from` into `dir`; ColBERT adds the prefix tokens PyLate adds (ids
// past the vocabulary) to tokenizer.json's added_tokens and tokenizer_config.json's
// added_tokens_decoder.
Status WriteTokenizer(const std::string& from, const std::string& dir,
                      const RetrievalFormat* colbert) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = from + "/" + f;
    if (!FileExists(src)) continue;
    if (colbert == nullptr || std::string(f) == "special_tokens_map.json") {
      MBERT_RETURN_IF_ERROR(CopyFile(src, dir + "/" + f));
      continue;
    }
    MBERT_ASSIGN_OR_RETURN(json j, ReadJsonFile(src));
    for (const auto& [id, content] :
         {std::pair{colbert->query_prefix, kColbertQueryPrefix},
          std::pair{colbert->document_prefix, kColbertDocumentPrefix}}) {
      const json token = {{"content", content}, {"single_word", false}, {"lstrip", false},
                          {"rstrip", false},    {"normalized", true},   {"special", false}};
      if (std::string(f) == "tokenizer.json") {
        bool present = false;
        for (const json& t : j["added_tokens"]) present = present || t.value("id", -1) == id;
        if (!present) {
          json t = {{"id", id}};
          t.update(token);
          j["added_tokens"].push_back(t);
        }
      } else if (j.contains("added_tokens_decoder")) {
        j["added_tokens_decoder"][std::to_string(id)] = token;
      }
    }
    MBERT_RETURN_IF_ERROR(WriteJson(dir + "/" + f, j));
  }
  return Status::Ok();
}

// A ModernBertModel with `c`'s encoder: parameters of the bare model only.
ModelConfig BareConfig(ModelConfig c) {
  c.architecture = Architecture::kModel;
  c.architecture_name = ArchitectureName(c.architecture);
  c.id2label.clear();
  return c;
}

class RetrievalJob : public FineTuneJob {
 public:
  RetrievalJob(const RetrievalRunOptions& r, const RetrievalTrainData& train,
               const RetrievalDevData& dev, std::string model_dir)
      : r_(r), train_(train), dev_(dev), model_dir_(std::move(model_dir)) {
    for (const RetrievalExample& e : train.examples) {
      int64_t n = static_cast<int64_t>(train.queries[static_cast<size_t>(e.query)].size() +
                                       train.documents[static_cast<size_t>(e.positive)].size());
      if (e.negative >= 0)
        n += static_cast<int64_t>(train.documents[static_cast<size_t>(e.negative)].size());
      lengths_.push_back(n);
    }
  }

  std::vector<int64_t> TrainLengths() const override { return lengths_; }
  const std::string& train_source() const override { return train_.source; }

  TaskBatch TrainBatch(const std::vector<int64_t>& idx) const override {
    std::vector<std::vector<int32_t>> seqs;
    auto examples = [&](auto pick) {
      for (int64_t i : idx) {
        const RetrievalExample& e = train_.examples[static_cast<size_t>(i)];
        seqs.push_back(pick(e));
      }
    };
    examples(
        [&](const RetrievalExample& e) { return train_.queries[static_cast<size_t>(e.query)]; });
    examples([&](const RetrievalExample& e) {
      return train_.documents[static_cast<size_t>(e.positive)];
    });
    if (train_.hard_negatives)
      examples([&](const RetrievalExample& e) {
        return train_.documents[static_cast<size_t>(e.negative)];
      });
    TaskBatch b;
    b.packed = PackedBatch::FromSequences(seqs);
    b.columns = train_.hard_negatives ? 3 : 2;
    return b;
  }

  Result<std::string> Prepare(const FineTuneRunOptions& o) override {
    const std::string metric = o.metric.empty() ? "ndcg@10" : o.metric;
    if (metric != "ndcg@10" && metric != "mrr@10" && metric != "recall@100")
      return Status::Error("--metric '" + metric +
                           "' is not a retrieval metric; choose one of ndcg@10, mrr@10, "
                           "recall@100");
    if (o.batch_size < 2)
      return Status::Error("--batch-size must be at least 2 for in-batch negatives");
    if (dev_.documents.empty()) return Status::Error(dev_.source + ": the dev corpus is empty");
    return metric;
  }

  json Fingerprint() const override {
    const RetrievalFormat& f = r_.format;
    return {{"task", f.task == RetrievalTask::kDpr ? "dpr" : "colbert"},
            {"max_length", f.max_length},
            {"query_length", f.task == RetrievalTask::kColbert ? f.query_length : 0},
            {"hard_negatives", train_.hard_negatives},
            {"scale", f.task == RetrievalTask::kDpr ? r_.dpr_scale : 0.0f},
            {"dim", f.task == RetrievalTask::kColbert ? r_.colbert_dim : 0}};
  }

  Result<Encoder> NewModel(const FineTuneRunOptions& o) override {
    MBERT_ASSIGN_OR_RETURN(ModelConfig src, ModelConfig::FromFile(o.model_dir + "/config.json"));
    MBERT_ASSIGN_OR_RETURN(TensorTable have, LoadWeights(o.model_dir, src));
    ModelConfig c = BareConfig(src);
    const bool colbert = r_.format.task == RetrievalTask::kColbert;
    if (colbert)
      c.vocab_size = std::max<int64_t>(
          c.vocab_size, std::max(r_.format.query_prefix, r_.format.document_prefix) + 1);
    TensorTable params;
    for (const ParamSpec& p : ExpectedParams(c)) {
      auto it = have.find(p.name);
      if (it == have.end()) return Status::Error(o.model_dir + ": missing parameter " + p.name);
      if (p.name == kTokenEmbeddings && it->second.dim(0) < c.vocab_size) {
        // PyLate's resize for the prefix tokens; new rows = the mean of the old ones.
        const Tensor& old = it->second;
        const int64_t V = old.dim(0), C = old.dim(1);
        Tensor t({c.vocab_size, C});
        std::copy(old.data(), old.data() + V * C, t.data());
        std::vector<double> mean(static_cast<size_t>(C), 0.0);
        for (int64_t v = 0; v < V; ++v)
          for (int64_t k = 0; k < C; ++k) mean[static_cast<size_t>(k)] += old.data()[v * C + k];
        for (int64_t v = V; v < c.vocab_size; ++v)
          for (int64_t k = 0; k < C; ++k)
            t.data()[v * C + k] = static_cast<float>(mean[static_cast<size_t>(k)] / V);
        params.emplace(p.name, std::move(t));
        continue;
      }
      params.emplace(p.name, std::move(it->second));
    }
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::FromParams(c, std::move(params)));
    if (colbert) {
      const std::string dense = o.model_dir + "/1_Dense/model.safetensors";
      Tensor proj({r_.colbert_dim, c.hidden_size});
      if (FileExists(dense)) {
        MBERT_ASSIGN_OR_RETURN(proj, ReadProjection(dense, c.hidden_size));
      } else {
        // torch.nn.Linear's default init: U(-1/sqrt(C), 1/sqrt(C)).
        Rng rng = Rng::ForStream(o.seed, "colbert.projection");
        const double bound = 1.0 / std::sqrt(static_cast<double>(c.hidden_size));
        for (int64_t i = 0; i < proj.numel(); ++i)
          proj.data()[i] = static_cast<float>((2.0 * rng.Uniform() - 1.0) * bound);
      }
      MakeObjective(std::move(proj));
    } else {
      objective_ = std::make_unique<DprObjective>(DprOptions{.scale = r_.dpr_scale});
    }
    return m;
  }

  Result<Encoder> LoadCheckpoint(const std::string& dir) override {
    MBERT_ASSIGN_OR_RETURN(Encoder m, Encoder::Load(dir));
    if (r_.format.task == RetrievalTask::kColbert) {
      MBERT_ASSIGN_OR_RETURN(
          Tensor proj, ReadProjection(dir + "/1_Dense/model.safetensors", m.config().hidden_size));
      MakeObjective(std::move(proj));
    } else {
      objective_ = std::make_unique<DprObjective>(DprOptions{.scale = r_.dpr_scale});
    }
    return m;
  }

  Objective* objective() override { return objective_.get(); }

  Result<json> Evaluate(FineTuner& ft, const FineTuneRunOptions& o) override {
    const Encoder& m = ft.model();
    const bool colbert = r_.format.task == RetrievalTask::kColbert;
    std::vector<std::vector<eval::Hit>> hits;
    if (!colbert) {
      MBERT_ASSIGN_OR_RETURN(std::vector<float> q, Pooled(m, dev_.queries, o.batch_size));
      MBERT_ASSIGN_OR_RETURN(std::vector<float> d, Pooled(m, dev_.documents, o.batch_size));
      const int64_t C = m.config().hidden_size;
      hits = eval::DenseTopK(q.data(), static_cast<int64_t>(dev_.queries.size()), d.data(),
                             static_cast<int64_t>(dev_.documents.size()), C, 100,
                             eval::Similarity::kCosine);
    } else {
      std::vector<float> qv, dv;
      std::vector<int64_t> qoff, doff;
      MBERT_RETURN_IF_ERROR(TokenVectors(m, dev_.queries, true, o.batch_size, &qv, &qoff));
      MBERT_RETURN_IF_ERROR(TokenVectors(m, dev_.documents, false, o.batch_size, &dv, &doff));
      const int64_t D = r_.colbert_dim;
      for (size_t i = 0; i < dev_.queries.size(); ++i)
        hits.push_back(eval::MaxSimTopK(qv.data() + qoff[i] * D, qoff[i + 1] - qoff[i], dv.data(),
                                        doff, D, 100));
    }
    const eval::RunScores s =
        eval::EvaluateRun(dev_.qrels, eval::AsRun(hits, dev_.query_ids, dev_.doc_ids));
    return json{{"ndcg@10", s.mean.ndcg10},
                {"mrr@10", s.mean.mrr10},
                {"recall@100", s.mean.recall100},
                {"queries", s.per_query.size()}};
  }

  Status WriteModel(const std::string& dir, const Encoder& model, bool checkpoint) override {
    (void)checkpoint;  // a checkpoint is a loadable model directory too
    const ModelConfig& c = model.config();
    MBERT_RETURN_IF_ERROR(SaveWeights(dir, c, model.params()));
    MBERT_RETURN_IF_ERROR(WriteJson(dir + "/config.json", c.ToJson()));
    const bool colbert = r_.format.task == RetrievalTask::kColbert;
    MBERT_RETURN_IF_ERROR(WriteTokenizer(model_dir_, dir, colbert ? &r_.format : nullptr));
    const std::string second = colbert ? "1_Dense" : "1_Pooling";
    MBERT_RETURN_IF_ERROR(
        WriteJson(dir + "/modules.json",
                  json::array({{{"idx", 0},
                                {"name", "0"},
                                {"path", ""},
                                {"type", "sentence_transformers.models.Transformer"}},
                               {{"idx", 1},
                                {"name", "1"},
                                {"path", second},
                                {"type", colbert ? "pylate.models.Dense.Dense"
                                                 : "sentence_transformers.models.Pooling"}}})));
    MBERT_RETURN_IF_ERROR(
        WriteJson(dir + "/sentence_bert_config.json",
                  {{"max_seq_length", r_.format.max_length}, {"do_lower_case", false}}));
    fs::create_directories(dir + "/" + second);
    json st = {{"__version__", {{"mbert", "finetune"}}},
               {"prompts", json::object()},
               {"default_prompt_name", nullptr}};
    if (!colbert) {
      MBERT_RETURN_IF_ERROR(
          WriteJson(dir + "/1_Pooling/config.json", {{"word_embedding_dimension", c.hidden_size},
                                                     {"pooling_mode_cls_token", false},
                                                     {"pooling_mode_mean_tokens", true},
                                                     {"pooling_mode_max_tokens", false},
                                                     {"pooling_mode_mean_sqrt_len_tokens", false},
                                                     {"pooling_mode_weightedmean_tokens", false},
                                                     {"pooling_mode_lasttoken", false},
                                                     {"include_prompt", true}}));
      st["similarity_fn_name"] = "cosine";
      st["model_type"] = "SentenceTransformer";
      return WriteJson(dir + "/config_sentence_transformers.json", st);
    }
    const Tensor& proj = objective_->extra_params()->at(ColbertObjective::kProjection);
    MBERT_RETURN_IF_ERROR(
        WriteSafetensors(dir + "/1_Dense/model.safetensors", {{"linear.weight", &proj}}));
    MBERT_RETURN_IF_ERROR(WriteJson(dir + "/1_Dense/config.json",
                                    {{"in_features", c.hidden_size},
                                     {"out_features", r_.colbert_dim},
                                     {"bias", false},
                                     {"activation_function", "torch.nn.modules.linear.Identity"},
                                     {"use_residual", false}}));
    st["similarity_fn_name"] = "MaxSim";
    st["model_type"] = "ColBERT";
    st["query_prefix"] = kColbertQueryPrefix;
    st["document_prefix"] = kColbertDocumentPrefix;
    st["query_length"] = r_.format.query_length;
    st["document_length"] = r_.format.max_length;
    st["attend_to_expansion_tokens"] = true;
    st["skiplist_words"] = ColbertPunctuation();
    st["do_query_expansion"] = true;
    return WriteJson(dir + "/config_sentence_transformers.json", st);
  }

  void set_skiplist(std::set<int32_t> s) { skiplist_ = std::move(s); }

 private:
  static Result<Tensor> ReadProjection(const std::string& path, int64_t C) {
    MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(path));
    const TensorView* w = f.Find("linear.weight");
    if (w == nullptr || w->shape.size() != 2 || w->shape[1] != C)
      return Status::Error(path + ": expected 'linear.weight' of shape (dim, " + std::to_string(C) +
                           ")");
    Tensor t(w->shape);
    MBERT_RETURN_IF_ERROR(ConvertToFloat(*w, t.data(), path));
    return t;
  }

  void MakeObjective(Tensor proj) {
    ColbertOptions co;
    co.dim = proj.dim(0);
    co.skiplist = skiplist_;
    objective_ = std::make_unique<ColbertObjective>(co, std::move(proj));
  }

  // Runs the encoder over `seqs` in batches; `use` gets each batch and its hidden states.
  template <typename Use>
  Status Forward(const Encoder& m, const std::vector<std::vector<int32_t>>& seqs, int batch_size,
                 Use use) {
    for (size_t first = 0; first < seqs.size(); first += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(seqs.size(), first + static_cast<size_t>(batch_size));
      const std::vector<std::vector<int32_t>> part(seqs.begin() + static_cast<int64_t>(first),
                                                   seqs.begin() + static_cast<int64_t>(end));
      const PackedBatch b = PackedBatch::FromSequences(part);
      MBERT_RETURN_IF_ERROR(m.Forward(b, ctx_, &hidden_));
      use(b, part);
    }
    return Status::Ok();
  }

  // Mean-pooled embeddings (rows, C).
  Result<std::vector<float>> Pooled(const Encoder& m, const std::vector<std::vector<int32_t>>& seqs,
                                    int batch_size) {
    const int64_t C = m.config().hidden_size;
    std::vector<float> out;
    MBERT_RETURN_IF_ERROR(Forward(m, seqs, batch_size, [&](const PackedBatch& b, const auto&) {
      for (int s = 0; s < b.num_seqs(); ++s) {
        std::vector<double> sum(static_cast<size_t>(C), 0.0);
        for (int32_t t = b.seq_begin(s); t < b.seq_begin(s) + b.seq_len(s); ++t)
          for (int64_t k = 0; k < C; ++k) sum[static_cast<size_t>(k)] += hidden_[t * C + k];
        for (int64_t k = 0; k < C; ++k)
          out.push_back(static_cast<float>(sum[static_cast<size_t>(k)] / b.seq_len(s)));
      }
    }));
    return out;
  }

  // L2-normalised projected token vectors, a query's every token, a document's without the
  // skiplist tokens; offsets (rows + 1) into the (T, dim) result.
  Status TokenVectors(const Encoder& m, const std::vector<std::vector<int32_t>>& seqs, bool query,
                      int batch_size, std::vector<float>* out, std::vector<int64_t>* offsets) {
    const int64_t C = m.config().hidden_size;
    const Tensor& P = objective_->extra_params()->at(ColbertObjective::kProjection);
    const std::set<int32_t> none;
    offsets->assign(1, 0);
    return Forward(m, seqs, batch_size, [&](const PackedBatch& b, const auto& part) {
      for (int s = 0; s < b.num_seqs(); ++s) {
        const std::vector<int32_t>& ids = part[static_cast<size_t>(s)];
        const int64_t kept =
            AppendColbertVectors(hidden_.data() + static_cast<int64_t>(b.seq_begin(s)) * C,
                                 ids.data(), b.seq_len(s), C, P, query ? none : skiplist_, out);
        offsets->push_back(offsets->back() + kept);
      }
    });
  }

  const RetrievalRunOptions& r_;
  const RetrievalTrainData& train_;
  const RetrievalDevData& dev_;
  std::string model_dir_;  // the starting model: its tokenizer files are copied
  std::vector<int64_t> lengths_;
  std::unique_ptr<Objective> objective_;
  std::set<int32_t> skiplist_;
  ForwardContext ctx_;
  std::vector<float> hidden_;
};

}  // namespace

Result<RetrievalFormat> ColbertFormat(const Tokenizer& tok, int64_t query_length,
                                      int64_t document_length) {
  RetrievalFormat f;
  f.task = RetrievalTask::kColbert;
  f.query_length = query_length;
  f.max_length = document_length;
  const ColbertIds ids = ColbertIdsOf(tok, kColbertQueryPrefix, kColbertDocumentPrefix);
  f.cls = ids.cls;
  f.sep = ids.sep;
  f.mask = ids.mask;
  if (f.cls < 0 || f.sep < 0 || f.mask < 0)
    return Status::Error("ColBERT needs a tokenizer with [CLS], [SEP] and [MASK] tokens");
  f.query_prefix = ids.query_prefix;
  f.document_prefix = ids.document_prefix;
  const int32_t next = static_cast<int32_t>(tok.vocab_size());
  if (f.query_prefix < 0) f.query_prefix = next;
  if (f.document_prefix < 0) f.document_prefix = f.query_prefix == next ? next + 1 : next;
  if (query_length < 4 || document_length < 4)
    return Status::Error("--query-length and --max-length must be at least 4 for ColBERT");
  return f;
}

Result<FineTuneRunResult> RunRetrievalFineTune(const FineTuneRunOptions& options,
                                               const RetrievalRunOptions& retrieval,
                                               const RetrievalTrainData& train,
                                               const RetrievalDevData& dev) {
  RetrievalJob job(retrieval, train, dev, options.model_dir);
  if (retrieval.format.task == RetrievalTask::kColbert) {
    MBERT_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::FromModelDir(options.model_dir));
    job.set_skiplist(ColbertSkiplistIds(tok, ColbertPunctuation()));
  }
  return RunFineTuneJob(options, job);
}

}  // namespace mbert
