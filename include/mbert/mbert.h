/* The C API of mbert: load a ModernBERT model directory, and tokenize, embed, fill masks and
 * classify through opaque handles, for bindings from Python (ctypes/cffi), Go, Rust and others.
 * It wraps the C++ API (mbert/model.h, context.h, tasks.h) call for call.
 *
 * Conventions:
 *  - Every call that can fail returns an mbert_status; on failure, mbert_last_error() gives a
 *    message naming the file, field or input at fault, valid until the next mbert call on the
 *    same thread.
 *  - A model is immutable and may be shared by any number of threads; a context is one caller's
 *    state (scratch, threads) and must be used by one thread at a time. Free contexts before the
 *    model they were made from.
 *  - Strings are UTF-8 and NUL-terminated. Arrays the library returns are freed with the matching
 *    mbert_*_free call; arrays the caller passes stay the caller's.
 */
#ifndef MBERT_MBERT_H_
#define MBERT_MBERT_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define MBERT_C_API
#else
#define MBERT_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mbert_status {
  MBERT_OK = 0,
  MBERT_ERR_INVALID_ARGUMENT = 1, /* a null handle or pointer, a size too small, a bad option */
  MBERT_ERR_LOAD = 2,             /* the model directory could not be loaded */
  MBERT_ERR_INPUT = 3,            /* an input was rejected (no tokenizer, no mask, too long...) */
  MBERT_ERR_INTERNAL = 4          /* an unexpected failure (e.g. out of memory) */
} mbert_status;

typedef struct mbert_model mbert_model;
typedef struct mbert_context mbert_context;

/* The message of the last failed call on this thread ("" if none). */
MBERT_C_API const char* mbert_last_error(void);
/* The library's version, e.g. "0.1.0". */
MBERT_C_API const char* mbert_version(void);

/* ---- models ---- */
/* dtype: "f32" (default when NULL) or "bf16" (weights stored in bf16, inference only). */
MBERT_C_API mbert_status mbert_model_load(const char* dir, const char* dtype, mbert_model** out);
MBERT_C_API void mbert_model_free(mbert_model* model);
/* "ModernBertForMaskedLM", "ModernBertForSequenceClassification", ... */
MBERT_C_API const char* mbert_model_architecture(const mbert_model* model);
MBERT_C_API int64_t mbert_model_hidden_size(const mbert_model* model);
MBERT_C_API int64_t mbert_model_max_length(const mbert_model* model);
/* Width of mbert_embed's vectors with dims = 0. */
MBERT_C_API int64_t mbert_model_embedding_dim(const mbert_model* model);
/* Number of labels of a classification model (0 otherwise) and the name of label i (NULL when
 * out of range). */
MBERT_C_API int32_t mbert_model_num_labels(const mbert_model* model);
MBERT_C_API const char* mbert_model_label(const mbert_model* model, int32_t i);

/* ---- contexts ---- */
/* threads: OpenMP threads for this context's forwards (0: leave the caller's setting).
 * batch_tokens: tokens per packed forward (0: 16384). */
MBERT_C_API mbert_status mbert_context_new(const mbert_model* model, int32_t threads,
                                           int64_t batch_tokens, mbert_context** out);
MBERT_C_API void mbert_context_free(mbert_context* ctx);
/* The input length rule of the context's tasks. max_length: the longest input in tokens, specials
 * included (0: the model's maximum, which also caps larger values). truncate == 0 (the default):
 * a longer input fails the call with MBERT_ERR_INPUT and a message naming the input, its length
 * and the limit. truncate != 0: it is cut to the limit ([CLS] ... [SEP] kept) and the call
 * succeeds; mbert_context_truncated_count() then says how many inputs were cut. */
MBERT_C_API mbert_status mbert_context_set_truncation(mbert_context* ctx, int32_t truncate,
                                                      int64_t max_length);
/* How many inputs of the last task call on ctx were truncated. */
MBERT_C_API size_t mbert_context_truncated_count(const mbert_context* ctx);

/* ---- tasks ---- */
/* Token ids of `text` as the model runs it ([CLS] ... [SEP]; a text over the context's length
 * limit is an error, or truncated: mbert_context_set_truncation).
 * Writes at most `capacity` ids to `ids` and the full count to *n_ids; MBERT_ERR_INVALID_ARGUMENT
 * when capacity is too small (*n_ids then says how many are needed). */
MBERT_C_API mbert_status mbert_tokenize(mbert_context* ctx, const char* text, int32_t* ids,
                                        size_t capacity, size_t* n_ids);

/* One embedding per text into out (n_texts x dim, row-major), dim = dims if 0 < dims, else
 * mbert_model_embedding_dim. normalize != 0: L2-normalised. capacity: floats available at out. */
MBERT_C_API mbert_status mbert_embed(mbert_context* ctx, const char* const* texts, size_t n_texts,
                                     int32_t normalize, int32_t dims, float* out, size_t capacity);

/* Sequence classification: softmax probabilities into probs (n_texts x num_labels) and the best
 * label id per text into best (may be NULL). capacity: floats available at probs. */
MBERT_C_API mbert_status mbert_classify(mbert_context* ctx, const char* const* texts,
                                        size_t n_texts, float* probs, size_t capacity,
                                        int32_t* best);

/* Token classification of one text: one entry per token (specials included). */
typedef struct mbert_token_label {
  int32_t id;    /* token id */
  int32_t label; /* best label id */
  float score;   /* its softmax probability */
  int64_t start; /* code-point offsets into the text; (0, 0) for special tokens */
  int64_t end;
} mbert_token_label;
MBERT_C_API mbert_status mbert_classify_tokens(mbert_context* ctx, const char* text,
                                               mbert_token_label** out, size_t* n_out);
MBERT_C_API void mbert_token_labels_free(mbert_token_label* labels);

/* Fill-mask of one text: top_k candidates for every mask, masks in order, best first. */
typedef struct mbert_mask_candidate {
  int32_t position;      /* token index of the mask */
  int32_t token;         /* candidate token id */
  float score;           /* softmax probability */
  const char* token_str; /* the token decoded */
  const char* sequence;  /* the text with the candidate in place of the mask */
} mbert_mask_candidate;
MBERT_C_API mbert_status mbert_fill_mask(mbert_context* ctx, const char* text, int32_t top_k,
                                         mbert_mask_candidate** out, size_t* n_out);
MBERT_C_API void mbert_mask_candidates_free(mbert_mask_candidate* candidates, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MBERT_MBERT_H_ */
