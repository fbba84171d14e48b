#include "model/weights.h"

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/warn.h"

namespace mbert {

namespace fs = std::filesystem;

std::vector<ParamSpec> ExpectedParams(const ModelConfig& c) {
  const int64_t C = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  std::vector<ParamSpec> p;
  p.push_back({"model.embeddings.tok_embeddings.weight", {V, C}});
  p.push_back({"model.embeddings.norm.weight", {C}});
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = "model.layers." + std::to_string(i) + ".";
    if (i != 0) p.push_back({l + "attn_norm.weight", {C}});
    p.push_back({l + "attn.Wqkv.weight", {3 * C, C}});
    if (c.attention_bias) p.push_back({l + "attn.Wqkv.bias", {3 * C}});
    p.push_back({l + "attn.Wo.weight", {C, C}});
    if (c.attention_bias) p.push_back({l + "attn.Wo.bias", {C}});
    p.push_back({l + "mlp_norm.weight", {C}});
    p.push_back({l + "mlp.Wi.weight", {2 * I, C}});
    if (c.mlp_bias) p.push_back({l + "mlp.Wi.bias", {2 * I}});
    p.push_back({l + "mlp.Wo.weight", {C, I}});
    if (c.mlp_bias) p.push_back({l + "mlp.Wo.bias", {C}});
  }
  p.push_back({"model.final_norm.weight", {C}});
  if (c.architecture == Architecture::kModel) return p;
  p.push_back({"head.dense.weight", {C, C}});
  if (c.classifier_bias) p.push_back({"head.dense.bias", {C}});
  p.push_back({"head.norm.weight", {C}});
  if (c.architecture == Architecture::kMaskedLM) {
    if (c.decoder_bias) p.push_back({"decoder.bias", {V}});
    if (!c.tie_word_embeddings) p.push_back({"decoder.weight", {V, C}});
  } else {
    const int64_t K = c.num_labels();
    p.push_back({"classifier.weight", {K, C}});
    p.push_back({"classifier.bias", {K}});
  }
  return p;
}

namespace {

// Opened shards and which shard holds each tensor.
struct Checkpoint {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, const SafetensorsFile*> where;
};

Result<Checkpoint> OpenCheckpoint(const std::string& dir) {
  Checkpoint ck;
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  std::vector<std::string> shards;
  if (FileExists(single)) {
    shards.push_back(single);
  } else if (FileExists(index)) {
    MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(index));
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object())
      return Status::Error(index + ": missing object 'weight_map'");
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        return Status::Error(index + ": weight_map['" + it.key() + "'] must be a file name");
      const std::string f = it.value().get<std::string>();
      if (f.find('/') != std::string::npos || f == "..")
        return Status::Error(index + ": shard name '" + f + "' must be a plain file name");
      const std::string path = (fs::path(dir) / f).string();
      bool seen = false;
      for (const auto& s : shards) seen |= (s == path);
      if (!seen) shards.push_back(path);
    }
  } else {
    const bool has_bin = FileExists((fs::path(dir) / "pytorch_model.bin").string());
    return Status::Error(dir + ": no model.safetensors or model.safetensors.index.json" +
                         std::string(has_bin ? " (found pytorch_model.bin: convert it with "
                                               "transformers' save_pretrained(safe_serialization="
                                               "True))"
                                             : ""));
  }
  for (const std::string& path : shards) {
    MBERT_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(path));
    ck.files.push_back(std::make_unique<SafetensorsFile>(std::move(f)));
    for (const TensorView& t : ck.files.back()->tensors()) {
      auto [it, fresh] = ck.where.emplace(t.name, ck.files.back().get());
      if (!fresh)
        return Status::Error(dir + ": tensor '" + t.name + "' is stored twice, in " +
                             it->second->path() + " and " + path +
                             "; which one is meant is ambiguous");
    }
  }
  return ck;
}

// ModernBertModel checkpoints store encoder keys without the `model.` prefix.
std::vector<std::string> CandidateKeys(const std::string& canonical) {
  std::vector<std::string> keys{canonical};
  const std::string prefix = "model.";
  if (canonical.rfind(prefix, 0) == 0) keys.push_back(canonical.substr(prefix.size()));
  return keys;
}

}  // namespace

