#include "live_tail_shard.hpp"

#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/live_tail.hpp>
#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/reconnect_backoff.hpp>
#include <hookstream/storage/serial_executor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>

namespace hookstream::server {
namespace asio = boost::asio;
using storage::clock;
using storage::event_position;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Pruning deletes at most this many events per statement (a short
// transaction: while it runs, it holds back the horizon of every reader), and
// at most this many statements per pass. The statements of a pass take turns
// with the reads (one statement per turn of the reading loop, the log read
// again before the next), so events wait behind one statement of a pass over a
// backlog, not behind the whole pass.
constexpr int prune_batch = 5000;
constexpr int prune_rounds = 20;

// While committed events wait behind an older transaction, or a writer that
// may have skipped its NOTIFY is still open, look again after this, doubling
// up to the maximum (no NOTIFY may announce that it ended).
constexpr std::chrono::milliseconds held_back_first{5};
constexpr std::chrono::milliseconds held_back_max{100};
}  // namespace

// The hub's work on its executor: the connection, the reads, the fan-out.
struct live_tail_hub::reader : std::enable_shared_from_this<reader> {
  reader(asio::any_io_executor ex, live_tail_config c)
      : executor(std::move(ex)), config(std::move(c)), names(config.route_names) {}

  asio::any_io_executor executor;
  live_tail_config config;
  storage::route_name_cache names;
  asio::cancellation_signal stop_signal;
  bool stopping = false;  // on the executor

  // Shards and the horizon they were told, together: a shard attached later
  // starts exactly where the batches it will get start.
  std::mutex mutex;
  std::vector<std::shared_ptr<live_tail_shard>> shards;
  std::optional<event_position> horizon;

  std::atomic<std::uint64_t> events_read{0}, reads{0}, connects{0}, failures{0}, pruned{0};
  std::atomic<bool> connected{false};

