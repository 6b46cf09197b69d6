// What the process knows about its read replicas, and the rule that decides
// whether one may serve a read now.
//
// Freshness: for each replica the monitor (replica_monitor.hpp) publishes the
// instant `fresh_as_of` such that everything the primary had written by then has
// been replayed by the replica (found by comparing the replica's replay LSN
// with LSNs sampled on the primary). The replica's lag at any moment is at most
// `now - fresh_as_of`, and that bound keeps growing between two measurements,
// so a replica that stops replaying (paused, cut off, crashed) drops out when
// the bound passes `max_lag`, even if the monitor cannot reach it or the
// primary any more.
//
// A replica may serve reads when, at its last check, it answered and was in
// recovery (pg_is_in_recovery(): a promoted or misconfigured server is not a
// standby of this primary), and `now - fresh_as_of <= max_lag`.
//
// Thread-safety: one writer (the monitor), any number of readers on any thread;
// atomics per replica (a reader decision needs only one replica's own fields;
// `fresh_as_of` is stored before `reachable` is released, and read after it is
// acquired).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace hookstream::storage {

class replica_health {
 public:
  using clock = std::chrono::steady_clock;

  /// `replicas` servers, each allowed to lag the primary by at most `max_lag`.
  replica_health(std::size_t replicas, std::chrono::milliseconds max_lag);

  std::size_t size() const noexcept { return replicas_.size(); }
  std::chrono::milliseconds max_lag() const noexcept { return max_lag_; }

  /// True when replica `i` may serve a read at `now` (see above).
  bool usable(std::size_t i, clock::time_point now) const noexcept;

  struct view {
    bool reachable = false;    ///< answered its last check
    bool in_recovery = false;  ///< pg_is_in_recovery() at its last check
    bool measured = false;     ///< a freshness is known
    clock::duration lag{};     ///< now - fresh_as_of (when measured)
    bool usable = false;
    std::uint64_t checks = 0;  ///< checks made so far
  };
  view state(std::size_t i, clock::time_point now) const noexcept;

  // --- the monitor's side ---
  /// Replica `i` could not be asked (connection refused, timed out, error).
  void publish_unreachable(std::size_t i) noexcept;
  /// Replica `i` answered: whether it is in recovery, and the instant it is
  /// known to be fresh as of; nullopt when that is unknown (no sample of the
  /// primary yet, or the replica is older than every sample kept): unusable.
  void publish(std::size_t i, bool in_recovery, std::optional<clock::time_point> fresh_as_of) noexcept;

 private:
  struct replica {
    std::atomic<bool> reachable{false};
    std::atomic<bool> in_recovery{false};
    std::atomic<std::int64_t> fresh_as_of{INT64_MIN};  // clock ticks; INT64_MIN = unknown
    std::atomic<std::uint64_t> checks{0};
  };
  std::chrono::milliseconds max_lag_;
  std::vector<std::unique_ptr<replica>> replicas_;
};

}  // namespace hookstream::storage
