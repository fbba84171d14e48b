#include "ops/cpu/bf16.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace mbert::ops {

void Bf16ToFloat(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
#if defined(__AVX2__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
  }
#endif
  for (; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(dst + i, &bits, 4);
  }
}

void Bf16ToFloatParallel(const uint16_t* src, int64_t n, float* dst) {
  // Below ~64K values (a 256 KB fp32 result) a fork-join costs more than the conversion.
  constexpr int64_t kMinPerThread = 1 << 15;
  const int threads = static_cast<int>(
      std::clamp<int64_t>(n / kMinPerThread, 1, static_cast<int64_t>(omp_get_max_threads())));
  if (threads == 1) {
    Bf16ToFloat(src, n, dst);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    // Contiguous chunks of a multiple of 16 values (64 bytes of fp32): threads never write to the
    // same cache line of an aligned dst.
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n / nt + 15) / 16 * 16;
    const int64_t begin = std::min(n, t * chunk),
                  end = t == nt - 1 ? n : std::min(n, begin + chunk);
    Bf16ToFloat(src + begin, end - begin, dst + begin);
  }
}

}  // namespace mbert::ops
