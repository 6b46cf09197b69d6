// Configuration of hookstream-server: command-line options, each with an
// environment variable (the option wins when both are given).
#pragma once

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_listener.hpp>
#include <hookstream/storage/attempt_maintenance.hpp>
#include <hookstream/storage/connection_pool.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hookstream::server {

struct server_config {
  std::string listen_address = "127.0.0.1";
  unsigned short port = 8080;
  std::string database_url;
  /// Migrations, the maintenance thread, the one-shot commands and the replica
  /// lag monitor's primary sampling connect here
  /// (empty: database_url). They hold session advisory locks and session
  /// settings, so behind a pooler in transaction mode this must name
  /// PostgreSQL itself.
  std::string maintenance_database_url;
  /// Streaming replicas that serve reads while within `max_replica_lag` of the
  /// primary (see storage/read_router.hpp); at most server_metrics::max_replicas.
  std::vector<std::string> replica_urls;
  std::chrono::milliseconds max_replica_lag{1000};
  /// How often the lag monitor samples the primary and checks each replica.
  std::chrono::milliseconds replica_check_interval{100};
  unsigned threads = 0;          ///< 0 = one per core
  bool migrate = true;           ///< apply migrations at start-up
  bool migrate_only = false;     ///< apply migrations and exit
  std::size_t pool_size = 4;     ///< per thread (and per replica)
  /// Cookie sessions: "auto" (on when BETTER_AUTH_SECRET(S) is set), "on", "off".
  std::string cookie_auth = "auto";
  /// Maintenance (partitions ahead, retention, counter compaction) on a thread
  /// and connection of its own, never on a request path.
  bool maintenance = true;
  /// How often the counters' log is folded. A reader of a tenant sums that
  /// tenant's log rows not folded yet (migration 0041): about this long of its
  /// writes, so short. An idle fold costs one advisory lock and an empty scan.
  std::chrono::milliseconds compaction_interval{250};
  std::chrono::seconds maintenance_interval{600};  ///< partitions and retention
  storage::maintenance_config maintenance_settings;
  /// One-shot commands instead of serving (they exit with 0, or 1 on failure;
  /// --check-counters exits 3 when an environment's counters drifted).
  bool maintain_only = false;    ///< --maintain
  bool check_counters = false;   ///< --check-counters
  bool recount = false;          ///< --recount
  std::optional<std::string> command_env;  ///< --env: limits --check-counters/--recount
  /// conninfo filled from database_url. Reads share a connection four deep
  /// (`--pipeline-depth`; see storage/connection_pool.hpp, "Shared loans").
  storage::pool_config pool{.pipeline_depth = 4};
  /// Period of each worker's event-loop lag monitor (see loop_lag_monitor.hpp).
  std::chrono::milliseconds loop_monitor_period{20};
  handler_config handler;
  listener_config listener;
  /// The live tail (conninfo, cursor secret, field cap and route names are
  /// taken from the options above when the server makes its hub).
  live_tail_config live_tail;
};

/// The URL migrations and maintenance use: maintenance_database_url, else database_url.
inline const std::string& maintenance_url(const server_config& c) {
  return c.maintenance_database_url.empty() ? c.database_url : c.maintenance_database_url;
}

struct config_outcome {
  std::optional<server_config> config;  ///< set when the server should run
  std::string message;                  ///< --help text or the error
  int exit_code = 0;                    ///< for --help (0) and errors (2)
};

/// Parses `args` (without the program name) over the environment (`getenv`).
/// Session secrets come from the environment only (BETTER_AUTH_SECRETS,
/// BETTER_AUTH_SECRET), never from the command line, and are never echoed: a
/// missing, short (< 32 bytes) or default secret with cookie auth on is an error.
config_outcome parse_server_config(const std::vector<std::string>& args);

/// The --help text: every option, its environment variable and its default.
std::string server_usage();

}  // namespace hookstream::server