  asio::awaitable<void> run();
  // What a drain saw: events it published, committed events it had to leave
  // behind an older open transaction, writing transactions open before it read.
  struct drained_log {
    bool found = false;
    bool held_back = false;
    bool writers_open = false;
  };
  asio::awaitable<storage::db_result<drained_log>> drain(storage::pg_connection& conn);
  // One prune statement; true when it deleted a whole batch (more may be due).
  asio::awaitable<bool> prune_once(storage::pg_connection& conn);
  asio::awaitable<void> pause(asio::steady_timer& timer, clock::duration d) {
    timer.expires_after(d);
    co_await timer.async_wait(use_tuple);
  }
  std::shared_ptr<live_batch> render(const storage::event_batch& read, event_position begin) const;
  void publish_start(event_position h);
  void publish(std::shared_ptr<const live_batch> batch);
};

asio::awaitable<void> live_tail_hub::reader::run() {
  co_await asio::this_coro::throw_if_cancelled(false);
  storage::pg_connection conn(executor);
  conn.set_fallback_application_name("hookstream-live-tail");
  storage::reconnect_backoff backoff(std::chrono::milliseconds(100), config.reconnect_backoff_max);
  // Reads that fail on a connection that works (e.g. migrations not applied
  // yet) are retried at the same pace, and reported once per streak.
  storage::reconnect_backoff read_backoff(std::chrono::milliseconds(100), config.reconnect_backoff_max);
  asio::steady_timer timer(executor);
  auto next_prune = clock::now() + config.prune_interval;
  int prune_statements_left = 0;  // in the current pass
  auto held_delay = held_back_first;
  bool reported_down = false;

  while (!stopping) {
    if (!conn.usable()) {
      connected = false;
      if (!backoff.may_attempt(clock::now())) {
        co_await pause(timer, backoff.next_attempt() - clock::now());
        continue;
      }
      const auto deadline = clock::now() + config.connect_timeout;
      auto opened = co_await conn.connect(config.conninfo, deadline);
      if (opened) {
        // The pool's session settings: without `jit = off`, the read's generic
        // plan (estimated for a log of millions of events) was compiled by
        // LLVM at every read: 11 ms against 0.05 ms per read (psql, prepared,
        // the bench database's 3.2M events). LISTEN before the first read:
        // whatever commits after that read's snapshot is announced to this
        // session.
        auto listening = co_await conn.execute_script(
            storage::session_settings_sql(config.query_timeout) + "; LISTEN " + storage::attempt_events_channel,
            deadline);
        if (!listening) opened = listening.error();
      }
      if (!opened) {
        if (stopping) break;
        ++failures;
        backoff.on_failure(clock::now());
        if (!reported_down)
          std::fprintf(stderr, "live tail: cannot listen to the database (%s); retrying in the background\n",
                       opened.error().message.c_str());
        reported_down = true;
        conn.close();
        continue;
      }
      backoff.on_success();
      ++connects;
      connected = true;
      if (reported_down) std::fprintf(stderr, "live tail: listening to the database again\n");
      reported_down = false;
      if (!horizon) {
        auto start = co_await storage::read_event_horizon(conn, clock::now() + config.query_timeout);
        if (!start) {
          if (stopping) break;
          ++failures;
          backoff.on_failure(clock::now());
          conn.close();
          continue;
        }
        publish_start(*start);
      }
      // Events committed while we were away are in the table: the drain below
      // reads them from the horizon, NOTIFY or not.
    }

    auto drained = co_await drain(conn);
    if (stopping) break;
    if (!drained) {
      ++failures;
      if (read_backoff.delay() == clock::duration::zero())
        std::fprintf(stderr, "live tail: reading the event log failed: %s; retrying\n",
                     drained.error().message.c_str());
      read_backoff.on_failure(clock::now());
      conn.close();
      co_await pause(timer, read_backoff.delay());
      continue;
    }
    read_backoff.on_success();

    if (prune_statements_left == 0 && config.prune_interval.count() > 0 && clock::now() >= next_prune) {
      prune_statements_left = prune_rounds;
      next_prune = clock::now() + config.prune_interval;
    }
    if (prune_statements_left > 0) {
      const bool more = co_await prune_once(conn);
      prune_statements_left = more ? prune_statements_left - 1 : 0;
      if (stopping) break;
      // Read again before the pass's next statement, without waiting.
      if (!conn.usable() || prune_statements_left > 0) continue;
    }

    // Writers skip their NOTIFY while another writer's is pending (0040). Such
    // a writer was open when the drain began (it wrote before the notifying
    // transaction committed, and the drain began after that): while writers
    // are open, look again soon, backing off, until a drain begins with none.
    // After a read that found events, look once more soon in any case.
    clock::duration wait = drained->found ? config.follow_up : config.poll_interval;
    if (drained->held_back || drained->writers_open) {
      wait = std::min<clock::duration>(wait, held_delay);
      held_delay = std::min(held_delay * 2, held_back_max);
    } else {
      held_delay = held_back_first;
    }
    auto notified = co_await conn.wait_for_notification(clock::now() + wait);
    if (stopping) break;
    if (!notified) {
      ++failures;
      std::fprintf(stderr, "live tail: the listening connection broke: %s\n", notified.error().message.c_str());
      conn.close();
      continue;
    }
    if (*notified && config.coalesce.count() > 0) co_await pause(timer, config.coalesce);
  }
  connected = false;
}

asio::awaitable<storage::db_result<live_tail_hub::reader::drained_log>> live_tail_hub::reader::drain(
    storage::pg_connection& conn) {
  // A read brings at most a quarter of a subscriber's buffer: a burst read in
  // one go must not overflow subscribers that keep up.
  const storage::event_read_limits limits{
      std::max(1, std::min<int>(config.read_events, static_cast<int>(config.subscriber_buffer_events / 4))),
      config.field_bytes,
      std::max<std::int64_t>(1, std::min<std::int64_t>(config.read_bytes,
                                                        static_cast<std::int64_t>(config.subscriber_buffer_bytes / 4)))};
  drained_log seen;
  // Asked before the first read's snapshot is taken: a writer not open now has
  // committed into it (writers_in_progress in attempt_event_log.hpp).
  const auto open = co_await storage::writers_in_progress(conn, clock::now() + config.query_timeout);
  if (!open) co_return open.error();
  seen.writers_open = *open;
  for (;;) {
    event_position from;
    {
      std::lock_guard lock(mutex);
      from = *horizon;
    }
    const auto deadline = clock::now() + config.query_timeout;
    auto read = co_await storage::read_events(conn, from, limits, deadline);
    if (!read) co_return read.error();
    ++reads;
    if (read->rows.size() > 0) {
      seen.found = true;
      events_read += static_cast<std::uint64_t>(read->rows.size());
      if (auto named = co_await names.resolve_each_tenant(conn, read->rows, deadline); !named)
        co_return named.error();
    }
    if (read->horizon > from) publish(render(*read, from));
    if (!read->more) {
      seen.held_back = read->held_back;
      co_return seen;
    }
  }
}

std::shared_ptr<live_batch> live_tail_hub::reader::render(const storage::event_batch& read,
                                                          event_position begin) const {
  auto batch = std::make_shared<live_batch>();
  batch->begin = begin;
  batch->end = read.horizon;
  batch->events.reserve(static_cast<std::size_t>(read.rows.size()));
  for (int i = 0; i < read.rows.size(); ++i) {
    const auto& a = read.rows[i];
    live_event& e = batch->events.emplace_back();
    e.position = read.positions[static_cast<std::size_t>(i)];
    e.tenant = {std::string(a.org_id), std::string(a.env_id)};
    e.tenant_key = tenant_key_of(e.tenant);
    e.event_id = a.event_id;
    e.connection_id = a.connection_id;
    e.destination_id = a.destination_id;
    e.status = a.status;
    e.in_dlq = a.is_dlq.value_or(0) == 1;
    e.created_at = a.created_at;
    append_attempt(e.json, a);
    batch->bytes += sizeof(live_event) + e.json.size() + e.tenant_key.size() * 2 + e.event_id.size() +
                    e.connection_id.size() + e.destination_id.size();
  }
  return batch;
}

void live_tail_hub::reader::publish_start(event_position h) {
  std::lock_guard lock(mutex);
  horizon = h;
  for (auto& shard : shards) shard->post_gap(h, h);
}

void live_tail_hub::reader::publish(std::shared_ptr<const live_batch> batch) {
  std::lock_guard lock(mutex);
  horizon = batch->end;
  for (auto& shard : shards) {
    if (shard->lagging) {
      // It gets nothing until it has taken what it had; then it learns what
      // it missed (its subscribers overflow and resume from the table).
      if (shard->backlog() > 0) continue;
      shard->post_gap(shard->lag_from, batch->begin);
      shard->lagging = false;
    } else if (batch->bytes > 0 && shard->backlog() + batch->bytes > config.worker_backlog_bytes) {
      std::fprintf(stderr, "live tail: a worker fell %zu bytes behind; its subscribers will resume from the log\n",
                   shard->backlog());
      shard->lagging = true;
      shard->lag_from = batch->begin;
      continue;
    }
    shard->post_batch(batch);
  }
}

asio::awaitable<bool> live_tail_hub::reader::prune_once(storage::pg_connection& conn) {
  auto gone = co_await storage::prune_events(conn, config.retention, prune_batch, clock::now() + config.query_timeout);
  if (!gone) {
    std::fprintf(stderr, "live tail: pruning the event log failed: %s\n", gone.error().message.c_str());
    co_return false;
  }
  pruned += static_cast<std::uint64_t>(*gone);
  co_return *gone == prune_batch;
}

// --- live_tail_hub ---------------------------------------------------------------

live_tail_hub::live_tail_hub(asio::any_io_executor executor, live_tail_config config)
    : config_(std::move(config)),
      cursors_(config_.cursor_secret),
      // Serial whatever the application's thread layout (serial_executor.hpp).
      executor_(storage::serial_executor(std::move(executor)).get()),
      reader_(std::make_shared<reader>(executor_, config_)) {}

live_tail_hub::~live_tail_hub() = default;

void live_tail_hub::start() {
  asio::post(executor_, [r = reader_] {
    asio::co_spawn(r->executor, r->run(), asio::bind_cancellation_slot(r->stop_signal.slot(), [r](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::fprintf(stderr, "live tail: unexpected exception: %s\n", ex.what());
                     }
                   }));
  });
}

