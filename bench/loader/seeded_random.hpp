// Deterministic randomness for the bench data set: splitmix64 to derive keys
// from the seed, one xoshiro256** stream per key. The same seed gives the same
// draws on every machine (no std:: distributions, whose output is unspecified).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace hookstream::bench_load {

using u64 = std::uint64_t;
using i64 = std::int64_t;

constexpr u64 mix64(u64 z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A 64-bit key from the seed, a domain tag and up to three indices.
constexpr u64 derive(u64 seed, u64 tag, u64 a = 0, u64 b = 0, u64 c = 0) noexcept {
  u64 h = mix64(seed ^ 0x68'6f'6f'6b'73'74'72'65ULL);  // "hookstre"
  h = mix64(h ^ tag);
  h = mix64(h ^ a);
  h = mix64(h ^ b);
  return mix64(h ^ c);
}

class Rng {  // xoshiro256**
 public:
  explicit Rng(u64 key) noexcept {
    for (auto& v : s_) {
      key += 0x9e3779b97f4a7c15ULL;
      v = mix64(key);
    }
  }
  u64 next() noexcept {
    const u64 result = rotl(s_[1] * 5, 7) * 9;
    const u64 t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n).
  u64 below(u64 n) noexcept {
    __extension__ typedef unsigned __int128 u128;
    return static_cast<u64>((static_cast<u128>(next()) * n) >> 64);
  }
  /// Uniform integer in [lo, hi].
  i64 range(i64 lo, i64 hi) noexcept { return lo + static_cast<i64>(below(static_cast<u64>(hi - lo + 1))); }
  bool chance(double p) noexcept { return uniform() < p; }

 private:
  static constexpr u64 rotl(u64 x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<u64, 4> s_{};
};

/// The low `digits` hex digits of `v` (lowercase, zero-padded).
inline void append_hex_digits(std::string& out, u64 v, int digits) {
  char tmp[16];
  for (int i = digits - 1; i >= 0; --i) {
    tmp[i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
  out.append(tmp, static_cast<std::size_t>(digits));
}

/// `digits` random lowercase hex digits.
inline void append_random_hex(std::string& out, Rng& r, int digits) {
  while (digits > 0) {
    const int n = std::min(digits, 16);
    append_hex_digits(out, r.next(), n);
    digits -= n;
  }
}

inline std::string random_id(std::string_view prefix, Rng& r, int digits) {
  std::string s(prefix);
  append_random_hex(s, r, digits);
  return s;
}

}  // namespace hookstream::bench_load
