// A bounded pool of non-blocking PostgreSQL connections for one event loop.
//
// Threads: nothing here takes a lock. The pool and its connections run on one
// `serial_executor` made from the executor it is given (serial_executor.hpp):
// an io_context(1) run by one thread is used as it is (hookstream-server: one
// io_context, pool and handler per thread); any other io_context, run by any
// number of threads, gets a strand, so no two of the pool's handlers ever run
// at once. `acquire` and `with_connection` may be awaited from a coroutine on
// any executor: off the pool's executor they hop onto it (`with_connection`
// runs `work` there too) and the caller resumes on its own executor.
// A `pooled_connection` of a pool on a strand may be destroyed on any thread:
// off the strand, its return is posted there. One of a pool on an
// io_context(1) returns at once wherever it is destroyed, so destroy it on
// the thread that runs that io_context, or while no thread runs it (as with
// every object of a one-thread loop). `close()`, `warm_up()` and the
// destructor may be called from any thread: on the executor (or for an
// io_context(1), from any thread while it is not being run) they act at once,
// else they are posted to it. `stats()` reads plain counters: call it on the
// pool's executor, or while no thread runs it.
//
// Limits, all explicit (`pool_config`):
//  - at most `max_size` connections, open, opening, or being recovered after a
//    cancelled statement: the database never carries more statements from this
//    pool than that;
//  - at most `max_connecting` being opened at once, and after a failed attempt the
//    next waits an exponentially growing back-off (capped at `backoff_max`): a
//    database outage never turns into a reconnect storm;
//  - at most `max_waiters` coroutines queued for a connection; one more fails at
//    once with `errc::pool_exhausted` (shed load fast instead of queueing forever);
//  - every `acquire` has a deadline and fails with `errc::acquire_timeout` past it.
//
// Faults:
//  - Before an idle connection is lent, a non-blocking check (poll + read) finds
//    one the server has closed (restart, failover, terminated backend); it is
//    dropped, not lent.
//  - While the database is known down (the last connect failed and nothing is
//    open), `acquire` fails at once with `errc::connection_failed`, and one
//    background attempt at a time reconnects at the back-off's pace; a successful
//    connect resets the back-off and ends the outage.
//  - `with_connection` runs read-only work once more on a connection proven alive
//    when the first attempt lost its connection before any result arrived.
//  - A connection whose statement was interrupted (deadline or cancellation, see
//    pg_connection.hpp) is recovered in the background when it comes back: the
//    cancel request lands, the results are read up to idle, and it is reused; if
//    that takes longer than `cancel_timeout` it is closed. While recovering it
//    still counts toward `max_size`.
//
// Health: a connection returned broken or inside a transaction is dropped, not
// reused; the pool opens a new one when a waiter needs it.
//
// Shared loans (`loan::shared`, with `pipeline_depth` > 1): read-only work that
// only runs `execute` may share a connection with up to `pipeline_depth - 1`
// other such loans; its statements then travel in libpq's pipeline mode, one
// unit each, answered in order (pg_connection.hpp, "Shared use"). A shared
// loan joins the first connection lent for sharing that has room, before it
// takes an idle one, so one connection fills up (and pipelines) before the next
// is used; queued shared waiters join a connection as soon as it has room.
// Room means fewer than `pipeline_depth` borrowers and fewer than
// `pipeline_depth` statements outstanding, those that callers abandoned at
// their deadlines included: a connection whose statement is stuck (on a lock,
// say) takes no new readers, and none holds more than twice the depth.
// A shared connection counts once toward `max_size`, and returns to the idle
// connections (or to recovery, when callers abandoned statements on it) when
// its last borrower gives it back. Why: with one statement per connection at a
// time, the database wakes up for each, reads it, answers and sleeps again;
// with several queued on one connection it runs them back to back and the
// server reads several answers at a time (see the README's Performance
// section for what it is worth).
//
// Session settings: every statement runs with `statement_timeout`, `jit = off`
// and `max_parallel_workers_per_gather = 0` (see connection_pool.cpp for why).
// With named statements they are SET once per session; with unnamed ones
// (behind a pooler in transaction mode, see `statement_mode`) they are set
// transaction-locally before every statement, in the same round trip, so the
// pooler's server sessions keep nothing of hookstream's. No setting of the
// session's TimeZone matters: every timestamp is converted to UTC explicitly.
//
// Cancellation: `acquire` and `with_connection` honour Asio per-operation
// cancellation of the awaiting coroutine (terminal cancellation through its
// cancellation slot): they end at once with `errc::cancelled`.
//
// Lifetime: `pooled_connection` keeps the pool's state alive, so a connection
// handed out may outlive the `connection_pool` object; `close()` (or destroying the
// pool) fails queued waiters with `errc::pool_closed` and closes idle connections.
// Operations in flight hold the pool's state too: destroying the pool object
// while coroutines wait in `acquire` fails them with `pool_closed`, and work
// running on a loaned connection finishes; the connection is closed when it
// comes back. Destroy the pool before its io_context.
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>
#include <hookstream/storage/serial_executor.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace hookstream::storage {

