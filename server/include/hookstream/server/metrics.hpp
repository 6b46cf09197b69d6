// Counters for GET /metrics (Prometheus text format, version 0.0.4).
//
// Each handler (hookstream-server: each worker thread) has its own
// `server_metrics`. Relaxed atomic adds make the counters safe with any number
// of writers on any threads, and let /metrics, served by any handler, read all
// of them without locks. The `publish_*` figures are copies of one pool's
// state: a `server_metrics` shared by the handlers of several pools shows the
// last writer's. A `metrics_registry` is filled (`add_worker`) before serving
// starts and fixed afterwards.
#pragma once

#include <hookstream/server/admission_gate.hpp>
#include <hookstream/storage/attempt_row_cache.hpp>
#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/read_router.hpp>
#include <hookstream/storage/replica_health.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hookstream::server {

class server_metrics {
 public:
  /// Read replicas /metrics can report reads for (server_config allows no more).
  static constexpr std::size_t max_replicas = 16;

  /// Upper bounds of the latency histogram, in seconds.
  static constexpr std::array<double, 12> latency_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  /// Upper bounds of the event-loop lag histogram, in seconds.
  static constexpr std::array<double, 8> lag_bounds{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

  void observe_request(unsigned status, std::chrono::steady_clock::duration elapsed) noexcept;
  /// How late the worker's loop ran a timer, and how much of that the loop
  /// itself was busy (see loop_lag_monitor.hpp; nullopt: not known).
  void observe_loop_lag(std::chrono::steady_clock::duration lag,
                        std::optional<std::chrono::steady_clock::duration> stall) noexcept;
  void in_flight_delta(int delta) noexcept { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  /// Copies the pool's figures so other threads can read them.
  void publish_pool(const storage::pool_stats& s) noexcept;
  /// Copies how many API requests hold a place in the admission gate, how
  /// many wait for one, and the gate's totals (admission_gate.hpp).
  void publish_admission(const admission_gate& gate) noexcept;
  /// Copies the router's reads per server and its fallbacks.
  void publish_reads(const storage::read_router& router) noexcept;
  /// Copies the number of credential look-ups this worker sent to the database.
  void publish_auth(std::uint64_t lookups) noexcept { auth_lookups_.store(lookups, std::memory_order_relaxed); }
  /// Copies the listing row cache's size and how its pages were read.
  void publish_row_cache(const storage::attempt_row_cache& cache) noexcept;
  /// Copies how often /readyz asked the database (the probe is per process).
  void publish_readiness_checks(std::uint64_t checks) noexcept {
    readiness_checks_.store(checks, std::memory_order_relaxed);
  }

 private:
  friend class metrics_registry;
  template <class T>
  static void add(std::atomic<T>& a, T v) noexcept {
    a.fetch_add(v, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, 6> by_status_class_{};  // index 1..5 = 1xx..5xx
  std::array<std::atomic<std::uint64_t>, latency_bounds.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
  struct histogram {
    std::array<std::atomic<std::uint64_t>, lag_bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_us{0}, max_us{0};
  };
  histogram lag_, stall_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> admission_active_{0}, admission_waiting_{0};
  std::atomic<std::uint64_t> admission_admitted_{0}, admission_waited_{0}, admission_wait_ns_{0};
  std::atomic<std::uint64_t> admission_timed_out_{0}, admission_gave_up_{0};
  std::atomic<std::uint64_t> pool_idle_{0}, pool_in_use_{0}, pool_waiting_{0}, pool_connecting_{0};
  std::atomic<std::uint64_t> pool_exhausted_{0}, pool_timed_out_{0}, pool_connect_failures_{0};
  std::atomic<std::uint64_t> pool_recovering_{0}, pool_database_down_{0}, pool_refused_down_{0}, pool_stale_{0};
  std::atomic<std::uint64_t> pool_recoveries_{0}, pool_recovered_{0}, pool_retries_{0};
  std::atomic<std::uint64_t> pool_acquired_{0}, pool_joined_{0}, pool_waited_{0}, pool_wait_ns_{0};
  std::atomic<std::uint64_t> pool_unnamed_{0};
  std::array<std::atomic<std::uint64_t>, 1 + max_replicas> reads_{};  // [0] primary, [1 + i] replica i
  std::atomic<std::uint64_t> read_fallbacks_{0};
  std::atomic<std::size_t> replicas_{0};
  std::atomic<std::uint64_t> auth_lookups_{0};
  std::atomic<std::uint64_t> row_cache_bytes_{0}, row_cache_rows_{0};
  std::array<std::atomic<std::uint64_t>, 5> row_cache_pages_{};  // as attempt_row_cache::page_counts
  std::atomic<std::uint64_t> readiness_checks_{0};
};

class live_tail_hub;

/// All workers' metrics; created before the workers start and fixed afterwards.
class metrics_registry {
 public:
  server_metrics& add_worker();
  /// Adds the live tail's figures (the hub must outlive the registry's use).
  void set_live_tail(const std::shared_ptr<live_tail_hub>& hub) noexcept { live_tail_ = hub.get(); }
  /// Reports each replica's state from `health` (set before the workers start).
  void set_replica_health(std::shared_ptr<const storage::replica_health> health) { replica_health_ = std::move(health); }
  std::string render_prometheus() const;

 private:
  std::vector<std::unique_ptr<server_metrics>> workers_;
  const live_tail_hub* live_tail_ = nullptr;
  std::shared_ptr<const storage::replica_health> replica_health_;
};

}  // namespace hookstream::server
