// The hash of the maps keyed by std::string that are searched by string_view
// (the statement cache, ttl_cache, the rate limiter's buckets): transparent,
// so a look-up allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

namespace hookstream::storage {

#if defined(__SIZEOF_INT128__)
namespace detail {

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint64_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
// The 128-bit product with its halves folded together: every bit of both
// factors reaches the result.
__extension__ typedef unsigned __int128 uint128;  // a GCC and Clang extension, marked as one
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  const uint128 product = static_cast<uint128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

}  // namespace detail

/// A 64-bit hash of `s` in the manner of wyhash: 16 bytes per multiply, short
/// strings and the tail read as overlapping words. Not keyed: like std::hash,
/// it is no defence against keys chosen to collide.
inline std::uint64_t text_hash_of(std::string_view s) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t seed = k0 ^ n, a = 0, b = 0;
  if (n > 16) {
    for (; n > 16; p += 16, n -= 16) seed = detail::fold_multiply(detail::load64(p) ^ k1, detail::load64(p + 8) ^ seed);
    a = detail::load64(p + n - 16);  // the last 16 bytes, some of them hashed already
    b = detail::load64(p + n - 8);
  } else if (n >= 4) {
    const std::size_t mid = (n >> 3) << 2;  // 0 below 8 bytes, else 4
    a = detail::load32(p) << 32 | detail::load32(p + mid);
    b = detail::load32(p + n - 4) << 32 | detail::load32(p + n - 4 - mid);
  } else if (n > 0) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
    a = byte(0) << 16 | byte(n >> 1) << 8 | byte(n - 1);
  }
  return detail::fold_multiply(k1 ^ s.size(), detail::fold_multiply(a ^ k1, b ^ seed));
}
#else
inline std::uint64_t text_hash_of(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }
#endif

struct text_hash {
  using is_transparent = void;
  // Not noexcept, on purpose: libstdc++ keeps each node's hash code only when
  // the hasher may throw (or is one of its own slow ones). Without the kept
  // code, a look-up hashes again the key of every node it passes in its bucket
  // to tell where the bucket ends: about two hashes of the whole key per
  // look-up, measured on the names cache's keys (then 90 bytes).
  //
  // Not std::hash either: libstdc++'s (murmur, 8 bytes a step) spent about 190
  // instructions on a names-cache key of then 90 bytes, about 20k per first
  // page (callgrind),
  // and it also hashes the statement cache's SQL texts of 1-2 KB on every
  // execution.
  std::size_t operator()(std::string_view s) const { return static_cast<std::size_t>(text_hash_of(s)); }
};

}  // namespace hookstream::storage
