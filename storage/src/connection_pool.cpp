#include "cancellation.hpp"

#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/reconnect_backoff.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <vector>

namespace hookstream::storage::detail {
namespace asio = boost::asio;

class pool_state : public std::enable_shared_from_this<pool_state> {
 public:
  pool_state(asio::any_io_executor executor, pool_config config)
      : executor_(std::move(executor)),
        config_(std::move(config)),
        backoff_(config_.backoff_initial, config_.backoff_max),
        retry_timer_(executor_.get()) {
    if (config_.max_size == 0) config_.max_size = 1;
    if (config_.max_connecting == 0) config_.max_connecting = 1;
    // Generic plans: PostgreSQL's default keeps re-planning the listing for every
    // execution (its custom plans see LIMIT and always look cheaper), and with
    // delivery_attempts partitioned, planning each partition and its indexes cost
    // a third of the first page's throughput (pgbench, 200k attempts: 3,119-3,208
    // tps re-planned against 5,270-6,645 generic). Generic plans of every statement
    // are covered by the EXPLAIN tests: ordered index scans, no sort.
    // (Unnamed statements are planned at every execution whatever this says; see
    // statement_prelude_ below.)
    // No JIT: a generic plan's estimate (it cannot see LIMIT) is high enough to
    // compile expressions for each execution, 15 ms for a 5 ms page (2M rows).
    // No parallel query: a listing reads one page through an ordered index scan
    // (an ordered Append across the partitions). Offered parallel scans, a generic
    // plan, which cannot see LIMIT, may prefer them and a sort; at the server's
    // concurrency they would also only add workers.
    session_setup_ = session_settings_sql(config_.statement_timeout);
    // The same, transaction-local, for unnamed statements behind a pooler in
    // transaction mode. set_config(..., true) rather than SET LOCAL: it needs no
    // explicit transaction block (the pipelined unit is one implicit
    // transaction). statement_timeout set here arms for the next statement of
    // the unit: PostgreSQL starts a fresh timeout at each protocol message after
    // an Execute completes.
    for (const auto& s : session_settings(config_.statement_timeout)) {
      if (!s.for_unnamed_statements) continue;
      statement_prelude_ += (statement_prelude_.empty() ? "SELECT " : ", ") + ("set_config('" + s.name + "', '" +
                                                                               s.value + "', true)");
    }
  }

  asio::awaitable<db_result<pooled_connection>> acquire(clock::time_point deadline, clock::time_point alive_since,
                                                        loan kind) {
    if (closed_) co_return db_error{errc::pool_closed, "the pool is shutting down", {}};
    if (co_await cancellation_requested()) co_return cancelled();
    const bool shared = kind == loan::shared && config_.pipeline_depth > 1;
    if (shared) {
      if (auto* joined = join_shared(alive_since)) co_return pooled_connection(shared_from_this(), joined->conn, true);
    }
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());  // LIFO keeps the warmest connections busy
      idle_.pop_back();
      if (conn->last_alive() < alive_since) {
        // As old as a connection that just turned out dead: not worth the risk.
        ++stats_.dropped;
        continue;
      }
      if (conn->check_alive()) co_return lend(std::move(conn), shared);
      ++stats_.stale;
      ++stats_.dropped;
    }
    if (down_) {
      ++stats_.refused_down;
      schedule_probe();
      co_return db_error{errc::connection_failed,
                         "the database is unreachable (last connect error: " + last_connect_error_ +
                             "); reconnecting in the background",
                         {}};
    }
    if (waiters_.size() >= config_.max_waiters) {
      ++stats_.exhausted;
      co_return db_error{errc::pool_exhausted,
                         std::to_string(waiters_.size()) + " requests already waiting for a database connection",
                         {}};
    }

