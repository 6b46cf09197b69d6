#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/server/loop_lag_monitor.hpp>
#include <hookstream/server/server.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace hookstream::server {
namespace asio = boost::asio;

struct server::worker {
  worker(const server_config& cfg, server_metrics& metrics, const metrics_registry& registry,
         const asio::ip::tcp::endpoint& endpoint, const std::shared_ptr<const storage::replica_health>& replicas)
      : io(1),  // concurrency hint 1: this io_context is only ever run by its own thread
        pool(io.get_executor(), cfg.pool),
        replica_pools(make_replica_pools(io, cfg)),
        router(pool, raw(replica_pools), replicas),
        handler(router, cfg.handler, &metrics, &registry),
        listener(io, endpoint, handler, cfg.listener, /*reuse_port=*/true),
        lag(io.get_executor(), metrics, cfg.loop_monitor_period),
        hard_stop(io),
        grace(cfg.listener.shutdown_timeout + std::chrono::seconds(2)) {}

  // One pool per replica per thread, sized like the primary's.
  static std::vector<std::unique_ptr<storage::connection_pool>> make_replica_pools(asio::io_context& io,
                                                                                   const server_config& cfg) {
    std::vector<std::unique_ptr<storage::connection_pool>> pools;
    for (const auto& url : cfg.replica_urls) {
      storage::pool_config p = cfg.pool;
      p.conninfo = url;
      pools.push_back(std::make_unique<storage::connection_pool>(io.get_executor(), std::move(p)));
    }
    return pools;
  }
  static std::vector<storage::connection_pool*> raw(const std::vector<std::unique_ptr<storage::connection_pool>>& v) {
    std::vector<storage::connection_pool*> out;
    for (const auto& p : v) out.push_back(p.get());
    return out;
  }

  asio::io_context io;
  storage::connection_pool pool;
  std::vector<std::unique_ptr<storage::connection_pool>> replica_pools;
  storage::read_router router;
  api_handler handler;
  http_listener listener;
  loop_lag_monitor lag;
  asio::steady_timer hard_stop;
  std::chrono::milliseconds grace;
  std::thread thread;
};

struct server::live_tail_thread {
  explicit live_tail_thread(live_tail_config config)
      : io(1), hub(std::make_shared<live_tail_hub>(io.get_executor(), std::move(config))) {}
  asio::io_context io;
  std::shared_ptr<live_tail_hub> hub;
  std::thread thread;
};

server::server(server_config config) : config_(std::move(config)) {
  // One of each for all workers: limits are per org (or per client address),
  // not per thread, and /readyz asks the database once per process.
  auto& h = config_.handler;
  if (!h.org_limiter) h.org_limiter = std::make_shared<rate_limiter>(h.rate_limit);
  if (!h.auth_failure_limiter) h.auth_failure_limiter = std::make_shared<rate_limiter>(h.auth_failure_limit);
  if (!h.readiness) h.readiness = std::make_shared<readiness_probe>();
  if (!config_.replica_urls.empty()) {
    replicas_ = std::make_shared<storage::replica_health>(config_.replica_urls.size(), config_.max_replica_lag);
    metrics_.set_replica_health(replicas_);
  }
  if (config_.handler.cursor_secret.empty()) {
    // One key for all workers, or a cursor made on one thread fails on another.
    config_.handler.cursor_secret = random_cursor_secret();
    std::fprintf(stderr,
                 "note: no --cursor-secret given; cursors are valid for this process only "
                 "(set HOOKSTREAM_CURSOR_SECRET to share them across restarts and instances)\n");
  }
  if (!h.live_tail) {
    live_tail_config lt = config_.live_tail;
    // Straight to PostgreSQL, like the maintenance: LISTEN needs a session of
    // its own, which a transaction-mode pooler does not keep.
    if (lt.conninfo.empty()) lt.conninfo = maintenance_url(config_);
    lt.cursor_secret = h.cursor_secret;
    lt.field_bytes = h.listing_field_bytes;
    lt.route_names = h.route_names;
    lt.connect_timeout = config_.pool.connect_timeout;
    lt.query_timeout = config_.pool.statement_timeout.count() > 0 ? config_.pool.statement_timeout
                                                                  : std::chrono::milliseconds(5000);
    live_tail_ = std::make_unique<live_tail_thread>(std::move(lt));
    h.live_tail = live_tail_->hub;
  }
  metrics_.set_live_tail(h.live_tail);
}

server::~server() {
  stop();
  wait();
  // Workers detach from the hub first; the hub goes before its io_context.
  workers_.clear();
  config_.handler.live_tail.reset();
  live_tail_.reset();
}

void server::start() {
  unsigned threads = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(config_.listen_address), config_.port);
  for (unsigned i = 0; i < threads; ++i) {
    auto& m = metrics_.add_worker();
    workers_.push_back(std::make_unique<worker>(config_, m, metrics_, endpoint, replicas_));
    // With port 0 the first listener picks a port; the others must share it.
    if (i == 0) endpoint.port(workers_.front()->listener.port());
  }
  if (live_tail_) {
    live_tail_->hub->start();
    live_tail_->thread = std::thread([&io = live_tail_->io] { io.run(); });
  }
  if (replicas_) {
    // One monitor for the process, never per request or per thread.
    storage::replica_monitor_config m;
    // Straight to PostgreSQL when requests go through a pooler: the monitor's
    // connection prepares its statements once (named).
    m.primary_conninfo = maintenance_url(config_);
    m.replica_conninfos = config_.replica_urls;
    m.interval = config_.replica_check_interval;
    m.connect_timeout = std::min(config_.pool.connect_timeout, std::chrono::milliseconds(2000));
    m.query_timeout = std::max(config_.replica_check_interval, std::chrono::milliseconds(1000));
    monitor_ = std::make_unique<storage::replica_monitor>(
        std::move(m), replicas_, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  }
  for (auto& w : workers_) {
    w->pool.warm_up(1);
    for (auto& p : w->replica_pools) p->warm_up(1);
    w->listener.start();
    w->lag.start();
    w->thread = std::thread([&io = w->io] { io.run(); });
  }
}

unsigned short server::port() const { return workers_.empty() ? config_.port : workers_.front()->listener.port(); }

void server::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (monitor_) monitor_->stop();
  if (live_tail_) live_tail_->hub->stop();
  for (auto& w : workers_) {
    worker* wp = w.get();
    asio::post(wp->io, [wp] {
      // Whatever still runs past the grace period (a connect in progress, a
      // handler stuck on a dead database) is abandoned. Armed first: draining
      // may complete synchronously inside begin_shutdown.
      wp->hard_stop.expires_after(wp->grace);
      wp->hard_stop.async_wait([wp](boost::system::error_code ec) {
        if (!ec) wp->io.stop();
      });
      wp->lag.stop();
      wp->listener.begin_shutdown([wp] {
        wp->pool.close();
        for (auto& p : wp->replica_pools) p->close();
        wp->hard_stop.cancel();
      });
    });
  }
}

void server::wait() {
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  if (live_tail_ && live_tail_->thread.joinable()) live_tail_->thread.join();
  if (stopped_ && monitor_) monitor_.reset();  // stops and joins
}

}  // namespace hookstream::server
