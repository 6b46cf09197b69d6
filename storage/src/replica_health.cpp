#include <hookstream/storage/replica_health.hpp>

namespace hookstream::storage {
namespace {
constexpr auto relaxed = std::memory_order_relaxed;
}

replica_health::replica_health(std::size_t replicas, std::chrono::milliseconds max_lag) : max_lag_(max_lag) {
  replicas_.reserve(replicas);
  for (std::size_t i = 0; i < replicas; ++i) replicas_.push_back(std::make_unique<replica>());
}

bool replica_health::usable(std::size_t i, clock::time_point now) const noexcept {
  const replica& r = *replicas_[i];
  if (!r.reachable.load(std::memory_order_acquire) || !r.in_recovery.load(relaxed)) return false;
  const std::int64_t fresh = r.fresh_as_of.load(relaxed);
  if (fresh == INT64_MIN) return false;
  return now - clock::time_point(clock::duration(fresh)) <= max_lag_;
}

replica_health::view replica_health::state(std::size_t i, clock::time_point now) const noexcept {
  const replica& r = *replicas_[i];
  view v;
  v.reachable = r.reachable.load(std::memory_order_acquire);
  v.in_recovery = r.in_recovery.load(relaxed);
  const std::int64_t fresh = r.fresh_as_of.load(relaxed);
  v.measured = fresh != INT64_MIN;
  if (v.measured) v.lag = now - clock::time_point(clock::duration(fresh));
  v.usable = usable(i, now);
  v.checks = r.checks.load(relaxed);
  return v;
}

void replica_health::publish_unreachable(std::size_t i) noexcept {
  replica& r = *replicas_[i];
  r.reachable.store(false, std::memory_order_release);
  r.checks.fetch_add(1, relaxed);
}

void replica_health::publish(std::size_t i, bool in_recovery, std::optional<clock::time_point> fresh_as_of) noexcept {
  replica& r = *replicas_[i];
  r.fresh_as_of.store(fresh_as_of ? fresh_as_of->time_since_epoch().count() : INT64_MIN, relaxed);
  r.in_recovery.store(in_recovery, relaxed);
  r.reachable.store(true, std::memory_order_release);
  r.checks.fetch_add(1, relaxed);
}

}  // namespace hookstream::storage
