// A bounded pool of non-blocking PostgreSQL connections for one event loop.
//
// hookstream is shared-nothing per thread: each thread runs its own io_context and
// owns one pool, so nothing here takes a lock. A pool must only be used from the
// thread running its executor's io_context (see pg_connection.hpp for why).
//
// Limits, all explicit (`pool_config`):
//  - at most `max_size` connections, open or opening;
//  - at most `max_connecting` being opened at once, and after a failed attempt the
//    next waits an exponentially growing back-off: a database outage never turns
//    into a reconnect storm;
//  - at most `max_waiters` coroutines queued for a connection; one more fails at
//    once with `errc::pool_exhausted` (shed load fast instead of queueing forever);
//  - every `acquire` has a deadline and fails with `errc::acquire_timeout` past it.
//
// Health: a connection returned broken or inside a transaction is dropped, not
// reused; the pool opens a new one when a waiter needs it.
//
// Lifetime: `pooled_connection` keeps the pool's state alive, so a connection
// handed out may outlive the `connection_pool` object; `close()` (or destroying the
// pool) fails queued waiters with `errc::pool_closed` and closes idle connections.
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace hookstream::storage {

struct pool_config {
  /// libpq connection string or URL (`postgresql://user@host:port/db`).
  std::string conninfo;
  std::size_t max_size = 8;
  std::size_t max_connecting = 2;
  std::size_t max_waiters = 512;
  std::chrono::milliseconds connect_timeout{5000};
  /// Server-side `statement_timeout` set on every connection (0 = none).
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
};

struct pool_stats {
  std::size_t idle = 0;
  std::size_t in_use = 0;
  std::size_t connecting = 0;
  std::size_t waiting = 0;
  std::uint64_t acquired = 0;        ///< total successful acquires
  std::uint64_t exhausted = 0;       ///< acquires refused because the waiter queue was full
  std::uint64_t timed_out = 0;       ///< acquires that hit their deadline
  std::uint64_t connects = 0;        ///< connections opened
  std::uint64_t connect_failures = 0;
  std::uint64_t dropped = 0;         ///< connections discarded as unhealthy
};

namespace detail {
class pool_state;
}

/// A connection on loan from the pool; returns it when destroyed.
class pooled_connection {
 public:
  pooled_connection() noexcept = default;
  pooled_connection(pooled_connection&&) noexcept = default;
  pooled_connection& operator=(pooled_connection&& other) noexcept;
  ~pooled_connection();

  pg_connection& operator*() const noexcept { return *conn_; }
  pg_connection* operator->() const noexcept { return conn_.get(); }
  explicit operator bool() const noexcept { return conn_ != nullptr; }

 private:
  friend class detail::pool_state;
  pooled_connection(std::shared_ptr<detail::pool_state> pool, std::unique_ptr<pg_connection> conn) noexcept
      : pool_(std::move(pool)), conn_(std::move(conn)) {}
  void give_back() noexcept;

  std::shared_ptr<detail::pool_state> pool_;
  std::unique_ptr<pg_connection> conn_;
};

class connection_pool {
 public:
  connection_pool(boost::asio::any_io_executor executor, pool_config config);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// Waits for a usable connection until `deadline`. Errors: `pool_exhausted`,
  /// `acquire_timeout` (its message says why, e.g. the last connect error),
  /// `connection_failed` when the database cannot be reached and nothing else is
  /// open, `pool_closed`.
  boost::asio::awaitable<db_result<pooled_connection>> acquire(clock::time_point deadline);

  /// Opens up to `count` connections ahead of demand (e.g. at start-up).
  void warm_up(std::size_t count);
  pool_stats stats() const noexcept;
  const pool_config& config() const noexcept;
  /// Fails waiters with `pool_closed` and closes idle connections; loaned
  /// connections are closed when they come back.
  void close();

 private:
  std::shared_ptr<detail::pool_state> state_;
};

}  // namespace hookstream::storage
