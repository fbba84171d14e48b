// The public Model and Context handles: loading a model directory into an immutable Model, and
// the per-caller Context around it.
#include <algorithm>
#include <string>
#include <utility>

#include "core/file_io.h"
#include "hub/hub.h"
#include "tasks/model_impl.h"

namespace mbert {

namespace {

ModelTask TaskOf(Architecture a) {
  switch (a) {
    case Architecture::kModel:
      return ModelTask::kEncoder;
    case Architecture::kMaskedLM:
      return ModelTask::kFillMask;
    case Architecture::kSequenceClassification:
      return ModelTask::kSequenceClassification;
    case Architecture::kTokenClassification:
      return ModelTask::kTokenClassification;
  }
  return ModelTask::kEncoder;
}

ModelInfo Describe(const std::string& dir, const Model::Impl& m) {
  const ModelConfig& c = m.encoder.config();
  ModelInfo i;
  i.path = dir;
  i.architecture = c.architecture_name;
  i.task = TaskOf(c.architecture);
  i.vocab_size = c.vocab_size;
  i.hidden_size = c.hidden_size;
  i.intermediate_size = c.intermediate_size;
  i.num_layers = c.num_hidden_layers;
  i.num_heads = c.num_attention_heads;
  i.max_position_embeddings = c.max_position_embeddings;
  i.local_attention = c.local_attention;
  for (const LayerSpec& s : m.encoder.plan())
    i.layer_types.push_back(s.global ? "full_attention" : "sliding_attention");
  i.labels = c.id2label;
  i.dtype = m.encoder.weight_dtype();
  i.num_parameters = m.encoder.num_parameters();
  i.weight_bytes = m.encoder.weight_bytes();
  i.has_tokenizer = m.tokenizer.has_value();
  i.embedding_pooling = m.embedder.pooling;
  i.embedding_normalize = m.embedder.normalize;
  i.embedding_dim = m.embedder.output_dim(c.hidden_size);
  i.mask_token_id = m.tokenizer ? m.tokenizer->mask_id() : -1;
  if (m.colbert) {
    i.colbert = true;
    i.colbert_dim = m.colbert->dim();
    i.colbert_query_length = m.colbert->query_length;
    i.colbert_document_length = m.colbert->document_length;
  }
  return i;
}

// The PyLate module of `dir` and its ids in the model's tokenizer.
Status LoadColbert(const std::string& dir, Model::Impl* m) {
  const ModelConfig& c = m->encoder.config();
  MBERT_ASSIGN_OR_RETURN(ColbertModule col, ColbertModule::Load(dir, c.hidden_size));
  if (!m->tokenizer)
    return Status::Error(dir + ": a ColBERT model needs its tokenizer.json (with the \"" +
                         col.query_prefix + "\" and \"" + col.document_prefix + "\" tokens)");
  if (std::max(col.query_length, col.document_length) > c.max_position_embeddings)
    return Status::Error(dir + "/config_sentence_transformers.json: query_length " +
                         std::to_string(col.query_length) + " or document_length " +
                         std::to_string(col.document_length) + " exceeds max_position_embeddings " +
                         std::to_string(c.max_position_embeddings));
  const ColbertIds ids = ColbertIdsOf(*m->tokenizer, col.query_prefix, col.document_prefix);
  for (const auto& [id, name] :
       {std::pair{ids.cls, std::string("[CLS]")}, std::pair{ids.sep, std::string("[SEP]")},
        std::pair{ids.mask, std::string("[MASK]")}, std::pair{ids.query_prefix, col.query_prefix},
        std::pair{ids.document_prefix, col.document_prefix}})
    if (id < 0 || id >= c.vocab_size)
      return Status::Error(dir + "/tokenizer.json: the ColBERT token \"" + name +
                           "\" is missing or outside the model's vocabulary");
  m->colbert_skiplist = ColbertSkiplistIds(*m->tokenizer, col.skiplist_words);
  m->colbert_ids = ids;
  m->colbert = std::move(col);
  return Status::Ok();
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::shared_ptr<const Model>> Model::Load(const std::string& name_or_dir,
                                                 const LoadOptions& options) {
  MBERT_ASSIGN_OR_RETURN(const std::string dir, hub::ResolveModelDir(name_or_dir));
  MBERT_ASSIGN_OR_RETURN(Encoder encoder, Encoder::Load(dir, options));
  std::optional<Tokenizer> tokenizer;
  if (FileExists(dir + "/tokenizer.json")) {
    MBERT_ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::FromModelDir(dir));
    tokenizer = std::move(t);
  }
  MBERT_ASSIGN_OR_RETURN(const bool colbert, ColbertModule::IsColbertDir(dir));
  SentenceEmbedder embedder;  // a ColBERT model: plain pooling, only when asked for
  if (!colbert) {
    MBERT_ASSIGN_OR_RETURN(embedder, SentenceEmbedder::Load(dir, encoder.config()));
  }
  auto impl = std::unique_ptr<Impl>(new Impl{std::move(encoder),
                                             std::move(tokenizer),
                                             std::move(embedder),
                                             ModelInfo{},
                                             std::nullopt,
                                             ColbertIds{},
                                             {}});
  if (colbert) MBERT_RETURN_IF_ERROR(LoadColbert(dir, impl.get()));
  impl->info = Describe(dir, *impl);
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer* Model::tokenizer() const {
  return impl_->tokenizer ? &*impl_->tokenizer : nullptr;
}

Context::Context(std::shared_ptr<const Model> model, const ContextOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->options = options;
}
Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

const Model& Context::model() const { return *impl_->model; }
const std::shared_ptr<const Model>& Context::shared_model() const { return impl_->model; }
const ContextOptions& Context::options() const { return impl_->options; }
ContextOptions& Context::mutable_options() { return impl_->options; }
void Context::SetStageHook(StageHook hook) { impl_->forward.hook = std::move(hook); }
void Context::EnableProfile(bool on) { impl_->forward.profile = on ? &impl_->profile : nullptr; }
const OpProfile& Context::profile() const { return impl_->profile; }
const std::vector<TruncatedInput>& Context::truncated() const { return impl_->truncated; }
void Context::ResetProfile() { impl_->profile = OpProfile{}; }

}  // namespace mbert