/// One of the session settings above.
struct session_setting {
  std::string name, value;
  bool for_unnamed_statements;  ///< also set before each unnamed statement (see above)
};
/// The session settings above: `statement_timeout` (milliseconds, 0 = none),
/// generic plans, no JIT, no parallel query. The one list both the `SET`
/// script and the pool's transaction-local prelude are made from.
std::vector<session_setting> session_settings(std::chrono::milliseconds statement_timeout);
/// The session settings as one `SET` script. Every session that runs
/// hookstream's statements named (prepared once) needs them, the pool's and the
/// live tail's listener alike.
std::string session_settings_sql(std::chrono::milliseconds statement_timeout);

/// How statements travel (see pg_connection.hpp, "Statement modes").
enum class statement_mode {
  /// `named`, unless the connection turns out to go through a pooler: the
  /// backend pid libpq was given at connect differs from the pid of the server
  /// process that runs a statement (pgbouncer hands out keys of its own).
  automatic,
  /// Prepared once per connection and reused; settings SET on the session.
  /// Fastest on a direct connection, or through a pooler in session mode.
  named,
  /// Parsed on every execution, settings transaction-local: for a pooler in
  /// transaction mode (pgbouncer's pool_mode = transaction).
  unnamed,
};

struct pool_config {
  /// libpq connection string or URL (`postgresql://user@host:port/db`).
  std::string conninfo;
  std::size_t max_size = 8;
  std::size_t max_connecting = 2;
  /// Requests queued for a connection. Each is a suspended coroutine and a timer
  /// (well under 1 KB), so the bound can be generous: a keep-alive client has at
  /// most one request in flight, and refusing clients the pool could serve
  /// within their deadline is worse than queueing them.
  std::size_t max_waiters = 4096;
  std::chrono::milliseconds connect_timeout{5000};
  /// Server-side `statement_timeout` set on every connection (0 = none).
  std::chrono::milliseconds statement_timeout{5000};
  /// Back-off between failed connection attempts: doubles from `backoff_initial`
  /// up to `backoff_max`, which bounds how late a recovered database is noticed.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{500};
  /// How long a connection whose statement was interrupted may take to be idle
  /// again (the cancel landing and the rest of its results read); past it, it is
  /// closed.
  std::chrono::milliseconds cancel_timeout{2000};
  statement_mode statements = statement_mode::automatic;
  /// Shared loans per connection (see "Shared loans" above); 1 lends every
  /// connection to one borrower at a time, also for `loan::shared`. Unnamed
  /// statements (behind a pooler in transaction mode) are never shared.
  std::size_t pipeline_depth = 1;
};

/// How a connection is lent: to one borrower, or, for read-only work that only
/// runs `execute`, possibly shared with others (see "Shared loans" above).
enum class loan { exclusive, shared };

struct pool_stats {
  std::size_t idle = 0;
  std::size_t in_use = 0;
  std::size_t connecting = 0;
  std::size_t recovering = 0;        ///< connections whose interrupted statement is being cancelled
  std::size_t waiting = 0;
  bool database_down = false;        ///< the last connect failed and nothing is open
  bool unnamed_statements = false;   ///< the last connection opened uses unnamed statements
  std::uint64_t acquired = 0;        ///< total successful acquires
  std::uint64_t joined = 0;          ///< of those, shared loans of a connection already lent
  /// Of those, the acquires that found no idle connection and queued until one
  /// was freed or opened, and their time in the queue, summed (nanoseconds):
  /// how much of a request's latency the pool's size costs. Only the queued
  /// path reads the clock for it.
  std::uint64_t waited = 0;
  std::uint64_t wait_ns = 0;
  std::uint64_t exhausted = 0;       ///< acquires refused because the waiter queue was full
  std::uint64_t timed_out = 0;       ///< acquires that hit their deadline
  std::uint64_t refused_down = 0;    ///< acquires failed at once because the database is down
  std::uint64_t connects = 0;        ///< connections opened
  std::uint64_t connect_failures = 0;
  std::uint64_t dropped = 0;         ///< connections discarded as unhealthy
  std::uint64_t stale = 0;           ///< idle connections found closed by the server before lending
  std::uint64_t recoveries = 0;      ///< interrupted statements cancelled on the server
  std::uint64_t recovered = 0;       ///< of those, connections reused afterwards
  std::uint64_t retries = 0;         ///< with_connection work run a second time
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
  /// True for a shared loan (see "Shared loans" above).
  bool shared() const noexcept { return shared_; }

 private:
  friend class detail::pool_state;
  pooled_connection(std::shared_ptr<detail::pool_state> pool, std::shared_ptr<pg_connection> conn,
                    bool shared = false) noexcept
      : pool_(std::move(pool)), conn_(std::move(conn)), shared_(shared) {}
  void give_back() noexcept;

