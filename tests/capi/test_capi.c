/* The C API from C: load, contexts, tokenize, embed, fill-mask, classify (sequences and tokens),
 * and its errors. Prints one line per check and "N passed, N failed"; exit status 1 on any
 * failure. Test data directory from MBERT_TESTDATA_DIR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbert/mbert.h"

static int passed = 0, failed = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (cond) {                                                       \
      ++passed;                                                       \
    } else {                                                          \
      ++failed;                                                       \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, " (last error: %s)\n", mbert_last_error());     \
    }                                                                 \
  } while (0)

static void path(char* out, size_t n, const char* name) {
  const char* dir = getenv("MBERT_TESTDATA_DIR");
  snprintf(out, n, "%s/%s", dir ? dir : "tests/data", name);
}

static void test_mlm(void) {
  char dir[4096];
  path(dir, sizeof dir, "tiny-mlm");
  mbert_model* model = NULL;
  CHECK(mbert_model_load(dir, NULL, &model) == MBERT_OK, "load %s", dir);
  if (model == NULL) return;
  CHECK(strcmp(mbert_model_architecture(model), "ModernBertForMaskedLM") == 0, "architecture");
  CHECK(mbert_model_hidden_size(model) == 64, "hidden size");
  CHECK(mbert_model_num_labels(model) == 0, "no labels");
  mbert_context* ctx = NULL;
  CHECK(mbert_context_new(model, 1, 0, &ctx) == MBERT_OK, "context");

  int32_t ids[64];
  size_t n_ids = 0;
  CHECK(mbert_tokenize(ctx, "Hello world", ids, 64, &n_ids) == MBERT_OK, "tokenize");
  CHECK(n_ids == 4 && ids[0] == 50281 && ids[3] == 50282, "[CLS] hello world [SEP]: %zu ids",
        n_ids);
  CHECK(mbert_tokenize(ctx, "Hello world", ids, 2, &n_ids) == MBERT_ERR_INVALID_ARGUMENT &&
            n_ids == 4,
        "too small a buffer reports the size needed");

  const char* texts[] = {"first text", "a second, longer text"};
  const int64_t dim = mbert_model_embedding_dim(model);
  float* emb = malloc(sizeof(float) * (size_t)dim * 2);
  CHECK(mbert_embed(ctx, texts, 2, 1, 0, emb, (size_t)dim * 2) == MBERT_OK, "embed");
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int64_t k = 0; k < dim; ++k) ss += (double)emb[r * dim + k] * emb[r * dim + k];
    CHECK(fabs(ss - 1.0) < 1e-5, "row %d normalised: |e|^2 = %f", r, ss);
  }
  /* The same text alone gives the same vector as in the batch of two (to 1e-5 relative). */
  float* one = malloc(sizeof(float) * (size_t)dim);
  CHECK(mbert_embed(ctx, texts + 1, 1, 1, 0, one, (size_t)dim) == MBERT_OK, "embed one");
  double maxdiff = 0;
  for (int64_t k = 0; k < dim; ++k) {
    double d = fabs((double)one[k] - emb[dim + k]);
    if (d > maxdiff) maxdiff = d;
  }
  CHECK(maxdiff < 1e-5, "alone vs batched: max |diff| %g", maxdiff);
  CHECK(mbert_embed(ctx, texts, 2, 0, 8, emb, 15) == MBERT_ERR_INVALID_ARGUMENT,
        "capacity 15 < 2 x 8");
  CHECK(mbert_embed(ctx, texts, 2, 0, 8, emb, 16) == MBERT_OK, "Matryoshka dims 8");
  free(one);
  free(emb);

  mbert_mask_candidate* cands = NULL;
  size_t n = 0;
  CHECK(mbert_fill_mask(ctx, "The capital of France is [MASK].", 3, &cands, &n) == MBERT_OK,
        "fill-mask");
  CHECK(n == 3, "3 candidates, got %zu", n);
  for (size_t i = 0; i < n; ++i) {
    CHECK(cands[i].position == 6, "mask position %d", cands[i].position);
    CHECK(cands[i].score > 0 && cands[i].score <= 1, "score %f", cands[i].score);
    CHECK(i == 0 || cands[i - 1].score >= cands[i].score, "sorted");
    CHECK(strstr(cands[i].sequence, cands[i].token_str) != NULL, "sequence '%s' holds '%s'",
          cands[i].sequence, cands[i].token_str);
  }
  mbert_mask_candidates_free(cands, n);
  CHECK(mbert_fill_mask(ctx, "no mask", 3, &cands, &n) == MBERT_ERR_INPUT && cands == NULL,
        "input without [MASK]");
  CHECK(strstr(mbert_last_error(), "no mask token") != NULL, "message names the problem");
  /* An input over the length limit is an error naming it, its length and the limit; with
   * truncation on it is cut to the limit with its closing [SEP] and counted. */
  CHECK(mbert_context_set_truncation(ctx, 0, 4) == MBERT_OK, "limit 4");
  CHECK(mbert_tokenize(ctx, "one two three four five six", ids, 64, &n_ids) == MBERT_ERR_INPUT,
        "too long an input is an error by default");
  CHECK(strstr(mbert_last_error(), "input 1 has 8 tokens, more than the limit of 4") != NULL,
        "message names input, length and limit: %s", mbert_last_error());
  CHECK(mbert_context_set_truncation(ctx, 1, 4) == MBERT_OK, "truncate");
  CHECK(mbert_tokenize(ctx, "one two three four five six", ids, 64, &n_ids) == MBERT_OK &&
            n_ids == 4 && ids[0] == 50281 && ids[3] == 50282,
        "truncated to [CLS] one two [SEP]: %zu ids", n_ids);
  CHECK(mbert_context_truncated_count(ctx) == 1, "one input truncated");
  CHECK(mbert_tokenize(ctx, "one", ids, 64, &n_ids) == MBERT_OK &&
            mbert_context_truncated_count(ctx) == 0,
        "the count is the last call's");
  CHECK(mbert_context_set_truncation(ctx, 0, -1) == MBERT_ERR_INVALID_ARGUMENT,
        "negative max_length");
  CHECK(mbert_context_set_truncation(ctx, 0, 0) == MBERT_OK, "back to the model's limit");
  float probs[4];
  CHECK(mbert_classify(ctx, texts, 1, probs, 4, NULL) == MBERT_ERR_INPUT,
        "classify on an MLM model");
  CHECK(strstr(mbert_last_error(), "ModernBertForSequenceClassification") != NULL,
        "message names the architecture needed");
  mbert_context_free(ctx);
  mbert_model_free(model);
}

