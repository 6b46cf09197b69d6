// SHA-256 and HMAC-SHA-256 for the request path: API-key hashes, cursor and
// session-cookie signatures.
//
// Why not OpenSSL's one-shot calls: in OpenSSL 3, `EVP_Digest(..., EVP_sha256())`
// and `HMAC(...)` look the algorithm up, allocate a context and (for HMAC) key
// it on every call; on the listing's path that was about 1.8 µs per HMAC and
// 0.45 µs per digest (one core, uncontended), most of it not hashing. Here the
// algorithm is fetched once, each thread reuses one context, and a key's padded
// blocks are computed once, when the key is made.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace hookstream::auth {

using sha256_digest = std::array<std::uint8_t, 32>;

/// SHA-256 of the concatenation of `parts`.
sha256_digest sha256(std::initializer_list<std::string_view> parts) noexcept;
inline sha256_digest sha256(std::string_view data) noexcept { return sha256({data}); }

/// An HMAC-SHA-256 key (RFC 2104): keys longer than the 64-byte block are
/// hashed first, as the RFC says. Immutable once made, so one key may sign on
/// any number of threads at once.
class hmac_sha256_key {
 public:
  explicit hmac_sha256_key(std::string_view secret) noexcept;

  /// HMAC of the concatenation of `parts` (no separators are added).
  sha256_digest sign(std::initializer_list<std::string_view> parts) const noexcept;
  sha256_digest sign(std::string_view message) const noexcept { return sign({message}); }

 private:
  static constexpr std::size_t block_size = 64;
  std::array<std::uint8_t, block_size> inner_pad_{}, outer_pad_{};
};

}  // namespace hookstream::auth