void live_tail_hub::stop() {
  asio::post(executor_, [r = reader_] {
    if (r->stopping) return;
    r->stopping = true;
    r->stop_signal.emit(asio::cancellation_type::terminal);
  });
}

std::shared_ptr<live_tail_shard> live_tail_hub::attach(asio::any_io_executor worker) {
  auto shard = std::make_shared<live_tail_shard>(std::move(worker), cursors_);
  std::lock_guard lock(reader_->mutex);
  reader_->shards.push_back(shard);
  if (reader_->horizon) shard->post_gap(*reader_->horizon, *reader_->horizon);
  return shard;
}

void live_tail_hub::detach(const std::shared_ptr<live_tail_shard>& shard) {
  std::lock_guard lock(reader_->mutex);
  auto& list = reader_->shards;
  list.erase(std::remove(list.begin(), list.end(), shard), list.end());
}

std::variant<subscription_ticket, admission_refusal> live_tail_hub::admit(const storage::tenant_id& tenant) {
  std::string key = tenant_key_of(tenant);
  std::lock_guard lock(admission_mutex_);
  if (subscribers_ >= config_.max_subscribers) {
    refused_process_.fetch_add(1, std::memory_order_relaxed);
    return admission_refusal::process_limit;
  }
  auto& n = per_tenant_[key];
  if (n >= config_.max_subscribers_per_tenant) {
    if (n == 0) per_tenant_.erase(key);
    refused_tenant_.fetch_add(1, std::memory_order_relaxed);
    return admission_refusal::tenant_limit;
  }
  ++n;
  ++subscribers_;
  return subscription_ticket(this, std::move(key));
}

