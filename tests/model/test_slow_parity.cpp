// Opt-in (label `slow`, not in CI): parity with transformers on ModernBERT-base and -large shaped
// random models at 512 and 8192 tokens. The model and goldens are generated on demand into the
// build tree by tools/golden/make_slow_parity.py with the reference venv
// ($MBERT_PYTHON, default /work/venv/bin/python). Prints the max |error| of every stage.
#include <cstdlib>
#include <filesystem>

#include "model/encoder.h"
#include "test_util.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* k, const char* def) {
  const char* v = std::getenv(k);
  return v ? v : def;
}

void RunShape(const std::string& shape) {
  const std::string dir = Env("MBERT_BUILD_DIR", "build") + "/slow-parity-" + shape;
  if (!fs::exists(dir + "/goldens.safetensors")) {
    const std::string cmd =
        Env("MBERT_PYTHON", "/work/venv/bin/python") + " " + Env("MBERT_SOURCE_DIR", ".") +
        "/tools/golden/make_slow_parity.py --shape " + shape + " --seqlens 512,8192 --out " + dir;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd;
  }
  auto m = Encoder::Load(dir);
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto f = SafetensorsFile::Open(dir + "/goldens.safetensors");
  ASSERT_TRUE(f.ok()) << f.status().message();
  PackedBatch batch = testing::BatchFromGolden(testing::ReadInts(f.value(), "input_ids"),
                                               testing::ReadInts(f.value(), "cu_seqlens"));
  const int64_t N = batch.num_tokens(), C = m->config().hidden_size;
  std::vector<float> hidden;
  const auto taps = testing::GoldenStages(m.value(), batch, &hidden);
  for (const auto& [name, ours] : taps) {
    if (f->Find(name) == nullptr) continue;
    std::vector<float> ref = testing::ReadFloats(f.value(), name);
    const auto r = testing::AllClose(ours.data(), ref.data(), N * C, 1e-4, 1e-4);
    std::printf("%s %-24s max|err| %.3e %s\n", shape.c_str(), name.c_str(), r.max_abs,
                r.ok ? "ok" : "FAIL");
    EXPECT_TRUE(r.ok) << shape << " " << name << " max |err| " << r.max_abs;
  }
}

TEST(SlowParity, Base512And8192) { RunShape("base"); }
TEST(SlowParity, Large512And8192) { RunShape("large"); }

}  // namespace
}  // namespace mbert
