// Test models that compute non-finite outputs: a copy of a test model directory with every value
// of one tensor overwritten (NaN, or a finite value so large that the forward overflows to Inf)
// or with config fields replaced (e.g. an absurd rope_theta). The numerical guards of the tasks
// (src/tasks/finite.cpp) must turn their outputs into errors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mbert::testing {

// Copies `src` to `dst` (replacing it); sets every element of the F32 (BF16, or F16 for NaN) tensor
// `tensor` (if not empty) to `value`, and merges `config_patch` into config.json.
inline void WriteBrokenModel(const std::string& src, const std::string& dst,
                             const std::string& tensor, float value,
                             const nlohmann::json& config_patch = nlohmann::json::object()) {
  namespace fs = std::filesystem;
  fs::remove_all(dst);
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src))
    if (e.is_regular_file()) fs::copy_file(e.path(), dst + "/" + e.path().filename().string());
  if (!tensor.empty()) {
    const std::string path = dst + "/model.safetensors";
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(bytes.size(), 8u);
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);  // little-endian u64, as the format says
    const nlohmann::json header =
        nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len);
    ASSERT_TRUE(header.contains(tensor)) << tensor << " not in " << path;
    const std::string dtype = header[tensor]["dtype"];
    const size_t begin = 8 + header_len + header[tensor]["data_offsets"][0].get<size_t>();
    const size_t end = 8 + header_len + header[tensor]["data_offsets"][1].get<size_t>();
    if (dtype == "F32") {
      for (size_t o = begin; o + 4 <= end; o += 4) std::memcpy(bytes.data() + o, &value, 4);
    } else if (dtype == "BF16") {
      // bf16 is the upper half of the fp32 pattern (cut, not rounded: NaN stays NaN, 3e38 finite).
      uint32_t bits = 0;
      std::memcpy(&bits, &value, 4);
      const uint16_t half = static_cast<uint16_t>(bits >> 16);
      for (size_t o = begin; o + 2 <= end; o += 2) std::memcpy(bytes.data() + o, &half, 2);
    } else {
      // F16 checkpoints (tiny-seqcls-cls) get NaN only: its bit pattern needs no conversion.
      ASSERT_EQ(dtype, "F16");
      ASSERT_TRUE(std::isnan(value)) << "F16 tensors take NaN only";
      const uint16_t nan16 = 0x7E00;
      for (size_t o = begin; o + 2 <= end; o += 2) std::memcpy(bytes.data() + o, &nan16, 2);
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
  }
  if (!config_patch.empty()) {
    nlohmann::json config = nlohmann::json::parse(std::ifstream(dst + "/config.json"));
    config.merge_patch(config_patch);
    std::ofstream(dst + "/config.json", std::ios::trunc) << config.dump(2);
  }
}

}  // namespace mbert::testing
