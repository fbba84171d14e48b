// `mbert convert` as a user runs it: an fp32 model (tests/data/tiny-mlm with every weight's low 16
// bits filled, so rounding to bf16 goes up, down and to even) converted to bf16 holds exactly the
// round-to-nearest-even of each fp32 weight, at about half the size, with config.json and the
// tokenizer files carried over; the converted model answers fill-mask like the original; bad
// dtypes and occupied output directories are refused without touching anything.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_run.h"
#include "core/safetensors.h"

namespace mbert::testing {
namespace {

namespace fs = std::filesystem;

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest, ties to even, of a finite fp32 value to its upper 16 bits.
uint16_t RoundToBf16(float f) {
  const uint32_t u = Bits(f);
  const uint32_t low = u & 0xFFFFu;
  uint32_t high = u >> 16;
  if (low > 0x8000u || (low == 0x8000u && (high & 1u))) ++high;
  return static_cast<uint16_t>(high);
}

std::map<std::string, std::vector<float>> ReadAsFloat(const std::string& path,
                                                      std::map<std::string, DType>* dtypes) {
  std::map<std::string, std::vector<float>> out;
  auto f = SafetensorsFile::Open(path);
  EXPECT_TRUE(f.ok()) << f.status().message();
  if (!f.ok()) return out;
  for (const TensorView& v : f->tensors()) {
    std::vector<float> x(static_cast<size_t>(v.numel()));
    EXPECT_TRUE(ConvertToFloat(v, x.data(), path).ok());
    out[v.name] = std::move(x);
    if (dtypes) (*dtypes)[v.name] = v.dtype;
  }
  return out;
}

class CliConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("mbert_cli_convert_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "f32");
    const fs::path tiny = fs::path(TestDataDir()) / "tiny-mlm";
    auto src = SafetensorsFile::Open((tiny / "model.safetensors").string());
    ASSERT_TRUE(src.ok()) << src.status().message();
    std::vector<Tensor> tensors;
    tensors.reserve(src->tensors().size());
    uint32_t counter = 0;
    for (const TensorView& v : src->tensors()) {
      Tensor t(v.shape);
      ASSERT_TRUE(ConvertToFloat(v, t.data(), "tiny-mlm").ok());
      for (int64_t i = 0; i < t.numel(); ++i, ++counter) {
        uint32_t low = (counter * 2654435761u) >> 16;
        if (counter % 97 == 0) low = 0x8000u;  // exact ties, both parities
        t.data()[i] = FromBits((Bits(t.data()[i]) & 0xFFFF0000u) | low);
      }
      tensors.push_back(std::move(t));
    }
    std::vector<TensorToWrite> out;
    for (size_t i = 0; i < tensors.size(); ++i)
      out.push_back({src->tensors()[i].name, &tensors[i], DType::kF32});
    ASSERT_TRUE(WriteSafetensors((root_ / "f32" / "model.safetensors").string(), out).ok());
    nlohmann::json cfg = nlohmann::json::parse(ReadAll((tiny / "config.json").string()));
    cfg["torch_dtype"] = "float32";
    cfg["id2label"] = {{"0", "LABEL_0"}};  // an extra field that must survive the conversion
    std::ofstream((root_ / "f32" / "config.json").string()) << cfg.dump(2);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(tiny / f, root_ / "f32" / f);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Dir(const std::string& name) const { return (root_ / name).string(); }

  nlohmann::json FillMask(const std::string& model) {
    const CliResult r =
        RunMbert({"fill-mask", "--model", model, "-k", "20", "The capital of France is [MASK]."});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["masks"][0]["predictions"];
  }

  fs::path root_;
};

TEST_F(CliConvert, Bf16HoldsTheRoundedWeightsAtHalfTheSize) {
  const CliResult r =
      RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("bf16"), "--dtype", "bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::map<std::string, DType> dtypes;
  const auto f32 = ReadAsFloat(Dir("f32") + "/model.safetensors", nullptr);
  const auto bf16 = ReadAsFloat(Dir("bf16") + "/model.safetensors", &dtypes);
  ASSERT_EQ(f32.size(), bf16.size());
  int64_t rounded_up = 0, rounded_down = 0, ties = 0;
  for (const auto& [name, x] : f32) {
    ASSERT_TRUE(bf16.count(name)) << name;
    EXPECT_EQ(dtypes[name], DType::kBF16) << name;
    const std::vector<float>& y = bf16.at(name);
    ASSERT_EQ(x.size(), y.size()) << name;
    for (size_t i = 0; i < x.size(); ++i) {
      const uint32_t want = uint32_t{RoundToBf16(x[i])} << 16;
      ASSERT_EQ(Bits(y[i]), want) << name << "[" << i << "] = " << x[i];
      const uint32_t low = Bits(x[i]) & 0xFFFFu;
      rounded_up += (Bits(y[i]) >> 16) != (Bits(x[i]) >> 16);
      rounded_down += low != 0 && (Bits(y[i]) >> 16) == (Bits(x[i]) >> 16);
      ties += low == 0x8000u;
    }
  }
  EXPECT_GT(rounded_up, 1000);
  EXPECT_GT(rounded_down, 1000);
  EXPECT_GT(ties, 100);

  const auto in_size = fs::file_size(root_ / "f32" / "model.safetensors");
  const auto out_size = fs::file_size(root_ / "bf16" / "model.safetensors");
  EXPECT_LT(out_size, in_size * 51 / 100);
  EXPECT_GT(out_size, in_size * 49 / 100);

  const auto cfg = nlohmann::json::parse(ReadAll(Dir("bf16") + "/config.json"));
  EXPECT_EQ(cfg["torch_dtype"], "bfloat16");
  EXPECT_EQ(cfg["id2label"]["0"], "LABEL_0");
  EXPECT_EQ(cfg["hidden_size"], 64);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    EXPECT_EQ(ReadAll(Dir("bf16") + "/" + f), ReadAll(Dir("f32") + "/" + f)) << f;
  for (const auto& e : fs::directory_iterator(root_))
    EXPECT_EQ(e.path().filename().string().rfind(".", 0), std::string::npos)
        << "temporary left behind: " << e.path();
}

TEST_F(CliConvert, Bf16ModelFillsMasksLikeTheOriginal) {
  ASSERT_EQ(RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("bf16"), "--dtype", "bf16"})
                .exit_code,
            0);
  const nlohmann::json a = FillMask(Dir("f32"));
  const nlohmann::json b = FillMask(Dir("bf16"));
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  std::map<int, double> score_a;
  for (const auto& p : a) score_a[p["token"].get<int>()] = p["score"].get<double>();
  int shared = 0;
  for (const auto& p : b) {
    auto it = score_a.find(p["token"].get<int>());
    if (it == score_a.end()) continue;
    ++shared;
    EXPECT_NEAR(p["score"].get<double>(), it->second, 0.05 * it->second) << p.dump();
  }
  EXPECT_GE(shared, 15);
  EXPECT_EQ(b[0]["token"], a[0]["token"]);

