#include <hookstream/server/readiness_probe.hpp>

namespace hookstream::server {

bool readiness_probe::claim_refresh(clock::time_point now) noexcept {
  const std::int64_t checked = checked_at_.load(std::memory_order_acquire);
  const std::int64_t age_limit = std::chrono::duration_cast<clock::duration>(max_age_).count();
  if (checked != INT64_MIN && now.time_since_epoch().count() - checked < age_limit) return false;
  bool expected = false;
  return refreshing_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void readiness_probe::publish(bool ready, clock::time_point now) noexcept {
  ready_.store(ready, std::memory_order_release);
  checked_at_.store(now.time_since_epoch().count(), std::memory_order_release);
  checks_.fetch_add(1, std::memory_order_relaxed);
  refreshing_.store(false, std::memory_order_release);
}

}  // namespace hookstream::server
