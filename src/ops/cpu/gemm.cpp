#include "ops/cpu/gemm.h"

#include <omp.h>

#include <compare>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/check.h"

namespace mbert::ops {
namespace {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;
using Dims = dnnl::memory::dims;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Per-thread stream and scratchpad. Primitives use user-managed scratchpads, so concurrent
// Forward calls from different threads never share oneDNN's library scratchpad; the buffer only
// grows, so steady-state calls do not allocate.
struct ThreadState {
  dnnl::stream stream{CpuEngine()};
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> scratch;
  size_t scratch_bytes = 0;

  void* Scratch(size_t bytes) {
    if (bytes > scratch_bytes) {
      const size_t rounded = (bytes + 4095) / 4096 * 4096;
      scratch.reset(std::aligned_alloc(64, rounded));
      MBERT_CHECK(scratch != nullptr, "out of memory for a ", rounded, "-byte GEMM scratchpad");
      scratch_bytes = rounded;
    }
    return scratch.get();
  }
};

ThreadState& Local() {
  thread_local ThreadState state;
  return state;
}

// M used to ask oneDNN for its preferred weight layout (a typical packed-batch token count).
constexpr int64_t kPackM = 512;
// Distinct (M, ldy, accumulate, threads) primitives kept per Linear before the cache is reset.
constexpr size_t kMaxCached = 256;

}  // namespace

struct Linear::Impl {
  int64_t out = 0, in = 0;
  bool has_bias = false;
  dnnl::memory::desc wdesc;  // logical (in, out): matmul weights are K x N
  dnnl::memory weights;      // owned, in wdesc's layout
  dnnl::memory bias;         // owned (1, out)

  struct Key {
    int64_t M, ldy;
    bool accumulate;
    int threads;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    dnnl::matmul prim;
    dnnl::memory::desc src, dst, scratch;
    size_t scratch_bytes;
    std::string impl;
  };
  mutable std::mutex mu;
  mutable std::map<Key, std::shared_ptr<const Entry>> cache;

  std::shared_ptr<const Entry> Get(int64_t M, int64_t ldy, bool accumulate) const {
    const Key key{M, ldy, accumulate, omp_get_max_threads()};
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= kMaxCached) cache.clear();
    auto e = std::make_shared<Entry>();
    try {
      e->src = dnnl::memory::desc({M, in}, Dt::f32, Tag::ab);
      e->dst = dnnl::memory::desc({M, out}, Dt::f32, Dims{ldy, 1});
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      if (accumulate) {
        dnnl::post_ops po;
        po.append_sum(1.0f);
        attr.set_post_ops(po);
      }
      const auto d = has_bias ? dnnl::matmul::desc(e->src, wdesc, bias.get_desc(), e->dst)
                              : dnnl::matmul::desc(e->src, wdesc, e->dst);
      dnnl::matmul::primitive_desc pd(d, attr, CpuEngine());
      e->scratch = pd.scratchpad_desc();
      e->scratch_bytes = e->scratch.get_size();
      e->impl = pd.impl_info_str();
      e->prim = dnnl::matmul(pd);
    } catch (const dnnl::error& err) {
      MBERT_CHECK(false, "oneDNN matmul M=", M, " K=", in, " N=", out, ": ", err.what());
    }
    cache.emplace(key, e);
    return e;
  }

  void Pack(const float* weight, const float* b) {
    try {
      // The user's W (out, in) row-major is the K x N weight matrix with strides {1, in} ("ba").
      const dnnl::memory::desc user({in, out}, Dt::f32, Tag::ba);
      dnnl::memory src(user, CpuEngine(), const_cast<float*>(weight));
      dnnl::stream& s = Local().stream;
      dnnl::reorder(src, weights).execute(s, src, weights);
      s.wait();
    } catch (const dnnl::error& err) {
      MBERT_CHECK(false, "oneDNN weight reorder (", out, ", ", in, "): ", err.what());
    }
    if (has_bias) {
      std::memcpy(bias.get_data_handle(), b, static_cast<size_t>(out) * sizeof(float));
    }
    // Cached primitives stay valid: they depend on shapes and layouts, never on weight values,
    // and the packed weights are rewritten in place.
  }
};

Linear::Linear(const float* weight, int64_t out_features, int64_t in_features, const float* bias)
    : impl_(std::make_unique<Impl>()) {
  MBERT_CHECK(out_features > 0 && in_features > 0, "Linear shape (", out_features, ", ",
              in_features, ")");
  Impl& m = *impl_;
  m.out = out_features;
  m.in = in_features;
  m.has_bias = bias != nullptr;
  try {
    // Ask matmul which weight layout it wants ("any") for a representative M.
    const dnnl::memory::desc src({kPackM, in_features}, Dt::f32, Tag::ab);
    const dnnl::memory::desc dst({kPackM, out_features}, Dt::f32, Tag::ab);
    const dnnl::memory::desc wany({in_features, out_features}, Dt::f32, Tag::any);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wany, dst), CpuEngine());
    m.wdesc = pd.weights_desc();
    m.weights = dnnl::memory(m.wdesc, CpuEngine());
    if (m.has_bias) {
      m.bias = dnnl::memory(dnnl::memory::desc({1, out_features}, Dt::f32, Tag::ab), CpuEngine());
    }
  } catch (const dnnl::error& err) {
    MBERT_CHECK(false, "oneDNN matmul setup (", out_features, ", ", in_features, "): ", err.what());
  }
  m.Pack(weight, bias);
}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

int64_t Linear::out_features() const { return impl_->out; }
int64_t Linear::in_features() const { return impl_->in; }
bool Linear::has_bias() const { return impl_->has_bias; }

std::string Linear::ImplName(int64_t M) const { return impl_->Get(M, impl_->out, false)->impl; }

void Linear::Repack(const float* weight, const float* bias) {
  MBERT_CHECK((bias != nullptr) == impl_->has_bias, "Repack must keep the bias presence");
  impl_->Pack(weight, bias);
}

void Linear::Forward(const float* x, int64_t M, float* y, int64_t ldy, bool accumulate) const {
  if (M <= 0) return;
  const Impl& m = *impl_;
  if (ldy < 0) ldy = m.out;
  MBERT_CHECK(ldy >= m.out, "Linear output stride ", ldy, " < ", m.out);
  const auto e = m.Get(M, ldy, accumulate);
  ThreadState& ts = Local();
  dnnl::engine& eng = CpuEngine();
  dnnl::memory src(e->src, eng, const_cast<float*>(x));
  dnnl::memory dst(e->dst, eng, y);
  dnnl::memory scratch(e->scratch, eng, ts.Scratch(e->scratch_bytes));
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src},
                                             {DNNL_ARG_WEIGHTS, m.weights},
                                             {DNNL_ARG_DST, dst},
                                             {DNNL_ARG_SCRATCHPAD, scratch}};
  if (m.has_bias) args.emplace(DNNL_ARG_BIAS, m.bias);
  e->prim.execute(ts.stream, args);
  ts.stream.wait();
}

void Gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // C = beta * C; beta == 0 overwrites (NaN-safe) as BLAS does
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  // dnnl_sgemm is row-major (unlike BLAS) and threads with OpenMP.
  const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                      lda, B, ldb, beta, C, ldc);
  MBERT_CHECK(st == dnnl_success, "dnnl_sgemm(", M, ", ", N, ", ", K, ") failed with status ",
              static_cast<int>(st));
}

}  // namespace mbert::ops
