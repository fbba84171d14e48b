// Rng: a small, seeded, reproducible random number generator (xoshiro256** seeded through
// splitmix64) whose whole state is four 64-bit words, so a trainer checkpoint can save and restore
// it and a resumed run draws exactly the same numbers.
//
// It reproduces the *distributions* of the reference code (NumPy's PCG64 default_rng for masking,
// torch's generator for init), never their bits: masks and initial weights are statistically
// equivalent to the reference, not identical.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mbert {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { Seed(seed); }
  // An independent stream per (seed, name): e.g. one per parameter tensor, so initialising a table
  // does not depend on the order its tensors are visited.
  static Rng ForStream(uint64_t seed, std::string_view name);

  void Seed(uint64_t seed);

  uint64_t NextU64() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform double in [0, 1) with 53 random bits (like NumPy's random()).
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n), n > 0, without modulo bias (Lemire's multiply-and-reject).
  uint64_t UniformInt(uint64_t n);

  // Standard normal N(0, 1) (Box-Muller; one value per call so the stream position is simple).
  double Normal();
  // Two independent standard normals from one Box-Muller draw (half the cost per value).
  void NormalPair(double* a, double* b);

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State s_{};
};

}  // namespace mbert
