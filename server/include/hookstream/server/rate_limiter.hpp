// Token buckets by key: the API's per-organisation rate limit, and the throttle
// on failed credential look-ups per client address.
//
// One limiter is shared by every worker thread (a per-thread bucket would let a
// key multiply its limit by the thread count). The map is split into shards,
// each with its own mutex held for a few arithmetic operations: the only lock on
// the request path, and one that two requests only meet when their keys hash to
// the same shard at the same instant.
//
// Semantics: a bucket holds up to `limit` tokens and refills continuously at
// `limit` per `window`. Answers carry the IETF RateLimit-* header values.
#pragma once

#include <hookstream/storage/text_hash.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookstream::server {

struct rate_limit_config {
  std::uint32_t limit = 60000;          ///< requests per window (0 = no limit)
  std::chrono::seconds window{60};
  std::size_t max_tracked_keys = 100000; ///< bound on memory; idle full buckets go first
};

struct rate_decision {
  bool allowed = true;
  std::uint32_t limit = 0;
  std::uint32_t remaining = 0;    ///< whole requests left after this one
  std::uint32_t reset_s = 0;      ///< seconds until the bucket is full again
  std::uint32_t retry_after_s = 0;///< when refused: seconds until one request fits
};

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit rate_limiter(rate_limit_config config);
  bool enabled() const noexcept { return config_.limit > 0; }
  /// Takes one token from `key`'s bucket. Thread-safe.
  rate_decision take(std::string_view key, clock::time_point now = clock::now());
  /// What `take` would decide now, without taking a token (nor tracking a new
  /// key). Thread-safe.
  rate_decision peek(std::string_view key, clock::time_point now = clock::now());
  /// Spends a token for something that already happened, going into debt (down
  /// to minus `limit`) when none is left: with `peek` before and `spend` after,
  /// several attempts let through at once all count, and later ones wait for
  /// the debt to be repaid. Thread-safe.
  void spend(std::string_view key, clock::time_point now = clock::now());

 private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, bucket, storage::text_hash, std::equal_to<>> buckets;  // found without allocating
  };
  void refill(bucket& b, clock::time_point now) const noexcept;
  // The key's bucket, tracked from now on and refilled to `now` (caller holds s.mutex).
  bucket& tracked(shard& s, std::string_view key, clock::time_point now);

  shard& shard_of(std::string_view key) noexcept;

  rate_limit_config config_;
  double per_second_;
  std::array<shard, 64> shards_;
};

}  // namespace hookstream::server