namespace {

// Finds each expected parameter of `c` in the checkpoint at `dir` (shape checked) and hands it to
// `take(spec, view, file)`, which copies it out; its mapped pages are released right after.
template <typename F>
Status ForEachExpected(const std::string& dir, const ModelConfig& c, F&& take) {
  MBERT_ASSIGN_OR_RETURN(Checkpoint ck, OpenCheckpoint(dir));
  std::set<std::string> used;
  for (const ParamSpec& spec : ExpectedParams(c)) {
    const TensorView* view = nullptr;
    const SafetensorsFile* file = nullptr;
    for (const std::string& key : CandidateKeys(spec.name)) {
      auto it = ck.where.find(key);
      if (it != ck.where.end()) {
        file = it->second;
        view = file->Find(key);
        used.insert(key);
        break;
      }
    }
    if (view == nullptr) {
      return Status::Error(dir + ": missing tensor '" + spec.name + "' (shape " +
                           ShapeString(spec.shape) + ") required by " + c.architecture_name +
                           "; is config.json's architecture right for this checkpoint?");
    }
    if (view->shape != spec.shape) {
      return Status::Error(file->path() + ": tensor '" + view->name + "' has shape " +
                           ShapeString(view->shape) + ", expected " + ShapeString(spec.shape) +
                           " from config.json");
    }
    MBERT_RETURN_IF_ERROR(take(spec, *view, *file));
    file->Release(*view);
  }
  // Tensors nothing reads are legal (transformers warns too) but often mean the config does not
  // describe the checkpoint (a head for another architecture, more layers than
  // num_hidden_layers): say which, so a silently ignored layer is not a mystery.
  std::vector<std::string> unused;
  for (const auto& [name, file] : ck.where)
    if (!used.count(name)) unused.push_back(name);
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 10; ++i) list += (i ? ", " : "") + unused[i];
    if (unused.size() > 10) list += ", ... (" + std::to_string(unused.size() - 10) + " more)";
    Warn(dir + ": " + std::to_string(unused.size()) + " checkpoint tensor" +
         (unused.size() == 1 ? " is" : "s are") + " not used by " + c.architecture_name + ": " +
         list);
  }
  return Status::Ok();
}

}  // namespace

Result<TensorTable> LoadWeights(const std::string& dir, const ModelConfig& c) {
  TensorTable table;
  MBERT_RETURN_IF_ERROR(ForEachExpected(
      dir, c, [&](const ParamSpec& spec, const TensorView& view, const SafetensorsFile& file) {
        Tensor t(spec.shape);
        MBERT_RETURN_IF_ERROR(ConvertToFloat(view, t.data(), file.path()));
        table.emplace(spec.name, std::move(t));
        return Status::Ok();
      }));
  return table;
}

Status LoadWeightsBf16(const std::string& dir, const ModelConfig& c, TensorTable* f32,
                       Bf16Table* bf16) {
  return ForEachExpected(
      dir, c, [&](const ParamSpec& spec, const TensorView& view, const SafetensorsFile& file) {
        if (spec.shape.size() == 2) {
          Bf16Tensor t(spec.shape);
          MBERT_RETURN_IF_ERROR(ConvertToBf16(view, t.data(), file.path()));
          bf16->emplace(spec.name, std::move(t));
        } else {
          Tensor t(spec.shape);
          MBERT_RETURN_IF_ERROR(ConvertToFloat(view, t.data(), file.path()));
          f32->emplace(spec.name, std::move(t));
        }
        return Status::Ok();
      });
}

Status SaveWeights(const std::string& dir, const ModelConfig& c, const TensorTable& params,
                   DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kBF16)
    return Status::Error("SaveWeights: cannot write " + std::string(DTypeName(dtype)) +
                         " weights (F32 or BF16)");
  std::vector<TensorToWrite> out;
  std::vector<std::string> names;
  for (const ParamSpec& spec : ExpectedParams(c)) {
    auto it = params.find(spec.name);
    if (it == params.end()) return Status::Error("SaveWeights: missing parameter " + spec.name);
    std::string key = spec.name;
    if (c.architecture == Architecture::kModel && key.rfind("model.", 0) == 0) key = key.substr(6);
    out.push_back({key, &it->second, dtype});
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error(dir + ": cannot create directory: " + ec.message());
  return WriteSafetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
}

}  // namespace mbert
