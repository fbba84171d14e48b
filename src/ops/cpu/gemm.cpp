#include "ops/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <compare>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/check.h"
#include "ops/cpu/bf16.h"

namespace mbert::ops {
namespace {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;
using Dims = dnnl::memory::dims;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine = [] {
    // Linear keeps its own bounded cache of matmul primitives (MatmulCache below); oneDNN's
    // process-wide one (1,024 primitives by default) would keep up to that many more alive —
    // each new token count's, ~70 KB apiece — after ours let them go. A user's
    // DNNL_PRIMITIVE_CACHE_CAPACITY still wins.
    if (std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") == nullptr)
      dnnl::set_primitive_cache_capacity(0);
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

// A 64-byte aligned buffer that only grows, so steady-state calls do not allocate.
class GrowBuffer {
 public:
  void* Get(size_t bytes) {
    if (bytes > bytes_) {
      const size_t rounded = (bytes + 4095) / 4096 * 4096;
      data_.reset(std::aligned_alloc(64, rounded));
      MBERT_CHECK(data_ != nullptr, "out of memory for a ", rounded, "-byte GEMM buffer");
      bytes_ = rounded;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t bytes_ = 0;
};

// Per-thread stream and buffers. Primitives use user-managed scratchpads, so concurrent Forward
// calls from different threads never share oneDNN's library scratchpad, nor a bf16 Linear's
// expanded weights.
struct ThreadState {
  dnnl::stream stream{CpuEngine()};
  GrowBuffer scratch;   // oneDNN scratchpads
  GrowBuffer expanded;  // a block of bf16 weights expanded to fp32
};

ThreadState& Local() {
  thread_local ThreadState state;
  return state;
}

// M used to ask oneDNN for its preferred weight layout (a typical packed-batch token count).
constexpr int64_t kPackM = 512;
// bf16 weights are expanded and multiplied a block of whole rows of W at a time, so the per-thread
// scratch stays bounded (the tied decoder's V x C would take 154 MB in fp32 at the base shape).
// Block size by M, measured on the base shapes (one layer's four GEMMs and `mbert bench`, 2-core
// Zen 3): at small M the GEMM streams W once, and a 1 MB block still in cache right after its
// expansion made bf16 as fast as fp32 at M = 128, where 4 MB blocks were ~5% and whole matrices
// ~15% slower; at large M narrow GEMMs lose efficiency (1 MB blocks ~10% slower at M = 4096),
// while 4 MB blocks matched fp32 at M = 512 and 4096.
int64_t Bf16BlockValues(int64_t M) { return M < 512 ? int64_t{1} << 18 : int64_t{1} << 20; }

// W (out, in) row-major as matmul's K x N weight matrix {in, n}: strides {1, in} ("ba"). Also
// describes any block of n consecutive rows of W.
dnnl::memory::desc PlainWeights(int64_t in, int64_t n) { return {{in, n}, Dt::f32, Tag::ba}; }

// Whether a layout is plain strided (no inner blocks, no padding): a gemm kernel's, which takes
// either transposition (oneDNN 2.6 on AVX2 asks for "ab", W transposed, yet runs on "ba", W as
// stored, at the same speed: measured for the base shapes at M = 128 and 2048).
bool IsPlain(const dnnl::memory::desc& d) {
  const dnnl_memory_desc_t& m = d.data;
  if (m.format_kind != dnnl_blocked || m.format_desc.blocking.inner_nblks != 0) return false;
  for (int i = 0; i < m.ndims; ++i)
    if (m.padded_dims[i] != m.dims[i] || m.padded_offsets[i] != 0) return false;
  return m.offset0 == 0;
}

// The weight layout matmul wants ("any") for a representative M.
dnnl::memory::desc PreferredWeights(int64_t in, int64_t out) {
  const dnnl::memory::desc src({kPackM, in}, Dt::f32, Tag::ab);
  const dnnl::memory::desc dst({kPackM, out}, Dt::f32, Tag::ab);
  const dnnl::memory::desc wany({in, out}, Dt::f32, Tag::any);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wany, dst), CpuEngine())
      .weights_desc();
}

// A matmul primitive and the memory descriptors it was made for.
struct MatmulEntry {
  dnnl::matmul prim;
  dnnl::memory::desc src, wei, bia, dst, scratch;
  size_t scratch_bytes;
  std::string impl;
};

// Everything a matmul primitive depends on. It never depends on weight values, so every Linear of
// one shape shares it: ModernBERT-base's 22 layers need 4 primitives per token count, not 88.
// (With a cache per Linear, each new token count cost 0.56 MB and ~10 ms of primitive creation
// on random base, and a 10-minute serving soak of varied lengths grew RSS by 216 MB before
// the caches filled; Intel Xeon model 167, 2 threads.)
struct MatmulKey {
  int64_t M, in, n, ldy;
  bool bias, accumulate;
  int threads;
  std::vector<int64_t> weights;  // the weight layout (WeightLayout)
  auto operator<=>(const MatmulKey&) const = default;
};

// What identifies a weight layout: format kind, padded dims, strides and inner blocks (owned
// weights are in the layout matmul prefers, borrowed ones plain "ba"; on AVX2 the preferred one
// is plain "ab", so strides matter).
std::vector<int64_t> WeightLayout(const dnnl::memory::desc& d) {
  const dnnl_memory_desc_t& m = d.data;
  std::vector<int64_t> k = {m.format_kind, m.ndims, m.offset0};
  for (int i = 0; i < m.ndims; ++i) k.insert(k.end(), {m.dims[i], m.padded_dims[i]});
  if (m.format_kind == dnnl_blocked) {
    const auto& b = m.format_desc.blocking;
    for (int i = 0; i < m.ndims; ++i) k.push_back(b.strides[i]);
    k.push_back(b.inner_nblks);
    for (int i = 0; i < b.inner_nblks; ++i) k.insert(k.end(), {b.inner_blks[i], b.inner_idxs[i]});
  }
  return k;
}
// Distinct primitives kept process-wide before the cache is reset. Each holds ~70 KB (its JIT
// kernels; measured 0.29 MB per token count for base's 4 shapes), so 512 bound the cache to
// ~37 MB, and making one is cheap enough now that it is shared (a forward at a new token count
// was not measurably slower than a cached one) that a reset costs little.
constexpr size_t kMaxCached = 512;

std::mutex g_matmul_mu;
std::map<MatmulKey, std::shared_ptr<const MatmulEntry>>& MatmulCache() {
  static auto* cache = new std::map<MatmulKey, std::shared_ptr<const MatmulEntry>>();
  return *cache;  // never destroyed: primitives may be in use by threads at exit
}

}  // namespace

struct Linear::Impl {
  int64_t out = 0, in = 0;
  bool has_bias = false;
  bool borrowed = false;     // weights and bias are the caller's buffers
  dnnl::memory::desc wdesc;  // logical (in, out): matmul weights are K x N
  dnnl::memory weights;      // fp32 W in wdesc's layout, owned or borrowed (unset for bf16)
  dnnl::memory bias;         // (1, out), owned or borrowed (unset for bf16)
  const uint16_t* weights_bf16 = nullptr;  // BorrowBf16: the caller's W (out, in)
  const float* bias_bf16 = nullptr;        // BorrowBf16: the caller's bias, sliced per block

  static std::unique_ptr<Impl> Make(int64_t out_features, int64_t in_features, bool bias) {
    MBERT_CHECK(out_features > 0 && in_features > 0, "Linear shape (", out_features, ", ",
                in_features, ")");
    auto m = std::make_unique<Impl>();
    m->out = out_features;
    m->in = in_features;
    m->has_bias = bias;
    return m;
  }

  // The matmul for M rows and n output columns (out, or a block of a bf16 W).
  std::shared_ptr<const MatmulEntry> Get(int64_t M, int64_t n, int64_t ldy, bool accumulate) const {
    const dnnl::memory::desc wei = n == out ? wdesc : PlainWeights(in, n);
    const MatmulKey key{
        M, in, n, ldy, has_bias, accumulate, omp_get_max_threads(), WeightLayout(wei)};
    std::lock_guard<std::mutex> lock(g_matmul_mu);
    auto& cache = MatmulCache();
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= kMaxCached) cache.clear();
    auto e = std::make_shared<MatmulEntry>();
    try {
      e->src = dnnl::memory::desc({M, in}, Dt::f32, Tag::ab);
      e->wei = wei;
      e->bia = dnnl::memory::desc({1, n}, Dt::f32, Tag::ab);
      e->dst = dnnl::memory::desc({M, n}, Dt::f32, Dims{ldy, 1});
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      if (accumulate) {
        dnnl::post_ops po;
        po.append_sum(1.0f);
        attr.set_post_ops(po);
      }
      const auto d = has_bias ? dnnl::matmul::desc(e->src, e->wei, e->bia, e->dst)
                              : dnnl::matmul::desc(e->src, e->wei, e->dst);
      dnnl::matmul::primitive_desc pd(d, attr, CpuEngine());
      e->scratch = pd.scratchpad_desc();
      e->scratch_bytes = e->scratch.get_size();
      e->impl = pd.impl_info_str();
      e->prim = dnnl::matmul(pd);
    } catch (const dnnl::error& err) {
      MBERT_CHECK(false, "oneDNN matmul M=", M, " K=", in, " N=", n, ": ", err.what());
    }
    cache.emplace(key, e);
    return e;
  }

  // Owned fp32 weights in wdesc's layout and an owned bias, filled by Pack.
  void Allocate() {
    try {
      weights = dnnl::memory(wdesc, CpuEngine());
      if (has_bias) {
        bias = dnnl::memory(dnnl::memory::desc({1, out}, Dt::f32, Tag::ab), CpuEngine());
      }
    } catch (const dnnl::error& err) {
      MBERT_CHECK(false, "oneDNN weight allocation (", out, ", ", in, "): ", err.what());
    }
  }

  void Pack(const float* weight, const float* b) {
    try {
      dnnl::memory src(PlainWeights(in, out), CpuEngine(), const_cast<float*>(weight));
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

  // Borrowed fp32 weights: memories on the caller's buffers (W's plain layout is wdesc).
  void Point(const float* weight, const float* b) {
    weights = dnnl::memory(wdesc, CpuEngine(), const_cast<float*>(weight));
    if (has_bias) {
      bias = dnnl::memory(dnnl::memory::desc({1, out}, Dt::f32, Tag::ab), CpuEngine(),
                          const_cast<float*>(b));
    }
  }

  void Execute(const MatmulEntry& e, const float* x, const dnnl::memory& w, const dnnl::memory* b,
               float* y) const {
    ThreadState& ts = Local();
    dnnl::engine& eng = CpuEngine();
    dnnl::memory src(e.src, eng, const_cast<float*>(x));
    dnnl::memory dst(e.dst, eng, y);
    dnnl::memory scratch(e.scratch, eng, ts.scratch.Get(e.scratch_bytes));
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src},
                                               {DNNL_ARG_WEIGHTS, w},
                                               {DNNL_ARG_DST, dst},
                                               {DNNL_ARG_SCRATCHPAD, scratch}};
    if (b != nullptr) args.emplace(DNNL_ARG_BIAS, *b);
    e.prim.execute(ts.stream, args);
    ts.stream.wait();
  }

  // y[:, n0:n0+n] for each block of n rows of W: expand the block, then multiply by it.
  void ForwardBf16(const float* x, int64_t M, float* y, int64_t ldy, bool accumulate) const {
    const int64_t rows = std::min(out, std::max<int64_t>(16, Bf16BlockValues(M) / in / 16 * 16));
    float* w = static_cast<float*>(
        Local().expanded.Get(static_cast<size_t>(rows * in) * sizeof(float)));  // (rows, in)
    dnnl::engine& eng = CpuEngine();
    for (int64_t n0 = 0; n0 < out; n0 += rows) {
      const int64_t n = std::min(rows, out - n0);
      Bf16ToFloatParallel(weights_bf16 + n0 * in, n * in, w);
      const auto e = Get(M, n, ldy, accumulate);
      const dnnl::memory wm(e->wei, eng, w);
      dnnl::memory bm;
      if (has_bias) bm = dnnl::memory(e->bia, eng, const_cast<float*>(bias_bf16 + n0));
      Execute(*e, x, wm, has_bias ? &bm : nullptr, y + n0);
    }
  }
};

Linear::Linear(const float* weight, int64_t out_features, int64_t in_features, const float* bias)
    : impl_(Impl::Make(out_features, in_features, bias != nullptr)) {
  try {
    impl_->wdesc = PreferredWeights(in_features, out_features);
  } catch (const dnnl::error& err) {
    MBERT_CHECK(false, "oneDNN matmul setup (", out_features, ", ", in_features, "): ", err.what());
  }
  impl_->Allocate();
  impl_->Pack(weight, bias);
}

Linear::Linear(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Linear Linear::Borrow(const float* weight, int64_t out_features, int64_t in_features,
                      const float* bias) {
  auto m = Impl::Make(out_features, in_features, bias != nullptr);
  try {
    m->wdesc = PreferredWeights(in_features, out_features);
  } catch (const dnnl::error& err) {
    MBERT_CHECK(false, "oneDNN matmul setup (", out_features, ", ", in_features, "): ", err.what());
  }
  if (IsPlain(m->wdesc)) {
    m->wdesc = PlainWeights(in_features, out_features);
    m->borrowed = true;
    m->Point(weight, bias);
  } else {  // a blocked layout (brgemm): W must be reordered into a copy
    m->Allocate();
    m->Pack(weight, bias);
  }
  return Linear(std::move(m));
}

Linear Linear::BorrowBf16(const uint16_t* weight, int64_t out_features, int64_t in_features,
                          const float* bias) {
  auto m = Impl::Make(out_features, in_features, bias != nullptr);
  m->wdesc = PlainWeights(in_features, out_features);
  m->borrowed = true;
  m->weights_bf16 = weight;
  m->bias_bf16 = bias;
  return Linear(std::move(m));
}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

int64_t Linear::out_features() const { return impl_->out; }
int64_t Linear::in_features() const { return impl_->in; }
bool Linear::has_bias() const { return impl_->has_bias; }
bool Linear::borrowed() const { return impl_->borrowed; }
bool Linear::bf16() const { return impl_->weights_bf16 != nullptr; }

int64_t Linear::owned_bytes() const {
  const Impl& m = *impl_;
  if (m.borrowed) return 0;
  return static_cast<int64_t>(m.wdesc.get_size()) + (m.has_bias ? m.out * 4 : 0);
}

std::string Linear::ImplName(int64_t M) const {
  return impl_->Get(M, impl_->out, impl_->out, false)->impl;
}

void Linear::Repack(const float* weight, const float* bias) {
  Impl& m = *impl_;
  MBERT_CHECK(m.weights_bf16 == nullptr, "Repack of bf16 weights: bf16 GEMMs are inference-only");
  MBERT_CHECK((bias != nullptr) == m.has_bias, "Repack must keep the bias presence");
  if (m.borrowed) {
    m.Point(weight, bias);
  } else {
    m.Pack(weight, bias);
  }
}

void Linear::Forward(const float* x, int64_t M, float* y, int64_t ldy, bool accumulate) const {
  if (M <= 0) return;
  const Impl& m = *impl_;
  if (ldy < 0) ldy = m.out;
  MBERT_CHECK(ldy >= m.out, "Linear output stride ", ldy, " < ", m.out);
  if (m.weights_bf16 != nullptr) {
    m.ForwardBf16(x, M, y, ldy, accumulate);
    return;
  }
  m.Execute(*m.Get(M, m.out, ldy, accumulate), x, m.weights, m.has_bias ? &m.bias : nullptr, y);
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
