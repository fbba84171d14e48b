// Helpers shared by the model tests: locating test data, reading goldens, allclose with a report.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "batch/packed_batch.h"
#include "core/safetensors.h"

namespace mbert::testing {

inline std::string TestDataDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return d ? d : "tests/data";
}

struct CloseReport {
  bool ok = true;
  double max_abs = 0.0;  // max |a - b|
  double worst_excess = 0.0;
  int64_t first_bad = -1;
};

// allclose semantics of numpy/torch: |a - b| <= atol + rtol * |b| for every element.
inline CloseReport AllClose(const float* a, const float* b, int64_t n, double atol, double rtol) {
  CloseReport r;
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    r.max_abs = std::max(r.max_abs, d);
    const double lim = atol + rtol * std::fabs(static_cast<double>(b[i]));
    if (!(d <= lim)) {
      if (r.ok) r.first_bad = i;
      r.ok = false;
      r.worst_excess = std::max(r.worst_excess, d - lim);
    }
  }
  return r;
}

inline std::vector<float> ReadFloats(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << "golden tensor " << name << " missing in " << f.path();
  if (v == nullptr) return {};
  std::vector<float> out(static_cast<size_t>(v->numel()));
  EXPECT_TRUE(ConvertToFloat(*v, out.data(), f.path()).ok());
  return out;
}

inline std::vector<int32_t> ReadInts(const SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.Find(name);
  EXPECT_NE(v, nullptr) << "golden tensor " << name << " missing in " << f.path();
  if (v == nullptr) return {};
  auto r = ReadInt32(*v, f.path());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : std::vector<int32_t>{};
}

// A PackedBatch from flat ids and cu_seqlens (positions restart at 0 per sequence).
inline PackedBatch BatchFromGolden(const std::vector<int32_t>& ids,
                                   const std::vector<int32_t>& cu) {
  std::vector<std::vector<int32_t>> seqs;
  for (size_t s = 0; s + 1 < cu.size(); ++s)
    seqs.emplace_back(ids.begin() + cu[s], ids.begin() + cu[s + 1]);
  return PackedBatch::FromSequences(seqs);
}

// A model directory's goldens.safetensors (kept open: ReadFloats reads from it) and its batch.
struct Golden {
  SafetensorsFile file;
  PackedBatch batch;
};

inline Golden LoadGolden(const std::string& dir) {
  auto f = SafetensorsFile::Open(dir + "/goldens.safetensors");
  EXPECT_TRUE(f.ok()) << f.status().message();
  Golden g{std::move(f).value(), {}};
  g.batch = BatchFromGolden(ReadInts(g.file, "input_ids"), ReadInts(g.file, "cu_seqlens"));
  return g;
}

}  // namespace mbert::testing
