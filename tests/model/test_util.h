// Helpers shared by the model tests: locating test data, reading goldens, allclose with a report.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "batch/packed_batch.h"
#include "core/safetensors.h"
#include "model/encoder.h"

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

// Runs the real (inference) forward once with a stage hook and returns, in forward order, the
// stages under the names tools/golden writes: hidden_states.0, then per layer i
// layers.i.attn_out, layers.i.mlp_out and hidden_states.{i+1}, then last_hidden_state (3L + 2
// entries, each (N, C)). The forward accumulates the Wo GEMMs into the residual stream, so the
// sublayer outputs are recovered as differences of consecutive residual streams, in double:
// attn_out = attn_residual - previous hidden, mlp_out = hidden - attn_residual.
inline std::vector<std::pair<std::string, std::vector<float>>> GoldenStages(
    const Encoder& m, const PackedBatch& batch, std::vector<float>* hidden) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  std::vector<float> prev, attn_residual;
  auto diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<float> d(a.size());
    for (size_t k = 0; k < a.size(); ++k)
      d[k] = static_cast<float>(static_cast<double>(a[k]) - static_cast<double>(b[k]));
    return d;
  };
  ForwardContext ctx;
  ctx.hook = [&](const Stage& s) {
    const std::string name = s.name;
    if (name != "embeddings" && name != "attn_residual" && name != "hidden" && name != "final_norm")
      return;
    std::vector<float> v(s.data, s.data + s.rows * s.cols);
    const std::string layer = std::to_string(s.layer);
    if (name == "embeddings") {
      out.emplace_back("hidden_states.0", v);
      prev = std::move(v);
    } else if (name == "attn_residual") {
      out.emplace_back("layers." + layer + ".attn_out", diff(v, prev));
      attn_residual = std::move(v);
    } else if (name == "hidden") {
      out.emplace_back("layers." + layer + ".mlp_out", diff(v, attn_residual));
      out.emplace_back("hidden_states." + std::to_string(s.layer + 1), v);
      prev = std::move(v);
    } else {
      out.emplace_back("last_hidden_state", std::move(v));
    }
  };
  Status st = m.Forward(batch, ctx, hidden);
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

}  // namespace mbert::testing
