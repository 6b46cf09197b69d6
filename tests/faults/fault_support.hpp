// What the fault tests need besides hookstream itself: a PostgreSQL cluster of
// their own to kill and restart, the real hookstream-server binary in a child
// process, a load generator that records every answer, and censuses of the
// server's file descriptors and the database's backends.
//
// Fixture code may block (it is not the code under test).
#pragma once

#include <boost/json/value.hpp>

struct pg_conn;  // libpq's PGconn

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hookstream::faults {

using fault_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Milliseconds between two instants, for messages and bounds.
double ms(fault_clock::duration d);

/// A PostgreSQL cluster owned by one test (tests/faults/pg_cluster.sh). Role
/// "app" (not a superuser) owns database "hookstream"; "postgres" administers.
class pg_cluster {
 public:
  explicit pg_cluster(int max_connections = 100);
  /// A streaming standby of `primary` (pg_basebackup -R), started on a port of
  /// its own; destroyed like any cluster.
  static std::unique_ptr<pg_cluster> standby_of(const pg_cluster& primary);
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& user = "app", const std::string& host = "127.0.0.1") const;
  /// pg_ctl restart -m fast|immediate; returns once it accepts connections.
  void restart(const std::string& mode);
  /// SIGKILL to the postmaster.
  void kill9();
  /// pg_ctl stop -m fast|immediate, and start again on the same port.
  void stop(const std::string& mode);
  void start();
  /// Starts again after kill9() and returns the instant it first accepted a
  /// connection (polled every 5 ms, independent of pg_ctl's own polling).
  fault_clock::time_point start_and_time_first_accept();

 private:
  pg_cluster(std::string data, int port, int max_connections)
      : data_(std::move(data)), port_(port), max_connections_(max_connections) {}
  std::string data_;
  int port_ = 0;
  int max_connections_;
};

/// pgbouncer (tests/pgbouncer.sh) in transaction mode in front of the server
/// of `database_url`, at most `pool_size` server connections per database and
/// user; stopped when destroyed.
class pgbouncer_process {
 public:
  explicit pgbouncer_process(const std::string& database_url, int pool_size = 2);
  ~pgbouncer_process();
  pgbouncer_process(const pgbouncer_process&) = delete;
  pgbouncer_process& operator=(const pgbouncer_process&) = delete;
  /// `database_url` with pgbouncer's port.
  const std::string& url() const { return url_; }

 private:
  std::string state_;
  std::string url_;
};

/// hookstream-server in a child process, stderr to a log file.
class server_process {
 public:
  server_process(const std::string& database_url, const std::vector<std::string>& extra_args);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  unsigned short port() const { return port_; }
  int pid() const { return pid_; }
  bool alive();
  /// SIGTERM, then waits; the exit status (-1 when it did not end in time or was
  /// killed by a signal).
  int stop();
  std::string log() const;

 private:
  int pid_ = -1;
  unsigned short port_ = 0;
  std::string log_path_;
};

/// Descriptors of a process: all of them, and the TCP sockets to `db_port`.
struct fd_census {
  std::size_t total = 0;
  std::size_t db_sockets = 0;
  std::size_t other() const { return total - db_sockets; }
};
fd_census count_fds(int pid, int db_port);

/// One HTTP answer as the client saw it.
struct answer {
  int group = 0;
  fault_clock::time_point sent, done;
  unsigned status = 0;  ///< 0: no answer (see abandoned / error)
  bool abandoned = false;  ///< the client gave up and closed the connection
  std::string error;       ///< transport error, when neither answered nor abandoned
  std::string retry_after;
  std::string rate_limit;  ///< RateLimit-Limit (tells instances with different limits apart)
  std::string body;
  double latency_ms() const { return ms(done - sent); }
};

/// Keep-alive clients in one background thread, each looping GET `target` until
/// stop(); a client of a group with `give_up_after` closes its connection when
/// the answer takes longer (the way a browser or a proxy gives up).
class load_generator {
 public:
  struct group {
    int clients = 1;
    std::chrono::milliseconds give_up_after{10'000};
    std::chrono::milliseconds pause{0};
    std::string target = "/v1/delivery-attempts?limit=20";
  };
  load_generator(unsigned short port, std::string api_key, std::vector<group> groups);
  ~load_generator();
  void start();
  /// Stops the clients (each finishes or abandons its request) and returns every answer.
  std::vector<answer> stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A blocking GET (test-side); status 0 on transport failure.
answer http_get(unsigned short port, const std::string& target, const std::string& api_key);

/// The value of the metric line `name` (with its labels, e.g.
/// `hookstream_db_reads_total{server="primary"}`) on the server's /metrics;
/// throws when it is missing.
double metric(unsigned short port, const std::string& name);

/// Blocking admin access for arranging and sampling.
class admin_session {
 public:
  explicit admin_session(const std::string& url);
  ~admin_session();
  admin_session(const admin_session&) = delete;
  admin_session& operator=(const admin_session&) = delete;
  void exec(const std::string& sql);
  std::int64_t count(const std::string& sql);
  /// First column of the first row as text ("" for NULL); throws without a row.
  std::string text(const std::string& sql);

 private:
  ::pg_conn* conn_;
};

/// Samples, every `period`, how many backends serve hookstream (application_name)
/// and how many of them run a statement, until stopped.
class backend_sampler {
 public:
  backend_sampler(const std::string& admin_url, std::chrono::milliseconds period = 25ms);
  ~backend_sampler();
  struct result {
    std::int64_t max_backends = 0;
    std::int64_t max_active = 0;
    std::size_t samples = 0;
  };
  result stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Backends with application_name 'hookstream' now.
std::int64_t hookstream_backends(admin_session& admin);

/// Checks every answer of the given status codes is a well-formed error answer
/// (JSON body with "error", "status", "request_id"; Retry-After where given).
void check_error_answer(const answer& a, unsigned status, const std::string& words, bool retry_after);

/// Waits (bounded) until the server's descriptors other than database sockets
/// are back at `baseline`, and its database sockets match the backends the
/// database serves it (no socket leaked, none half-closed and forgotten) and fit
/// `max_connections`.
void expect_resources_back_to_baseline(server_process& server, pg_cluster& cluster, const fd_census& baseline,
                                       std::size_t max_connections);

/// Simple statistics of latencies.
double percentile(std::vector<double> values, double p);

}  // namespace hookstream::faults
