// The C API (include/mbert/mbert.h): opaque handles over the C++ API, errors as status codes with
// a per-thread message. No exception crosses the C boundary.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/thread_limit.h"
#include "mbert/context.h"
#include "mbert/mbert.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

struct mbert_model {
  std::shared_ptr<const mbert::Model> model;
};

struct mbert_context {
  mbert::Context ctx;
};

namespace {

thread_local std::string g_last_error;

mbert_status Fail(mbert_status code, std::string message) {
  g_last_error = std::move(message);
  return code;
}

mbert_status FailStatus(mbert_status code, const mbert::Status& st) {
  return Fail(code, st.message());
}

// Runs f, turning any exception (bad_alloc, ...) into MBERT_ERR_INTERNAL.
template <typename F>
mbert_status Guard(F&& f) {
  try {
    g_last_error.clear();
    return f();
  } catch (const std::bad_alloc&) {
    return Fail(MBERT_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return Fail(MBERT_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(MBERT_ERR_INTERNAL, "internal error");
  }
}

char* CopyString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

mbert_status TextsToInputs(const char* const* texts, size_t n, std::vector<mbert::Input>* out) {
  if (texts == nullptr && n > 0) return Fail(MBERT_ERR_INVALID_ARGUMENT, "texts is NULL");
  out->clear();
  out->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (texts[i] == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "texts[" + std::to_string(i) + "] is NULL");
    out->push_back(mbert::Input::Text(texts[i]));
  }
  return MBERT_OK;
}

}  // namespace

extern "C" {

const char* mbert_last_error(void) { return g_last_error.c_str(); }

const char* mbert_version(void) { return MBERT_VERSION_STRING; }

mbert_status mbert_model_load(const char* dir, const char* dtype, mbert_model** out) {
  return Guard([&] {
    if (dir == nullptr || out == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_model_load: dir and out must not be NULL");
    *out = nullptr;
    mbert::LoadOptions opts;
    if (dtype != nullptr) {
      auto d = mbert::ParseWeightDtype(dtype);
      if (!d.ok()) return FailStatus(MBERT_ERR_INVALID_ARGUMENT, d.status());
      opts.dtype = d.value();
    }
    auto m = mbert::Model::Load(dir, opts);
    if (!m.ok()) return FailStatus(MBERT_ERR_LOAD, m.status());
    *out = new mbert_model{std::move(m).value()};
    return MBERT_OK;
  });
}

void mbert_model_free(mbert_model* model) { delete model; }

const char* mbert_model_architecture(const mbert_model* model) {
  return model ? model->model->info().architecture.c_str() : "";
}
int64_t mbert_model_hidden_size(const mbert_model* model) {
  return model ? model->model->info().hidden_size : 0;
}
int64_t mbert_model_max_length(const mbert_model* model) {
  return model ? model->model->info().max_position_embeddings : 0;
}
int64_t mbert_model_embedding_dim(const mbert_model* model) {
  return model ? model->model->info().embedding_dim : 0;
}
int32_t mbert_model_num_labels(const mbert_model* model) {
  return model ? static_cast<int32_t>(model->model->info().labels.size()) : 0;
}
const char* mbert_model_label(const mbert_model* model, int32_t i) {
  if (model == nullptr || i < 0 || i >= mbert_model_num_labels(model)) return nullptr;
  return model->model->info().labels[static_cast<size_t>(i)].c_str();
}

mbert_status mbert_context_new(const mbert_model* model, int32_t threads, int64_t batch_tokens,
                               mbert_context** out) {
  return Guard([&] {
    if (model == nullptr || out == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_context_new: model and out must not be NULL");
    *out = nullptr;
    if (threads < 0 || batch_tokens < 0)
      return Fail(MBERT_ERR_INVALID_ARGUMENT,
                  "mbert_context_new: threads and batch_tokens must be >= 0");
    if (mbert::Status st = mbert::CheckThreadCount(threads, "mbert_context_new: threads"); !st.ok())
      return Fail(MBERT_ERR_INVALID_ARGUMENT, st.message());
    mbert::ContextOptions opts;
    opts.threads = threads;
    if (batch_tokens > 0) opts.batch_tokens = batch_tokens;
    *out = new mbert_context{mbert::Context(model->model, opts)};
    return MBERT_OK;
  });
}

void mbert_context_free(mbert_context* ctx) { delete ctx; }

mbert_status mbert_context_set_truncation(mbert_context* ctx, int32_t truncate,
                                          int64_t max_length) {
  return Guard([&] {
    if (ctx == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_context_set_truncation: ctx is NULL");
    if (max_length < 0)
      return Fail(MBERT_ERR_INVALID_ARGUMENT,
                  "mbert_context_set_truncation: max_length must be >= 0, got " +
                      std::to_string(max_length));
    ctx->ctx.mutable_options().truncate = truncate != 0;
    ctx->ctx.mutable_options().max_length = max_length;
    return MBERT_OK;
  });
}

size_t mbert_context_truncated_count(const mbert_context* ctx) {
  return ctx ? ctx->ctx.truncated().size() : 0;
}

mbert_status mbert_tokenize(mbert_context* ctx, const char* text, int32_t* ids, size_t capacity,
                            size_t* n_ids) {
  return Guard([&] {
    if (ctx == nullptr || text == nullptr || n_ids == nullptr || (ids == nullptr && capacity > 0))
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_tokenize: NULL argument");
    auto enc = mbert::Tokenize(ctx->ctx, {mbert::Input::Text(text)});
    if (!enc.ok()) return FailStatus(MBERT_ERR_INPUT, enc.status());
    const std::vector<int32_t>& v = enc.value()[0].ids;
    *n_ids = v.size();
    if (v.size() > capacity)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_tokenize: " + std::to_string(v.size()) +
                                                  " ids do not fit in capacity " +
                                                  std::to_string(capacity));
    std::copy(v.begin(), v.end(), ids);
    return MBERT_OK;
  });
}

mbert_status mbert_embed(mbert_context* ctx, const char* const* texts, size_t n_texts,
                         int32_t normalize, int32_t dims, float* out, size_t capacity) {
  return Guard([&] {
    if (ctx == nullptr || (out == nullptr && n_texts > 0))
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_embed: NULL argument");
    std::vector<mbert::Input> inputs;
    if (mbert_status s = TextsToInputs(texts, n_texts, &inputs); s != MBERT_OK) return s;
    mbert::EmbedOptions opts;
    opts.normalize = normalize != 0;
    opts.dims = dims;
    const int64_t dim = dims > 0 ? dims : ctx->ctx.model().info().embedding_dim;
    if (static_cast<size_t>(dim) * n_texts > capacity)
      return Fail(MBERT_ERR_INVALID_ARGUMENT,
                  "mbert_embed: " + std::to_string(n_texts) + " x " + std::to_string(dim) +
                      " floats do not fit in capacity " + std::to_string(capacity));
    auto emb = mbert::Embed(ctx->ctx, inputs, opts);
    if (!emb.ok()) return FailStatus(MBERT_ERR_INPUT, emb.status());
    std::copy(emb->values.begin(), emb->values.end(), out);
    return MBERT_OK;
  });
}

mbert_status mbert_classify(mbert_context* ctx, const char* const* texts, size_t n_texts,
                            float* probs, size_t capacity, int32_t* best) {
  return Guard([&] {
    if (ctx == nullptr || (probs == nullptr && n_texts > 0))
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_classify: NULL argument");
    std::vector<mbert::Input> inputs;
    if (mbert_status s = TextsToInputs(texts, n_texts, &inputs); s != MBERT_OK) return s;
    const size_t K = ctx->ctx.model().info().labels.size();
    if (K * n_texts > capacity)
      return Fail(MBERT_ERR_INVALID_ARGUMENT,
                  "mbert_classify: " + std::to_string(n_texts) + " x " + std::to_string(K) +
                      " floats do not fit in capacity " + std::to_string(capacity));
    auto res = mbert::ClassifySequences(ctx->ctx, inputs);
    if (!res.ok()) return FailStatus(MBERT_ERR_INPUT, res.status());
    for (size_t i = 0; i < n_texts; ++i) {
      const mbert::SequenceClassification& r = res.value()[i];
      std::copy(r.scores.begin(), r.scores.end(), probs + i * K);
      if (best != nullptr) best[i] = r.label_id;
    }
    return MBERT_OK;
  });
}

mbert_status mbert_classify_tokens(mbert_context* ctx, const char* text, mbert_token_label** out,
                                   size_t* n_out) {
  return Guard([&] {
    if (ctx == nullptr || text == nullptr || out == nullptr || n_out == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_classify_tokens: NULL argument");
    *out = nullptr;
    *n_out = 0;
    auto res = mbert::ClassifyTokens(ctx->ctx, {mbert::Input::Text(text)});
    if (!res.ok()) return FailStatus(MBERT_ERR_INPUT, res.status());
    const auto& toks = res.value()[0].tokens;
    auto* labels =
        static_cast<mbert_token_label*>(std::malloc(sizeof(mbert_token_label) * toks.size()));
    if (labels == nullptr) throw std::bad_alloc();
    for (size_t i = 0; i < toks.size(); ++i)
      labels[i] = {toks[i].id, toks[i].label_id, toks[i].score, toks[i].start, toks[i].end};
    *out = labels;
    *n_out = toks.size();
    return MBERT_OK;
  });
}

void mbert_token_labels_free(mbert_token_label* labels) { std::free(labels); }

mbert_status mbert_fill_mask(mbert_context* ctx, const char* text, int32_t top_k,
                             mbert_mask_candidate** out, size_t* n_out) {
  return Guard([&] {
    if (ctx == nullptr || text == nullptr || out == nullptr || n_out == nullptr)
      return Fail(MBERT_ERR_INVALID_ARGUMENT, "mbert_fill_mask: NULL argument");
    *out = nullptr;
    *n_out = 0;
    mbert::FillMaskOptions opts;
    opts.top_k = top_k;
    auto res = mbert::FillMask(ctx->ctx, {mbert::Input::Text(text)}, opts);
    if (!res.ok()) return FailStatus(MBERT_ERR_INPUT, res.status());
    size_t n = 0;
    for (const auto& m : res.value()[0].masks) n += m.candidates.size();
    auto* c = static_cast<mbert_mask_candidate*>(std::calloc(n, sizeof(mbert_mask_candidate)));
    if (c == nullptr && n > 0) throw std::bad_alloc();
    size_t k = 0;
    try {
      for (const auto& m : res.value()[0].masks) {
        for (const auto& cand : m.candidates) {
          c[k].position = m.position;
          c[k].token = cand.token;
          c[k].score = cand.score;
          c[k].token_str = CopyString(cand.token_str);
          c[k].sequence = CopyString(cand.sequence);
          ++k;
        }
      }
    } catch (...) {
      mbert_mask_candidates_free(c, n);
      throw;
    }
    *out = c;
    *n_out = n;
    return MBERT_OK;
  });
}

void mbert_mask_candidates_free(mbert_mask_candidate* candidates, size_t n) {
  if (candidates == nullptr) return;
  for (size_t i = 0; i < n; ++i) {
    std::free(const_cast<char*>(candidates[i].token_str));
    std::free(const_cast<char*>(candidates[i].sequence));
  }
  std::free(candidates);
}

}  // extern "C"