    const auto queued_at = clock::now();
    waiter w{asio::steady_timer(executor_.get()), alive_since, shared};
    w.timer.expires_at(deadline);
    waiters_.push_back(&w);
    open_connections_if_needed();
    // The wait ends when the deadline passes, when a connection (or an error) is
    // handed to us, which cancels the timer, or when our caller is cancelled.
    // co_spawn may run a connect attempt inline and fail it at once (e.g.
    // ECONNREFUSED on loopback), before we wait: then there is nothing to wait for.
    if (!w.conn && !w.error) co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (w.queued) waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
    if (co_await cancellation_requested()) {
      if (w.conn) release(std::move(w.conn), w.shared);
      co_return cancelled();
    }
    if (w.conn) {
      ++stats_.waited;
      stats_.wait_ns += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - queued_at).count());
      co_return pooled_connection(shared_from_this(), std::move(w.conn), w.shared);
    }
    if (w.error) co_return std::move(*w.error);
    ++stats_.timed_out;
    std::string why = "no database connection became free in time";
    if (!last_connect_error_.empty()) why += " (last connect error: " + last_connect_error_ + ")";
    co_return db_error{errc::acquire_timeout, std::move(why), {}};
  }

  void release(std::shared_ptr<pg_connection> conn, bool shared) noexcept {
    if (shared) {
      auto it = std::find_if(shared_.begin(), shared_.end(), [&](const shared_loan& l) { return l.conn == conn; });
      if (it != shared_.end() && --it->borrowers > 0) {
        if (!closed_) share_with_waiters(*it);
        return;
      }
      if (it != shared_.end()) shared_.erase(it);
      // The last borrower: what its callers abandoned is cancelled, and the
      // connection recovered, below.
      conn->set_shared(false);
    }
    --in_use_;
    if (closed_) {
      conn.reset();
      return;
    }
    if (conn->needs_recovery()) {
      ++recovering_;
      ++stats_.recoveries;
      asio::co_spawn(executor_.get(), recover_one(shared_from_this(), std::move(conn)), asio::detached);
      return;
    }
    if (!conn->usable()) {
      drop(std::move(conn));
      return;
    }
    hand_over(std::move(conn));
  }

  void warm_up(std::size_t count) {
    for (std::size_t i = 0; i < count && total() < config_.max_size; ++i) start_connect();
  }

  void close() {
    closed_ = true;
    idle_.clear();
    retry_timer_.cancel();
    for (waiter* w : waiters_) {
      w->queued = false;
      w->error = db_error{errc::pool_closed, "the pool is shutting down", {}};
      w->timer.cancel();
    }
    waiters_.clear();
  }

  void count_retry() noexcept { ++stats_.retries; }

  // A pooled_connection's return, from whatever thread destroys it.
  void give_back(std::shared_ptr<pg_connection> conn, bool shared) noexcept {
    if (executor_.single_threaded() || executor_.running_in_this_thread()) {
      release(std::move(conn), shared);
      return;
    }
    asio::post(executor_.get(), [self = shared_from_this(), conn = std::move(conn), shared]() mutable {
      self->release(std::move(conn), shared);
    });
  }

  // Runs `f` on the pool's state now when that is safe (see the header's
  // threads paragraph), else posts it to the pool's executor.
  template <class F>
  void now_or_posted(F f) {
    if (executor_.single_threaded() || executor_.running_in_this_thread()) {
      f(*this);
      return;
    }
    asio::post(executor_.get(), [self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
  }

  const serial_executor& executor() const noexcept { return executor_; }

  pool_stats stats() const noexcept {
    pool_stats s = stats_;
    s.idle = idle_.size();
    s.in_use = in_use_;
    s.connecting = connecting_;
    s.recovering = recovering_;
    s.waiting = waiters_.size();
    s.database_down = down_;
    return s;
  }
  const pool_config& config() const noexcept { return config_; }
  bool known_down() const noexcept { return down_; }

 private:
  struct waiter {
    asio::steady_timer timer;
    clock::time_point alive_since;
    bool shared;  // a shared loan will do
    std::shared_ptr<pg_connection> conn;
    std::optional<db_error> error;
    bool queued = true;
  };

  struct shared_loan {
    std::shared_ptr<pg_connection> conn;
    std::size_t borrowers;
  };

  static db_error cancelled() { return db_error{errc::cancelled, "the caller stopped waiting for a connection", {}}; }

  std::size_t open_count() const noexcept { return idle_.size() + in_use_ + recovering_; }
  std::size_t total() const noexcept { return open_count() + connecting_; }

  pooled_connection lend(std::shared_ptr<pg_connection> conn, bool shared) {
    ++in_use_;
    ++stats_.acquired;
    shared = shared && may_share(*conn);
    if (shared) start_sharing(conn);
    return pooled_connection(shared_from_this(), std::move(conn), shared);
  }

  // Unnamed statements (behind a pooler in transaction mode) are one round
  // trip per statement by design: such connections are lent whole.
  static bool may_share(const pg_connection& conn) noexcept { return !conn.unnamed_statements(); }

  shared_loan& start_sharing(const std::shared_ptr<pg_connection>& conn) {
    conn->set_shared(true);
    return shared_.emplace_back(shared_loan{conn, 1});
  }

  // Whether a shared connection takes one more borrower: room among its
  // borrowers, and fewer units outstanding than the depth. Units abandoned by
  // callers that left still count, so a connection whose statement is stuck
  // (waiting on a lock, say) takes no new readers, and what one connection
  // holds outstanding stays under twice the depth.
  bool has_room(const shared_loan& l) const noexcept {
    return l.borrowers < config_.pipeline_depth && l.conn->outstanding() < config_.pipeline_depth &&
           l.conn->shareable();
  }

  // A connection already lent for sharing with room for one more borrower (the
  // first in lending order, so that one fills up, and pipelines, before the
  // next is used), or null.
  shared_loan* join_shared(clock::time_point alive_since) {
    for (auto& l : shared_) {
      if (!has_room(l) || l.conn->last_alive() < alive_since) continue;
      ++l.borrowers;
      ++stats_.acquired;
      ++stats_.joined;
      return &l;
    }
    return nullptr;
  }

  // Room on a shared connection: queued waiters that a shared loan will do join it.
  void share_with_waiters(shared_loan& l) {
    for (auto it = waiters_.begin(); it != waiters_.end() && has_room(l);) {
      waiter* w = *it;
      if (!w->shared || l.conn->last_alive() < w->alive_since) {
        ++it;
        continue;
      }
      it = waiters_.erase(it);
      w->queued = false;
      w->conn = l.conn;
      ++l.borrowers;
      ++stats_.acquired;
      ++stats_.joined;
      w->timer.cancel();
    }
  }

  // A usable connection became available: the oldest waiter that may take it gets
  // it (with those after it that may share it, when it takes a shared loan),
  // else it idles.
  void hand_over(std::shared_ptr<pg_connection> conn) {
    if (closed_) return;
    auto it = std::find_if(waiters_.begin(), waiters_.end(),
                           [&](const waiter* w) { return conn->last_alive() >= w->alive_since; });
    if (it == waiters_.end()) {
      idle_.push_back(std::move(conn));
      return;
    }
    waiter* w = *it;
    waiters_.erase(it);
    w->queued = false;
    w->conn = conn;
    ++in_use_;
    ++stats_.acquired;
    w->timer.cancel();
    w->shared = w->shared && may_share(*conn);
    if (w->shared) share_with_waiters(start_sharing(conn));
  }

  void drop(std::shared_ptr<pg_connection> conn) {
    ++stats_.dropped;
    conn.reset();
    // The last open connection just died and the last connect attempt failed:
    // that is an outage, and the waiters hear it now, not at their deadlines.
    if (open_count() == 0 && connecting_ == 0 && backoff_.delay() > clock::duration::zero()) {
      enter_outage(db_error{errc::connection_failed, last_connect_error_, {}});
      return;
    }
    open_connections_if_needed();
  }

  // Opens connections for waiters nobody is opening one for, within the limits.
  void open_connections_if_needed() {
    if (closed_ || down_) return;
    const auto now = clock::now();
    while (connecting_ < waiters_.size() && total() < config_.max_size && connecting_ < config_.max_connecting) {
      if (!backoff_.may_attempt(now)) {
        schedule_retry();
        return;
      }
      start_connect();
    }
  }

  void schedule_retry() {
    if (retry_scheduled_) return;
    retry_scheduled_ = true;
    retry_timer_.expires_at(backoff_.next_attempt());
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
      self->retry_scheduled_ = false;
      if (self->closed_) return;
      if (self->down_) {
        // One probe at a time while the database is down.
        if (self->connecting_ == 0) self->start_connect();
        return;
      }
      self->open_connections_if_needed();
    });
  }

  // While down, a background attempt is always on its way or scheduled.
  void schedule_probe() {
    if (closed_ || connecting_ > 0) return;
    schedule_retry();
  }

  void enter_outage(const db_error& cause) {
    down_ = true;
    fail_waiters(cause);
    schedule_probe();
  }

  void start_connect() {
    ++connecting_;
    asio::co_spawn(executor_.get(), connect_one(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> connect_one(std::shared_ptr<pool_state> self) {
    auto conn = std::make_shared<pg_connection>(self->executor_.get());
    const auto deadline = clock::now() + self->config_.connect_timeout;
    auto opened = co_await conn->connect(self->config_.conninfo, deadline);
    bool unnamed = self->config_.statements == statement_mode::unnamed;
    if (opened && self->config_.statements == statement_mode::automatic) {
      // Through pgbouncer (or another pooler) the pid libpq was given at connect
      // is the pooler's invention; the server's own answer differs from it.
      auto pid = co_await conn->execute_script("SELECT pg_backend_pid()", deadline);
      if (!pid) opened = pid.error();
      else unnamed = pid->rows() != 1 || pid->bytes(0, 0) != std::to_string(conn->backend_pid());
    }
    if (opened && unnamed) {
      conn->use_unnamed_statements(self->statement_prelude_);
    } else if (opened) {
      auto setup = co_await conn->execute_script(self->session_setup_, deadline);
      if (!setup) opened = setup.error();
    }
    --self->connecting_;
    if (!opened) {
      ++self->stats_.connect_failures;
      self->last_connect_error_ = opened.error().message;
      self->backoff_.on_failure(clock::now());
      if (self->closed_) co_return;
      // Nothing open and nothing else on its way: the database is unreachable.
      // Tell the waiters now rather than letting each run into its deadline, and
      // refuse new requests at once until a background attempt gets through.
      if (self->total() == 0) {
        self->enter_outage(opened.error());
        co_return;
      }
      self->open_connections_if_needed();
      co_return;
    }
    ++self->stats_.connects;
    self->stats_.unnamed_statements = unnamed;
    self->backoff_.on_success();
    self->down_ = false;
    self->last_connect_error_.clear();
    self->hand_over(std::move(conn));
    // Waiters may have queued while this one was connecting (e.g. the probe).
    self->open_connections_if_needed();
  }

  static asio::awaitable<void> recover_one(std::shared_ptr<pool_state> self, std::shared_ptr<pg_connection> conn) {
    const bool ok = co_await conn->recover(clock::now() + self->config_.cancel_timeout);
    --self->recovering_;
    if (self->closed_) co_return;
    if (!ok) {
      self->drop(std::move(conn));
      co_return;
    }
    ++self->stats_.recovered;
    self->hand_over(std::move(conn));
  }

  void fail_waiters(const db_error& cause) {
    for (waiter* w : waiters_) {
      w->queued = false;
      w->error = db_error{errc::connection_failed, cause.message, cause.sqlstate};
      w->timer.cancel();
    }
    waiters_.clear();
  }

  serial_executor executor_;
  pool_config config_;
  std::string session_setup_;
  std::string statement_prelude_;
  reconnect_backoff backoff_;
  asio::steady_timer retry_timer_;
  bool retry_scheduled_ = false;
  bool closed_ = false;
  bool down_ = false;
  std::vector<std::shared_ptr<pg_connection>> idle_;
  // Connections lent for sharing, and how many borrowers each has.
  std::vector<shared_loan> shared_;
  std::deque<waiter*> waiters_;
  std::size_t in_use_ = 0;
  std::size_t connecting_ = 0;
  std::size_t recovering_ = 0;
  std::string last_connect_error_;
  pool_stats stats_;
};

}  // namespace hookstream::storage::detail

namespace hookstream::storage {

// Why each setting: see pool_state's constructor above.
std::vector<session_setting> session_settings(std::chrono::milliseconds statement_timeout) {
  return {{"statement_timeout", std::to_string(statement_timeout.count()), true},
          // An unnamed statement is planned at every execution whatever it says.
          {"plan_cache_mode", "force_generic_plan", false},
          {"jit", "off", true},
          {"max_parallel_workers_per_gather", "0", true}};
}

std::string session_settings_sql(std::chrono::milliseconds statement_timeout) {
  std::string sql;
  for (const auto& s : session_settings(statement_timeout))
    sql += (sql.empty() ? "SET " : "; SET ") + s.name + " = " + s.value;
  return sql;
}

pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
    shared_ = other.shared_;
  }
  return *this;
}