void live_tail_hub::release(const std::string& tenant_key) noexcept {
  std::lock_guard lock(admission_mutex_);
  if (auto it = per_tenant_.find(tenant_key); it != per_tenant_.end() && --it->second == 0) per_tenant_.erase(it);
  --subscribers_;
}

live_tail_stats live_tail_hub::stats() const noexcept {
  live_tail_stats s;
  {
    std::lock_guard lock(admission_mutex_);
    s.subscribers = subscribers_;
  }
  const reader& r = *reader_;
  s.events_read = r.events_read.load(std::memory_order_relaxed);
  s.reads = r.reads.load(std::memory_order_relaxed);
  s.listener_connects = r.connects.load(std::memory_order_relaxed);
  s.listener_failures = r.failures.load(std::memory_order_relaxed);
  s.pruned_events = r.pruned.load(std::memory_order_relaxed);
  s.connected = r.connected.load(std::memory_order_relaxed);
  s.overflows = overflows_.load(std::memory_order_relaxed);
  s.refused_tenant_limit = refused_tenant_.load(std::memory_order_relaxed);
  s.refused_process_limit = refused_process_.load(std::memory_order_relaxed);
  return s;
}

// --- subscription_ticket -----------------------------------------------------------

subscription_ticket::subscription_ticket(subscription_ticket&& other) noexcept
    : hub_(std::exchange(other.hub_, nullptr)), key_(std::move(other.key_)) {}

subscription_ticket& subscription_ticket::operator=(subscription_ticket&& other) noexcept {
  if (this != &other) {
    if (hub_) hub_->release(key_);
    hub_ = std::exchange(other.hub_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

subscription_ticket::~subscription_ticket() {
  if (hub_) hub_->release(key_);
}

}  // namespace hookstream::server
