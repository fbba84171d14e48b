#include "model/colbert.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/json_fields.h"
#include "model/sentence_embedder.h"

namespace mbert {

namespace fs = std::filesystem;

std::vector<std::string> ColbertPunctuation() {
  std::vector<std::string> words;
  for (const char* p = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"; *p != '\0'; ++p)
    words.emplace_back(1, *p);
  return words;
}

std::vector<int32_t> ColbertQueryIds(const std::vector<int32_t>& tokens, int32_t cls, int32_t sep,
                                     int32_t prefix, int32_t mask, int64_t max_length) {
  std::vector<int32_t> ids = ColbertDocumentIds(tokens, cls, sep, prefix, max_length);
  ids.resize(static_cast<size_t>(std::max<int64_t>(max_length, 0)), mask);
  return ids;
}

std::vector<int32_t> ColbertDocumentIds(const std::vector<int32_t>& tokens, int32_t cls,
                                        int32_t sep, int32_t prefix, int64_t max_length) {
  // The tokenizer sees max_seq_length = max_length − 1 ([CLS] … [SEP]); the prefix makes it
  // max_length.
  const int64_t keep =
      std::max<int64_t>(0, std::min<int64_t>(static_cast<int64_t>(tokens.size()), max_length - 3));
  std::vector<int32_t> ids = {cls, prefix};
  ids.insert(ids.end(), tokens.begin(), tokens.begin() + keep);
  ids.push_back(sep);
  return ids;
}

ColbertIds ColbertIdsOf(const Tokenizer& tok, const std::string& query_prefix,
                        const std::string& document_prefix) {
  return ColbertIds{.cls = tok.TokenToId("[CLS]"),
                    .sep = tok.TokenToId("[SEP]"),
                    .mask = tok.TokenToId("[MASK]"),
                    .query_prefix = tok.TokenToId(query_prefix),
                    .document_prefix = tok.TokenToId(document_prefix)};
}

Result<std::vector<int32_t>> ColbertTextIds(const Tokenizer& tok, const ColbertIds& ids,
                                            const std::string& text, bool query, int64_t length,
                                            bool expand, int64_t* full_length) {
  EncodeOptions o;
  o.add_special_tokens = false;
  MBERT_ASSIGN_OR_RETURN(Encoding e, tok.Encode(text, o));
  if (full_length != nullptr) *full_length = static_cast<int64_t>(e.ids.size()) + 3;
  if (query && expand)
    return ColbertQueryIds(e.ids, ids.cls, ids.sep, ids.query_prefix, ids.mask, length);
  return ColbertDocumentIds(e.ids, ids.cls, ids.sep, query ? ids.query_prefix : ids.document_prefix,
                            length);
}

std::set<int32_t> ColbertSkiplistIds(const Tokenizer& tok, const std::vector<std::string>& words) {
  std::set<int32_t> skip;
  for (const std::string& w : words) {
    const int32_t id = tok.TokenToId(w);
    if (id >= 0) skip.insert(id);
  }
  return skip;
}

int64_t AppendColbertVectors(const float* hidden, const int32_t* ids, int64_t len, int64_t C,
                             const Tensor& projection, const std::set<int32_t>& skip,
                             std::vector<float>* out) {
  const int64_t D = projection.dim(0);
  const float* P = projection.data();
  std::vector<double> v(static_cast<size_t>(D));
  int64_t kept = 0;
  for (int64_t j = 0; j < len; ++j) {
    if (skip.count(ids[j]) > 0) continue;
    const float* h = hidden + j * C;
    double norm = 0.0;
    for (int64_t d = 0; d < D; ++d) {
      double acc = 0.0;
      for (int64_t k = 0; k < C; ++k) acc += static_cast<double>(P[d * C + k]) * h[k];
      v[static_cast<size_t>(d)] = acc;
      norm += acc * acc;
    }
    norm = std::max(std::sqrt(norm), 1e-12);  // F.normalize's eps
    for (int64_t d = 0; d < D; ++d)
      out->push_back(static_cast<float>(v[static_cast<size_t>(d)] / norm));
    ++kept;
  }
  return kept;
}

Result<bool> ColbertModule::IsColbertDir(const std::string& dir) {
  const std::string modules = (fs::path(dir) / "modules.json").string();
  if (!FileExists(modules)) return false;
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(modules));
  if (!j.is_array()) return Status::Error(modules + ": expected a JSON list of modules");
  for (const nlohmann::json& m : j) {
    if (!m.is_object()) continue;
    auto t = m.find("type");
    if (t != m.end() && t->is_string() && t->get<std::string>().starts_with("pylate.")) return true;
  }
  return false;
}

Result<ColbertModule> ColbertModule::Load(const std::string& dir, int64_t hidden_size) {
  ColbertModule c;
  const std::string modules = (fs::path(dir) / "modules.json").string();
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(modules));
  std::string dense_path;
  for (const nlohmann::json& m : j) {
    MBERT_ASSIGN_OR_RETURN(const JsonFields fields, JsonFields::Of(m, modules));
    std::string type, path;
    MBERT_RETURN_IF_ERROR(fields.String("type", &type));
    MBERT_RETURN_IF_ERROR(fields.String("path", &path));
    if (type.ends_with(".Transformer")) {
      if (!path.empty())
        return Status::Error(modules +
                             ": the Transformer module must live in the model directory itself "
                             "(path \"\")");
      continue;
    }
    if (!type.starts_with("pylate.") || !type.ends_with(".Dense") || !dense_path.empty())
      return Status::Error(modules + ": module type '" + type +
                           "' is not supported in a ColBERT model (one Transformer, then one "
                           "pylate.models.Dense.Dense)");
    const fs::path rel(path);
    if (path.empty() || rel.is_absolute() || std::find(rel.begin(), rel.end(), "..") != rel.end())
      return Status::Error(modules + ": the Dense path must be a folder inside the model, got '" +
                           path + "'");
    dense_path = (fs::path(dir) / path).string();
  }
  if (dense_path.empty())
    return Status::Error(modules + ": a ColBERT model needs a pylate.models.Dense.Dense module");
  MBERT_ASSIGN_OR_RETURN(DenseModule d, ReadDenseModule(dense_path));
  if (!d.bias.empty() || d.tanh)
    return Status::Error(dense_path +
                         ": a ColBERT Dense with a bias or an activation is not supported "
                         "(bias false, torch.nn.modules.linear.Identity)");
  if (d.weight.dim(1) != hidden_size)
    return Status::Error(dense_path + ": in_features " + std::to_string(d.weight.dim(1)) +
                         " does not match the model's hidden_size " + std::to_string(hidden_size));
  c.projection = std::move(d.weight);

