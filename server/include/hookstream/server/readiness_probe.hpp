// The answer of GET /readyz, refreshed at most once per `max_age`.
//
// /readyz needs no credential, so it must not let anyone drive a query per
// call: the database is asked at most once per `max_age` (default 1 s) by the
// whole process, and every other call answers from the last result. Share one
// probe between all handlers of a process (server does).
//
// Thread-safe (atomics only).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hookstream::server {

class readiness_probe {
 public:
  using clock = std::chrono::steady_clock;

  explicit readiness_probe(std::chrono::milliseconds max_age = std::chrono::milliseconds(1000)) noexcept
      : max_age_(max_age) {}

  /// True when the caller should ask the database now: the last result is older
  /// than `max_age` (or there is none) and nobody else is asking. The caller
  /// then must call `publish`.
  bool claim_refresh(clock::time_point now) noexcept;
  /// Records the outcome of a check that `claim_refresh` granted.
  void publish(bool ready, clock::time_point now) noexcept;
  /// The last result (false before the first check).
  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
  /// How many times the database was asked.
  std::uint64_t checks() const noexcept { return checks_.load(std::memory_order_relaxed); }

 private:
  std::chrono::milliseconds max_age_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> refreshing_{false};
  std::atomic<std::int64_t> checked_at_{INT64_MIN};  // clock ticks of the last publish
  std::atomic<std::uint64_t> checks_{0};
};

}  // namespace hookstream::server
