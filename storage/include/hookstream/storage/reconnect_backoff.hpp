// Exponential back-off between failed connection attempts. I/O-free, so the pool's
// "no reconnect storm" rule is unit-tested on its own.
#pragma once

#include <algorithm>
#include <chrono>

namespace hookstream::storage {

class reconnect_backoff {
 public:
  using clock = std::chrono::steady_clock;

  reconnect_backoff(clock::duration initial, clock::duration maximum) noexcept
      : initial_(initial), maximum_(std::max(initial, maximum)) {}

  /// A connection attempt failed at `now`: the next one waits `delay()` (doubling,
  /// capped at the maximum).
  void on_failure(clock::time_point now) noexcept {
    delay_ = delay_ == clock::duration::zero() ? initial_ : std::min(delay_ * 2, maximum_);
    next_attempt_ = now + delay_;
  }
  /// A connection attempt succeeded: the database is back, no more waiting.
  void on_success() noexcept {
    delay_ = clock::duration::zero();
    next_attempt_ = clock::time_point::min();
  }
  bool may_attempt(clock::time_point now) const noexcept { return now >= next_attempt_; }
  clock::time_point next_attempt() const noexcept { return next_attempt_; }
  clock::duration delay() const noexcept { return delay_; }

 private:
  clock::duration initial_;
  clock::duration maximum_;
  clock::duration delay_ = clock::duration::zero();
  clock::time_point next_attempt_ = clock::time_point::min();
};

}  // namespace hookstream::storage