  const std::string st_path = (fs::path(dir) / "config_sentence_transformers.json").string();
  if (!FileExists(st_path)) return c;
  MBERT_ASSIGN_OR_RETURN(nlohmann::json st, ReadJsonFile(st_path));
  MBERT_ASSIGN_OR_RETURN(const JsonFields f, JsonFields::Of(st, st_path));
  constexpr int64_t kMaxLength = int64_t{1} << 20;
  MBERT_RETURN_IF_ERROR(f.String("query_prefix", &c.query_prefix));
  MBERT_RETURN_IF_ERROR(f.String("document_prefix", &c.document_prefix));
  MBERT_RETURN_IF_ERROR(f.Int("query_length", &c.query_length, 4, kMaxLength));
  MBERT_RETURN_IF_ERROR(f.Int("document_length", &c.document_length, 4, kMaxLength));
  MBERT_RETURN_IF_ERROR(f.Bool("do_query_expansion", &c.do_query_expansion));
  MBERT_RETURN_IF_ERROR(f.StringList("skiplist_words", &c.skiplist_words, 1 << 16));
  bool attend = true;
  MBERT_RETURN_IF_ERROR(f.Bool("attend_to_expansion_tokens", &attend));
  if (!attend)
    return f.Error("attend_to_expansion_tokens",
                   "false is not supported (the [MASK] expansion tokens would be masked as keys); "
                   "mbert trains and runs ColBERT with true");
  return c;
}

}  // namespace mbert
