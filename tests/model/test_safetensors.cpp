// safetensors reader/writer: round trip, dtype conversion, and clear errors on corrupt files.
#include <filesystem>
#include <fstream>

#include "core/dtype.h"
#include "core/safetensors.h"
#include "test_util.h"

namespace mbert {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mbert_test_" + name)).string();
}

std::string MakeFile(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s + header + std::string(data_bytes, '\0');
}

Status ParseBytes(const std::string& bytes) {
  return SafetensorsFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                "x.safetensors")
      .status();
}

TEST(Safetensors, RoundTripF32AndBf16) {
  Tensor a({2, 3}), b({5});
  for (int i = 0; i < 6; ++i) a.data()[i] = 0.5f * i - 1.25f;
  for (int i = 0; i < 5; ++i) b.data()[i] = 3.0f + i;
  const std::string path = TempPath("rt.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"a", &a, DType::kF32}, {"b", &b, DType::kBF16}},
                               {{"format", "pt"}})
                  .ok());
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const TensorView* va = f->Find("a");
  ASSERT_NE(va, nullptr);
  EXPECT_EQ(va->shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> out(6), outb(5);
  ASSERT_TRUE(ConvertToFloat(*va, out.data(), path).ok());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], a.data()[i]);
  ASSERT_TRUE(ConvertToFloat(*f->Find("b"), outb.data(), path).ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(outb[i], b.data()[i]);  // small integers exact in bf16
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Safetensors, HalfPrecisionConversions) {
  EXPECT_EQ(F16ToFloat(0x3c00), 1.0f);
  EXPECT_EQ(F16ToFloat(0xc000), -2.0f);
  EXPECT_EQ(F16ToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(F16ToFloat(0x7c00)));
  EXPECT_EQ(Bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBf16(1.00390625f), 0x3f80);  // exactly half-way: round to even
}

TEST(Safetensors, TruncatedAndCorruptFilesGiveClearErrors) {
  Status st = ParseBytes("abc");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();

  std::string huge(8, '\xff');
  st = ParseBytes(huge);
  EXPECT_NE(st.message().find("header length"), std::string::npos) << st.message();

  st = ParseBytes(MakeFile("{not json", 0));
  EXPECT_NE(st.message().find("not a JSON object"), std::string::npos) << st.message();

  st = ParseBytes(MakeFile(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  EXPECT_NE(st.message().find("outside the data region"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'w'"), std::string::npos) << st.message();

  st = ParseBytes(MakeFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16));
  EXPECT_NE(st.message().find("expected 12"), std::string::npos) << st.message();

  st = ParseBytes(MakeFile(R"({"w":{"dtype":"Q4","shape":[3],"data_offsets":[0,3]}})", 3));
  EXPECT_NE(st.message().find("unknown dtype"), std::string::npos) << st.message();

  EXPECT_TRUE(ParseBytes(MakeFile(R"({"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}})",
                                  8))
                  .ok());
}

TEST(Safetensors, MissingFileNamesThePath) {
  auto f = SafetensorsFile::Open("/nonexistent/dir/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent/dir/model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace mbert
