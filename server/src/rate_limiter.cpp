#include <hookstream/server/rate_limiter.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>

namespace hookstream::server {

rate_limiter::rate_limiter(rate_limit_config config)
    : config_(config),
      per_second_(config.window.count() > 0 ? static_cast<double>(config.limit) / static_cast<double>(config.window.count())
                                            : static_cast<double>(config.limit)) {}

void rate_limiter::refill(bucket& b, clock::time_point now) const noexcept {
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min<double>(config_.limit, b.tokens + elapsed * per_second_);
    b.updated = now;
  }
}

rate_limiter::shard& rate_limiter::shard_of(std::string_view key) noexcept {
  return shards_[std::hash<std::string_view>{}(key) % shards_.size()];
}

rate_decision rate_limiter::peek(std::string_view key, clock::time_point now) {
  rate_decision d;
  d.limit = config_.limit;
  d.remaining = config_.limit;
  if (!enabled()) return d;
  shard& s = shard_of(key);
  std::lock_guard lock(s.mutex);
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) return d;  // an unknown key has a full bucket
  bucket& b = it->second;
  refill(b, now);
  d.allowed = b.tokens >= 1.0;
  if (!d.allowed)
    d.retry_after_s = static_cast<std::uint32_t>(std::max(1.0, std::ceil((1.0 - b.tokens) / per_second_)));
  d.remaining = static_cast<std::uint32_t>(std::floor(std::max(0.0, b.tokens)));
  d.reset_s = static_cast<std::uint32_t>(std::ceil((config_.limit - b.tokens) / per_second_));
  return d;
}

rate_limiter::bucket& rate_limiter::tracked(shard& s, std::string_view key, clock::time_point now) {
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) {
    const std::size_t per_shard = std::max<std::size_t>(1, config_.max_tracked_keys / shards_.size());
    if (s.buckets.size() >= per_shard) {
      // Full buckets carry no state: forget them first; then anyone.
      for (auto b = s.buckets.begin(); b != s.buckets.end();) {
        refill(b->second, now);
        b = b->second.tokens >= config_.limit ? s.buckets.erase(b) : std::next(b);
      }
      if (s.buckets.size() >= per_shard) s.buckets.erase(s.buckets.begin());
    }
    it = s.buckets.emplace(std::string(key), bucket{static_cast<double>(config_.limit), now}).first;
  }
  refill(it->second, now);
  return it->second;
}

void rate_limiter::spend(std::string_view key, clock::time_point now) {
  if (!enabled()) return;
  shard& s = shard_of(key);
  std::lock_guard lock(s.mutex);
  bucket& b = tracked(s, key, now);
  b.tokens = std::max<double>(-static_cast<double>(config_.limit), b.tokens - 1.0);
}

rate_decision rate_limiter::take(std::string_view key, clock::time_point now) {
  rate_decision d;
  d.limit = config_.limit;
  if (!enabled()) {
    d.remaining = config_.limit;
    return d;
  }
  shard& s = shard_of(key);
  std::lock_guard lock(s.mutex);
  bucket& b = tracked(s, key, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    d.allowed = true;
  } else {
    d.allowed = false;
    d.retry_after_s = static_cast<std::uint32_t>(std::max(1.0, std::ceil((1.0 - b.tokens) / per_second_)));
  }
  d.remaining = static_cast<std::uint32_t>(std::floor(std::max(0.0, b.tokens)));
  d.reset_s = static_cast<std::uint32_t>(std::ceil((config_.limit - b.tokens) / per_second_));
  return d;
}

}  // namespace hookstream::server
