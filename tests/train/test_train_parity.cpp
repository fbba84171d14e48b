// Training parity with PyTorch (goldens from tools/golden/make_train_goldens.py: transformers 5.23
// ModernBertForMaskedLM + torch-optimi 0.3.3 StableAdamW on the same weights and masked batch):
// the loss, every parameter's gradient, 10 optimizer steps' losses and the final parameters.
#include <gtest/gtest.h>

#include <cmath>

#include "core/safetensors.h"
#include "model/encoder.h"
#include "train/mlm_backward.h"
#include "train/stable_adamw.h"

namespace mbert {
namespace {

std::string Dir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return std::string(d ? d : "tests/data") + "/tiny-train";
}

std::vector<float> Floats(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << name;
  if (!v) return {};
  std::vector<float> out(static_cast<size_t>(v->numel()));
  EXPECT_TRUE(ConvertToFloat(*v, out.data(), f.path()).ok());
  return out;
}

std::vector<int32_t> Ints(const SafetensorsFile& f, const std::string& name) {
  return ReadInt32(*f.Find(name), f.path()).value();
}

// Largest |a - b| relative to the reference tensor's largest magnitude.
double RelErr(const float* a, const std::vector<float>& b) {
  double err = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? err / scale : err;
}

struct Fixture {
  Encoder model;
  SafetensorsFile golden;
  PackedBatch batch;
};

Fixture Load() {
  auto m = Encoder::Load(Dir());
  EXPECT_TRUE(m.ok()) << m.status().message();
  auto g = SafetensorsFile::Open(Dir() + "/goldens.safetensors");
  EXPECT_TRUE(g.ok()) << g.status().message();
  std::vector<int32_t> ids = Ints(g.value(), "input_ids"), labels = Ints(g.value(), "labels"),
                       cu = Ints(g.value(), "cu_seqlens");
  PackedBatch b;
  for (size_t s = 0; s + 1 < cu.size(); ++s) {
    std::vector<int32_t> seq(ids.begin() + cu[s], ids.begin() + cu[s + 1]);
    std::vector<int32_t> lab(labels.begin() + cu[s], labels.begin() + cu[s + 1]);
    b.AppendSequence(seq, &lab);
  }
  return {std::move(m).value(), std::move(g).value(), std::move(b)};
}

TEST(TrainParity, LossAndEveryGradientMatchPyTorch) {
  Fixture fx = Load();
  TensorTable grads = ZeroGradsLike(fx.model.params());
  auto r = MlmForwardBackward(fx.model, fx.batch, &grads);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const float ref_loss = Floats(fx.golden, "loss")[0];
  EXPECT_NEAR(r->loss, ref_loss, 1e-5);
  int checked = 0;
  for (const auto& [name, g] : grads) {
    std::vector<float> ref = Floats(fx.golden, "grad." + name);
    ASSERT_EQ(ref.size(), static_cast<size_t>(g.numel())) << name;
    const double rel = RelErr(g.data(), ref);
    EXPECT_LE(rel, 1e-4) << "gradient of " << name << " rel err " << rel;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(fx.model.params().size()));
}

TEST(TrainParity, TenStableAdamWStepsMatchTorchOptimi) {
  Fixture fx = Load();
  StableAdamWConfig oc;
  oc.beta1 = Floats(fx.golden, "beta1")[0];
  oc.beta2 = Floats(fx.golden, "beta2")[0];
  oc.eps = Floats(fx.golden, "eps")[0];
  oc.weight_decay = Floats(fx.golden, "weight_decay")[0];
  oc.max_lr = Floats(fx.golden, "lr_max")[0];
  oc.decouple_lr = true;
  auto opt = StableAdamW::Create(oc);
  ASSERT_TRUE(opt.ok()) << opt.status().message();
  const std::vector<float> lrs = Floats(fx.golden, "lrs"), losses = Floats(fx.golden, "losses");
  TensorTable grads = ZeroGradsLike(fx.model.params());
  for (size_t step = 0; step < lrs.size(); ++step) {
    for (auto& [n, g] : grads) g.Zero();
    auto r = MlmForwardBackward(fx.model, fx.batch, &grads);
    ASSERT_TRUE(r.ok()) << r.status().message();
    // The trajectory compounds rounding differences over the steps; 1e-4 absolute on a loss of
    // 3..9 is far below any real divergence (a wrong update shifts it by >1e-2).
    EXPECT_NEAR(r->loss, losses[step], 1e-4) << "step " << step + 1;
    opt->Step(fx.model.mutable_params(), grads, lrs[step]);
    fx.model.RefreshWeights();
  }
  for (const auto& [name, p] : fx.model.params()) {
    const double rel = RelErr(p.data(), Floats(fx.golden, "param_after." + name));
    EXPECT_LE(rel, 1e-4) << "parameter " << name << " after 10 steps, rel err " << rel;
  }
}

}  // namespace
}  // namespace mbert
