/* Embeds a text with the installed C API and prints "dim v0 v1 ..." (%.9g). */
#include <mbert/mbert.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  mbert_model* model = NULL;
  mbert_context* ctx = NULL;
  if (mbert_model_load(argv[1], NULL, &model) != MBERT_OK ||
      mbert_context_new(model, 0, 0, &ctx) != MBERT_OK) {
    fprintf(stderr, "error: %s\n", mbert_last_error());
    return 1;
  }
  const int64_t dim = mbert_model_embedding_dim(model);
  float* v = malloc(sizeof(float) * (size_t)dim);
  const char* texts[] = {argv[2]};
  if (mbert_embed(ctx, texts, 1, 0, 0, v, (size_t)dim) != MBERT_OK) {
    fprintf(stderr, "error: %s\n", mbert_last_error());
    return 1;
  }
  printf("%lld", (long long)dim);
  for (int64_t k = 0; k < dim; ++k) printf(" %.9g", v[k]);
  printf("\n");
  free(v);
  mbert_context_free(ctx);
  mbert_model_free(model);
  return 0;
}