static void test_classifiers(void) {
  char dir[4096];
  path(dir, sizeof dir, "tiny-seqcls-cls");
  mbert_model* model = NULL;
  CHECK(mbert_model_load(dir, "f32", &model) == MBERT_OK, "load %s", dir);
  if (model == NULL) return;
  const int32_t K = mbert_model_num_labels(model);
  CHECK(K >= 2 && mbert_model_label(model, 0) != NULL && mbert_model_label(model, K) == NULL,
        "labels: %d", K);
  mbert_context* ctx = NULL;
  CHECK(mbert_context_new(model, 0, 16, &ctx) == MBERT_OK, "context");
  /* This model has no tokenizer: a text input is an error that says so. */
  const char* texts[] = {"x"};
  float probs[16];
  int32_t best[1];
  CHECK(mbert_classify(ctx, texts, 1, probs, 16, best) == MBERT_ERR_INPUT, "no tokenizer");
  CHECK(strstr(mbert_last_error(), "tokenizer.json") != NULL, "message: %s", mbert_last_error());
  mbert_context_free(ctx);
  mbert_model_free(model);

  /* Sequence and token classification of text: the same tiny configs with the real tokenizer
   * and random weights (made by make_text_models; parity of the numbers is test_api's job). */
  const char* models = getenv("MBERT_TEXT_MODELS_DIR");
  char seq_dir[4096], tok_dir[4096];
  snprintf(seq_dir, sizeof seq_dir, "%s/tiny-seqcls-cls", models ? models : ".");
  snprintf(tok_dir, sizeof tok_dir, "%s/tiny-tokcls", models ? models : ".");
  CHECK(mbert_model_load(seq_dir, NULL, &model) == MBERT_OK, "load %s", seq_dir);
  if (model != NULL) {
    const int32_t k = mbert_model_num_labels(model);
    CHECK(mbert_context_new(model, 1, 0, &ctx) == MBERT_OK, "context");
    const char* two[] = {"good movie", "a bad, bad film"};
    float p[2 * 16];
    int32_t b[2];
    CHECK(k <= 16 && mbert_classify(ctx, two, 2, p, (size_t)(2 * k), b) == MBERT_OK, "classify");
    for (int r = 0; r < 2; ++r) {
      double sum = 0;
      int arg = 0;
      for (int j = 0; j < k; ++j) {
        sum += p[r * k + j];
        if (p[r * k + j] > p[r * k + arg]) arg = j;
      }
      CHECK(fabs(sum - 1.0) < 1e-5, "probabilities sum to 1: %f", sum);
      CHECK(b[r] == arg, "best label %d = argmax %d", b[r], arg);
    }
    CHECK(mbert_classify(ctx, two, 2, p, (size_t)(2 * k - 1), b) == MBERT_ERR_INVALID_ARGUMENT,
          "capacity too small");
    mbert_context_free(ctx);
    mbert_model_free(model);
  }
  CHECK(mbert_model_load(tok_dir, NULL, &model) == MBERT_OK, "load %s", tok_dir);
  if (model != NULL) {
    CHECK(mbert_context_new(model, 1, 0, &ctx) == MBERT_OK, "context");
    mbert_token_label* labels = NULL;
    size_t n = 0;
    CHECK(mbert_classify_tokens(ctx, "Ada Lovelace wrote", &labels, &n) == MBERT_OK,
          "classify tokens");
    /* [CLS] Ada ĠLo vel ace Ġwrote [SEP] */
    CHECK(n == 7, "7 tokens, got %zu", n);
    if (n == 7) {
      CHECK(labels[0].id == 50281 && labels[0].start == 0 && labels[0].end == 0, "[CLS] first");
      CHECK(labels[1].start == 0 && labels[1].end == 3, "'Ada' at [0, 3): [%lld, %lld)",
            (long long)labels[1].start, (long long)labels[1].end);
      for (size_t i = 0; i < n; ++i)
        CHECK(labels[i].label >= 0 && labels[i].label < mbert_model_num_labels(model) &&
                  labels[i].score > 0 && labels[i].score <= 1,
              "token %zu label %d score %f", i, labels[i].label, labels[i].score);
    }
    mbert_token_labels_free(labels);
    mbert_context_free(ctx);
    mbert_model_free(model);
  }

  path(dir, sizeof dir, "tiny-mlm");
  CHECK(mbert_model_load(dir, "bf16", &model) == MBERT_OK, "bf16 load");
  mbert_model_free(model);
  CHECK(mbert_model_load(dir, "f16", &model) == MBERT_ERR_INVALID_ARGUMENT && model == NULL,
        "unknown dtype");
  CHECK(mbert_model_load("/no/such/dir", NULL, &model) == MBERT_ERR_LOAD, "missing dir");
  CHECK(strstr(mbert_last_error(), "/no/such/dir") != NULL, "message names the path");
  CHECK(mbert_model_load(NULL, NULL, &model) == MBERT_ERR_INVALID_ARGUMENT, "NULL dir");
  CHECK(mbert_context_new(NULL, 0, 0, NULL) == MBERT_ERR_INVALID_ARGUMENT, "NULL model");
  path(dir, sizeof dir, "tiny-mlm");
  CHECK(mbert_model_load(dir, NULL, &model) == MBERT_OK, "load for the thread check");
  ctx = NULL;
  CHECK(mbert_context_new(model, 100000, 0, &ctx) == MBERT_ERR_INVALID_ARGUMENT && ctx == NULL,
        "absurd thread count");
  CHECK(strstr(mbert_last_error(), "threads must be in [0, ") != NULL, "message gives the range");
  mbert_model_free(model);
}

int main(void) {
  printf("mbert %s C API\n", mbert_version());
  test_mlm();
  test_classifiers();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
