// The public Model and Context handles: loading a model directory into an immutable Model, and
// the per-caller Context around it.
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
  return i;
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
  MBERT_ASSIGN_OR_RETURN(SentenceEmbedder embedder, SentenceEmbedder::Load(dir, encoder.config()));
  auto impl = std::unique_ptr<Impl>(
      new Impl{std::move(encoder), std::move(tokenizer), std::move(embedder), ModelInfo{}});
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
