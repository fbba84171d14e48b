// Embeds a text with the installed C++ API and prints "dim v0 v1 ..." (%.9g).
#include <mbert/context.h>
#include <mbert/model.h>
#include <mbert/tasks.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto model = mbert::Model::Load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
    return 1;
  }
  mbert::Context ctx(model.value());
  auto emb = mbert::Embed(ctx, {mbert::Input::Text(argv[2])});
  if (!emb.ok()) {
    std::fprintf(stderr, "error: %s\n", emb.status().message().c_str());
    return 1;
  }
  std::printf("%lld", static_cast<long long>(emb->dim));
  for (float v : emb->values) std::printf(" %.9g", v);
  std::printf("\n");
  return 0;
}