  const CliResult info = RunMbert({"info", "--model", Dir("bf16")});
  ASSERT_EQ(info.exit_code, 0) << info.err;
}

TEST_F(CliConvert, F32RoundTripIsExact) {
  ASSERT_EQ(RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("bf16"), "--dtype", "bf16"})
                .exit_code,
            0);
  const CliResult r =
      RunMbert({"convert", "--model", Dir("bf16"), "--out", Dir("back"), "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, DType> dtypes;
  const auto bf16 = ReadAsFloat(Dir("bf16") + "/model.safetensors", nullptr);
  const auto back = ReadAsFloat(Dir("back") + "/model.safetensors", &dtypes);
  ASSERT_EQ(bf16.size(), back.size());
  for (const auto& [name, x] : bf16) {
    EXPECT_EQ(dtypes[name], DType::kF32) << name;
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_EQ(std::memcmp(x.data(), back.at(name).data(), x.size() * 4), 0) << name;
  }
  EXPECT_EQ(nlohmann::json::parse(ReadAll(Dir("back") + "/config.json"))["torch_dtype"], "float32");
}

TEST_F(CliConvert, RefusesBadDtypeAndOccupiedOutput) {
  const CliResult bad =
      RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("x"), "--dtype", "f16"});
  EXPECT_NE(bad.exit_code, 0) << bad.err;
  EXPECT_NE(bad.err.find("f16"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(root_ / "x"));

  fs::create_directories(root_ / "taken");
  std::ofstream((root_ / "taken" / "keep.txt").string()) << "mine";
  const CliResult taken =
      RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("taken"), "--dtype", "bf16"});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("not empty"), std::string::npos) << taken.err;
  EXPECT_NE(taken.err.find("--force"), std::string::npos) << taken.err;
  EXPECT_EQ(ReadAll(Dir("taken") + "/keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(root_ / "taken" / "model.safetensors"));

  const CliResult self = RunMbert(
      {"convert", "--model", Dir("f32"), "--out", Dir("f32"), "--dtype", "bf16", "--force"});
  EXPECT_EQ(self.exit_code, 1);
  EXPECT_NE(self.err.find("model directory itself"), std::string::npos) << self.err;

  fs::create_directories(root_ / "empty");
  EXPECT_EQ(RunMbert({"convert", "--model", Dir("f32"), "--out", Dir("empty"), "--dtype", "bf16"})
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(root_ / "empty" / "model.safetensors"));

  const CliResult forced = RunMbert(
      {"convert", "--model", Dir("f32"), "--out", Dir("taken"), "--dtype", "bf16", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_FALSE(fs::exists(root_ / "taken" / "keep.txt"));
  EXPECT_TRUE(fs::exists(root_ / "taken" / "model.safetensors"));

  const CliResult missing =
      RunMbert({"convert", "--model", Dir("nope"), "--out", Dir("y"), "--dtype", "bf16"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_FALSE(fs::exists(root_ / "y"));
}

}  // namespace
}  // namespace mbert::testing
