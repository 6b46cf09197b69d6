// Measures how far each read replica lags the primary, in the background: one
// thread and one connection per server for the whole process, never a request.
//
// How: every `interval` the primary's current WAL position is sampled
// (pg_current_wal_lsn(), with the instant just before asking), and each replica
// is asked whether it is in recovery and how far it has replayed
// (pg_last_wal_replay_lsn()). A replica that has replayed up to the position a
// sample saw holds everything the primary had written at that sample's instant,
// so it is fresh as of the newest such sample (replica_health.hpp). The figure
// is an upper bound on the real lag, never below it, with the sampling period as
// its resolution: while the primary writes continuously a healthy standby reads
// about one `interval`; while it writes nothing, zero. Unlike
// pg_last_xact_replay_timestamp(), an idle primary does not look like lag.
//
// The servers are checked concurrently, each on a coroutine of its own: a
// replica that hangs delays nobody else. A replica that cannot be reached is
// published unreachable at once; when the primary cannot be reached no new
// samples come, and every replica's bound ages past `max_lag`.
//
// Lifetime: the thread starts in the constructor; `stop()` (or the destructor)
// cancels every connection attempt and statement at once and joins.
// Thread-safety: `stop()` may be called from any thread; the results are read
// through the shared `replica_health`.
#pragma once

#include <hookstream/storage/replica_health.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hookstream::storage {

struct replica_monitor_config {
  std::string primary_conninfo;
  std::vector<std::string> replica_conninfos;  ///< replica i of replica_health
  std::chrono::milliseconds interval{100};
  std::chrono::milliseconds connect_timeout{2000};
  /// Deadline of each check's statement.
  std::chrono::milliseconds query_timeout{1000};
};

class replica_monitor {
 public:
  using log_function = std::function<void(const std::string&)>;
  /// `health` must have one entry per replica conninfo. `log` receives state
  /// changes (a replica becoming usable or not, and why), not every check.
  replica_monitor(replica_monitor_config config, std::shared_ptr<replica_health> health, log_function log);
  ~replica_monitor();
  replica_monitor(const replica_monitor&) = delete;
  replica_monitor& operator=(const replica_monitor&) = delete;

  void stop();

  struct state;  // opaque: the thread, its io_context and the loops' shared data

 private:
  std::unique_ptr<state> state_;
};

}  // namespace hookstream::storage