  std::shared_ptr<detail::pool_state> pool_;
  std::shared_ptr<pg_connection> conn_;  // shared with the pool's other borrowers on a shared loan
  bool shared_ = false;
};

class connection_pool {
 public:
  /// Runs on `serial_executor(executor)` (a strand unless `executor` belongs to
  /// an io_context(1)).
  connection_pool(boost::asio::any_io_executor executor, pool_config config);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// Waits for a usable connection until `deadline`. Errors: `pool_exhausted`,
  /// `acquire_timeout` (its message says why, e.g. the last connect error),
  /// `connection_failed` when the database cannot be reached and nothing else is
  /// open (at once while the outage is known), `cancelled`, `pool_closed`.
  /// `kind`: see "Shared loans" above.
  boost::asio::awaitable<db_result<pooled_connection>> acquire(clock::time_point deadline,
                                                               loan kind = loan::exclusive);

  /// Acquires a connection, runs `work(pg_connection&)` on it and returns its
  /// result, releasing the connection as soon as `work` returns (results own
  /// their data and outlive it). `work` returns `awaitable<db_result<T>>` and
  /// runs on the pool's executor (captured references must stay valid until
  /// the returned awaitable completes, as they do when it is awaited at once).
  ///
  /// Retry: when `work` fails with `connection_failed` before any result arrived
  /// on the connection (the server closed it: a restart, a failover, a terminated
  /// backend), `work` runs once more on a connection proven alive after that
  /// failure (idle connections older than it are closed, not lent). So `work`
  /// must be safe to repeat: read-only, or idempotent. It must not keep the
  /// `pg_connection&` beyond its return.
  ///
  /// `loan::shared`: `work` is read-only and only runs `execute` (see "Shared
  /// loans" above). Others' results arrive on a shared connection too, so its
  /// retry does not ask whether a result arrived: read-only work that lost its
  /// connection runs once more.
  ///
  /// Errors: those of `acquire` (for the first or the second acquisition), else
  /// whatever `work` returned.
  template <class Work>
  auto with_connection(Work work, clock::time_point acquire_deadline, loan kind = loan::exclusive)
      -> boost::asio::awaitable<typename std::invoke_result_t<Work&, pg_connection&>::value_type>;

  /// Opens up to `count` connections ahead of demand (e.g. at start-up).
  void warm_up(std::size_t count);
  pool_stats stats() const noexcept;
  /// True while the database is known down (the last connect failed and nothing
  /// is open): `acquire` would fail at once. Cheaper than `stats()`.
  bool known_down() const noexcept;
  const pool_config& config() const noexcept;
  /// Fails waiters with `pool_closed` and closes idle connections; loaned
  /// connections are closed when they come back.
  void close();
  /// The executor the pool and its connections run on.
  const serial_executor& executor() const noexcept;

 private:
  using shared_state = std::shared_ptr<detail::pool_state>;
  // Static, taking the state: an operation in flight never touches the pool
  // object again, which may be destroyed meanwhile.
  static boost::asio::awaitable<db_result<pooled_connection>> acquire_here(shared_state state,
                                                                            clock::time_point deadline,
                                                                            clock::time_point alive_since,
                                                                            loan kind);
  template <class Work, class Result>
  static boost::asio::awaitable<Result> with_connection_here(shared_state state, Work work,
                                                             clock::time_point acquire_deadline, loan kind);
  static const serial_executor& executor_of(const detail::pool_state& state) noexcept;
  static void count_retry(detail::pool_state& state) noexcept;

  shared_state state_;
};

template <class Work>
auto connection_pool::with_connection(Work work, clock::time_point acquire_deadline, loan kind)
    -> boost::asio::awaitable<typename std::invoke_result_t<Work&, pg_connection&>::value_type> {
  using result_type = typename std::invoke_result_t<Work&, pg_connection&>::value_type;
  // Not a coroutine: the state is taken now, while the pool object surely exists.
  const serial_executor& executor = executor_of(*state_);
  return executor.run(with_connection_here<Work, result_type>(state_, std::move(work), acquire_deadline, kind));
}

template <class Work, class Result>
boost::asio::awaitable<Result> connection_pool::with_connection_here(shared_state state, Work work,
                                                                     clock::time_point acquire_deadline, loan kind) {
  auto conn = co_await acquire_here(state, acquire_deadline, clock::time_point::min(), kind);
  if (!conn) co_return Result(conn.error());
  const auto results_before = (*conn)->results_received();
  Result first = co_await work(**conn);
  const bool retry = !first && first.error().code == errc::connection_failed &&
                     (conn->shared() || (*conn)->results_received() == results_before);
  const auto failed_at = clock::now();
  *conn = pooled_connection{};  // released (and, being closed, dropped) now
  if (!retry) co_return first;

  count_retry(*state);
  auto fresh = co_await acquire_here(state, acquire_deadline, failed_at, kind);
  if (!fresh) co_return Result(fresh.error());
  Result second = co_await work(**fresh);
  *fresh = pooled_connection{};
  co_return second;
}

}  // namespace hookstream::storage
