#include <hookstream/storage/pg_connection.hpp>
#include <hookstream/storage/replica_monitor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <deque>
#include <optional>
#include <thread>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// LSNs as byte positions (pg_lsn minus '0/0' is numeric; int8 holds 8 EiB).
constexpr const char* primary_position_sql = "SELECT (pg_current_wal_lsn() - '0/0')::int8";
// A primary answers false and NULL; the NULL becomes -1 (never fresh).
constexpr const char* replica_position_sql =
    "SELECT pg_is_in_recovery(), coalesce((pg_last_wal_replay_lsn() - '0/0')::int8, -1)";

struct sample {
  clock::time_point at;  // just before the primary was asked
  std::int64_t position;
};
}  // namespace

struct replica_monitor::state {
  replica_monitor_config config;
  std::shared_ptr<replica_health> health;
  log_function log;
  asio::io_context io{1};
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  // Samples of the primary, oldest first; only the monitor's thread touches them.
  std::deque<sample> samples;
  std::thread thread;

  // Kept: every sample younger than the lag bound plus a few periods, and the
  // one just before them, so that a replica up to that far behind still finds
  // its sample; anything older only says "too old", which no sample says too.
  void add_sample(clock::time_point at, std::int64_t position) {
    samples.push_back({at, position});
    const auto keep_from = at - health->max_lag() - 4 * config.interval;
    while (samples.size() > 2 && samples[1].at < keep_from) samples.pop_front();
  }

  // The newest instant whose primary position the replica has replayed.
  std::optional<clock::time_point> fresh_as_of(std::int64_t replayed) const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it)
      if (it->position <= replayed) return it->at;
    return std::nullopt;
  }
};

namespace {
using state = replica_monitor::state;

// Waits until `next`, or until stopped. False when stopping.
asio::awaitable<bool> wait_until(state* s, asio::steady_timer& timer, clock::time_point next) {
  if (s->stopping) co_return false;
  timer.expires_at(next);
  co_await timer.async_wait(use_tuple);
  co_return !s->stopping;
}

asio::awaitable<void> sample_primary(state* s) {
  co_await asio::this_coro::throw_if_cancelled(false);
  pg_connection conn(s->io.get_executor());
  conn.set_fallback_application_name("hookstream-replica-monitor");
  asio::steady_timer timer(s->io);
  bool reported = false;  // a failure was logged and has not recovered since
  auto failed = [&](const db_error& e) {
    if (reported || s->stopping) return;
    reported = true;
    s->log("replica monitor: cannot sample the primary (" + e.message +
           "); replicas are used only while their last known freshness is within the lag bound");
  };
  clock::time_point tick;
  do {
    tick = clock::now();
    if (!conn.usable()) {
      if (auto c = co_await conn.connect(s->config.primary_conninfo, tick + s->config.connect_timeout); !c)
        failed(c.error());
    }
    if (conn.usable()) {
      const auto at = clock::now();
      auto r = co_await conn.execute(primary_position_sql, {}, result_format::binary, at + s->config.query_timeout);
      if (r && r->rows() == 1 && !r->is_null(0, 0)) {
        s->add_sample(at, r->integer(0, 0));
        if (reported) s->log("replica monitor: sampling the primary again");
        reported = false;
      } else if (!r) {
        failed(r.error());
      }
    }
  } while (co_await wait_until(s, timer, tick + s->config.interval));
}

asio::awaitable<void> check_replica(state* s, std::size_t i) {
  co_await asio::this_coro::throw_if_cancelled(false);
  pg_connection conn(s->io.get_executor());
  conn.set_fallback_application_name("hookstream-replica-monitor");
  asio::steady_timer timer(s->io);
  const std::string name = "replica " + std::to_string(i + 1);
  std::string last_verdict;  // logged when it changes (not the figures, the kind)
  auto verdict = [&](const std::string& kind, const std::string& detail) {
    if (kind == last_verdict || s->stopping) return;
    last_verdict = kind;
    s->log("replica monitor: " + name + " " + kind + detail);
  };
  clock::time_point tick;
  do {
    tick = clock::now();
    if (!conn.usable()) {
      if (auto c = co_await conn.connect(s->config.replica_conninfos[i], tick + s->config.connect_timeout); !c) {
        s->health->publish_unreachable(i);
        verdict("unreachable", ": " + c.error().message + "; reads go elsewhere");
        continue;
      }
    }
    auto r = co_await conn.execute(replica_position_sql, {}, result_format::binary, clock::now() + s->config.query_timeout);
    if (!r || r->rows() != 1) {
      s->health->publish_unreachable(i);
      verdict("unreachable", ": " + (r ? std::string("no answer") : r.error().message) + "; reads go elsewhere");
      continue;
    }
    const bool in_recovery = r->boolean(0, 0);
    const auto fresh = in_recovery ? s->fresh_as_of(r->integer(0, 1)) : std::nullopt;
    s->health->publish(i, in_recovery, fresh);
    const auto now = clock::now();
    const auto bound_ms = std::to_string(s->health->max_lag().count());
    if (!in_recovery) {
      verdict("is not in recovery", " (promoted, or not a standby): not used");
    } else if (!fresh) {
      verdict("has an unknown lag", " (no sample of the primary it has replayed): not used");
    } else if (s->health->usable(i, now)) {
      verdict("is usable", " (lag within " + bound_ms + " ms)");
    } else {
      verdict("lags", " by " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - *fresh).count()) +
                          " ms (bound " + bound_ms + " ms): not used");
    }
  } while (co_await wait_until(s, timer, tick + s->config.interval));
}
}  // namespace

replica_monitor::replica_monitor(replica_monitor_config config, std::shared_ptr<replica_health> health,
                                 log_function log)
    : state_(std::make_unique<state>()) {
  state& s = *state_;
  s.config = std::move(config);
  s.health = std::move(health);
  s.log = std::move(log);
  auto spawn = [&](asio::awaitable<void> loop) {
    s.signals.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(s.io, std::move(loop), asio::bind_cancellation_slot(s.signals.back()->slot(), asio::detached));
  };
  spawn(sample_primary(&s));
  for (std::size_t i = 0; i < s.config.replica_conninfos.size() && i < s.health->size(); ++i)
    spawn(check_replica(&s, i));
  s.thread = std::thread([&s] { s.io.run(); });
}

void replica_monitor::stop() {
  if (!state_ || state_->stopping.exchange(true)) return;
  // Every loop ends at once: connects, statements and waits honour terminal
  // cancellation.
  asio::post(state_->io, [s = state_.get()] {
    for (auto& signal : s->signals) signal->emit(asio::cancellation_type::terminal);
  });
}

replica_monitor::~replica_monitor() {
  stop();
  if (state_ && state_->thread.joinable()) state_->thread.join();
}

}  // namespace hookstream::storage
