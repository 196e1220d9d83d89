#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), identical on CPU and GPU: element i of
// a stream keyed by (seed, purpose) is a pure function of (seed, purpose, i). Initialisation, augmentation,
// shuffling and dropout therefore depend neither on the device nor on the thread count.
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SCN_HD __host__ __device__ __forceinline__
#else
#define SCN_HD inline
#endif

namespace scn {

// What a random stream is for; part of the key so that streams never overlap.
enum class RngPurpose : uint32_t { init = 1, augment = 2, shuffle = 3, dropout = 4, split = 5, test = 6, data = 7 };

struct RngKey {
  uint64_t seed = 0;
  RngPurpose purpose = RngPurpose::test;
  uint64_t offset = 0;  // first counter value; element i uses offset + i
};

struct Philox4 {
  uint32_t v[4];
};

SCN_HD Philox4 philox4x32_10(uint64_t seed, uint32_t purpose, uint64_t index, uint32_t lane = 0) {
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32), c2 = purpose, c3 = lane;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits: exactly representable in float, the same everywhere.
SCN_HD float philox_uniform(const RngKey& key, uint64_t i) {
  Philox4 r = philox4x32_10(key.seed, static_cast<uint32_t>(key.purpose), key.offset + i);
  return static_cast<float>(r.v[0] >> 8) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller, computed in double and rounded once, so CPU and GPU agree.
SCN_HD float philox_normal(const RngKey& key, uint64_t i) {
  Philox4 r = philox4x32_10(key.seed, static_cast<uint32_t>(key.purpose), key.offset + i);
  const double u1 = (static_cast<double>(r.v[0] >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  const double u2 = static_cast<double>(r.v[1] >> 8) * (1.0 / 16777216.0);
  return static_cast<float>(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

// A random 32-bit integer; used for shuffles and crop offsets.
SCN_HD uint32_t philox_bits(const RngKey& key, uint64_t i, int word = 0) {
  return philox4x32_10(key.seed, static_cast<uint32_t>(key.purpose), key.offset + i).v[word & 3];
}

}  // namespace scn