pooled_connection::~pooled_connection() { give_back(); }

void pooled_connection::give_back() noexcept {
  if (pool_ && conn_) pool_->give_back(std::move(conn_), shared_);
  pool_.reset();
}

connection_pool::connection_pool(boost::asio::any_io_executor executor, pool_config config)
    : state_(std::make_shared<detail::pool_state>(std::move(executor), std::move(config))) {}

connection_pool::~connection_pool() {
  state_->now_or_posted([](detail::pool_state& s) { s.close(); });
}

boost::asio::awaitable<db_result<pooled_connection>> connection_pool::acquire(clock::time_point deadline, loan kind) {
  return state_->executor().run(acquire_here(state_, deadline, clock::time_point::min(), kind));
}

boost::asio::awaitable<db_result<pooled_connection>> connection_pool::acquire_here(shared_state state,
                                                                                  clock::time_point deadline,
                                                                                  clock::time_point alive_since,
                                                                                  loan kind) {
  // `state` (a parameter, so in this frame) holds the pool for the whole wait.
  co_return co_await detail::reporting_cancellation(state->acquire(deadline, alive_since, kind));
}

void connection_pool::warm_up(std::size_t count) {
  state_->now_or_posted([count](detail::pool_state& s) { s.warm_up(count); });
}
pool_stats connection_pool::stats() const noexcept { return state_->stats(); }
bool connection_pool::known_down() const noexcept { return state_->known_down(); }
const pool_config& connection_pool::config() const noexcept { return state_->config(); }
void connection_pool::close() {
  state_->now_or_posted([](detail::pool_state& s) { s.close(); });
}
const serial_executor& connection_pool::executor() const noexcept { return state_->executor(); }
const serial_executor& connection_pool::executor_of(const detail::pool_state& state) noexcept {
  return state.executor();
}
void connection_pool::count_retry(detail::pool_state& state) noexcept { state.count_retry(); }

}  // namespace hookstream::storage
