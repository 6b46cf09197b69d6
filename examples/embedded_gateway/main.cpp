// A gateway that embeds hookstream the way gateways are built: one io_context
// run by a pool of threads, its own HTTP front (gateway_server.hpp) and its own
// authentication, and hookstream mounted three ways at once:
//
//   1. your auth:   requests with the gateway's own `X-Gateway-Token` header are
//                   authenticated by the gateway, which then hands hookstream
//                   the tenant (api_handler::handle_for_tenant);
//   2. your router: other /v1/... requests go to hookstream with its own
//                   credential rules (api_handler::handle: X-API-Key, Bearer,
//                   better-auth cookie);
//   3. own port:    hookstream's http_listener serves a port of its own on the
//                   same io_context.
//
// Threads: one pool and api_handler per thread, each on a strand of its own
// (hookstream makes the strand: the io_context has the default concurrency
// hint, so any number of threads may run it). Requests are spread over the
// handlers round-robin; what must be shared between them is shared: the org
// rate limiter, the failed-credential throttle, the readiness probe, the cursor
// secret (a cursor one handler made works on any other) and the metrics registry.
//
// Usage:
//   embedded_gateway --database-url URL [--listen HOST:PORT] [--hookstream-listen HOST:PORT]
//                    [--threads N] [--pool-size N] [--tenant TOKEN=ORG/ENV]...
//                    [--cursor-secret S] [--rate-limit N] [--migrate]
// PORT 0 picks a free port; the bound ports are printed on stdout. SIGINT or
// SIGTERM drains and exits 0.
#include "gateway_server.hpp"

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_errors.hpp>
#include <hookstream/server/http_listener.hpp>
#include <hookstream/server/metrics.hpp>
#include <hookstream/server/rate_limiter.hpp>
#include <hookstream/server/readiness_probe.hpp>
#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/migrations.hpp>
#include <hookstream/version.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/field.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace hs = hookstream::server;
namespace st = hookstream::storage;

namespace {

struct options {
  std::string database_url;
  asio::ip::tcp::endpoint listen{asio::ip::make_address("127.0.0.1"), 8081};
  asio::ip::tcp::endpoint hookstream_listen{asio::ip::make_address("127.0.0.1"), 8082};
  unsigned threads = 4;
  std::size_t pool_size = 2;
  std::map<std::string, st::tenant_id, std::less<>> tenants;  // gateway token -> tenant
  std::string cursor_secret = "embedded-gateway-cursor-secret-change-me";
  std::uint32_t rate_limit = 60000;
  bool migrate = false;
};

asio::ip::tcp::endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT, got " + text);
  return {asio::ip::make_address(text.substr(0, colon)), static_cast<unsigned short>(std::stoul(text.substr(colon + 1)))};
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--database-url") o.database_url = value();
    else if (arg == "--listen") o.listen = parse_endpoint(value());
    else if (arg == "--hookstream-listen") o.hookstream_listen = parse_endpoint(value());
    else if (arg == "--threads") o.threads = static_cast<unsigned>(std::stoul(value()));
    else if (arg == "--pool-size") o.pool_size = std::stoul(value());
    else if (arg == "--cursor-secret") o.cursor_secret = value();
    else if (arg == "--rate-limit") o.rate_limit = static_cast<std::uint32_t>(std::stoul(value()));
    else if (arg == "--migrate") o.migrate = true;
    else if (arg == "--tenant") {
      // TOKEN=ORG/ENV: the gateway's own credential and the tenant it stands for.
      const std::string v = value();
      const auto eq = v.find('='), slash = v.find('/', eq);
      if (eq == std::string::npos || slash == std::string::npos) throw std::invalid_argument("--tenant TOKEN=ORG/ENV");
      o.tenants[v.substr(0, eq)] = st::tenant_id{v.substr(eq + 1, slash - eq - 1), v.substr(slash + 1)};
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (o.database_url.empty()) throw std::invalid_argument("--database-url is required");
  if (o.threads == 0) throw std::invalid_argument("--threads must be at least 1");
  return o;
}

// The gateway's own error shape (not hookstream's): what a client sees when the
// gateway, not hookstream, refuses it.
hs::http_response gateway_refusal(http::status status, std::string_view message) {
  hs::http_response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"gateway_error\":\"" + std::string(message) + "\"}";
  res.prepare_payload();
  return res;
}

// One pool and handler, on a strand of their own.
struct hookstream_shard {
  hookstream_shard(asio::io_context& io, const options& o, const hs::handler_config& shared, hs::server_metrics& m,
                   const hs::metrics_registry& registry)
      : pool(io.get_executor(), pool_config(o)), api(pool, shared, &m, &registry) {}
  static st::pool_config pool_config(const options& o) {
    st::pool_config c;
    c.conninfo = o.database_url;
    c.max_size = o.pool_size;
    return c;
  }
  st::connection_pool pool;
  hs::api_handler api;
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  options opt;
  try {
    opt = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embedded_gateway: %s\n", e.what());
    return 2;
  }
  if (opt.migrate) {
    auto applied = st::migrate_database(opt.database_url, std::chrono::seconds(60));
    if (!applied) {
      std::fprintf(stderr, "migrations failed: %s\n", applied.error().message.c_str());
      return 1;
    }
  }

  // The default concurrency hint: this io_context is run by a pool of threads.
  asio::io_context io;

  // Shared by every handler (see the file comment).
  hs::handler_config shared;
  shared.cursor_secret = opt.cursor_secret;
  shared.rate_limit.limit = opt.rate_limit;
  shared.org_limiter = std::make_shared<hs::rate_limiter>(shared.rate_limit);
  shared.auth_failure_limiter = std::make_shared<hs::rate_limiter>(shared.auth_failure_limit);
  shared.readiness = std::make_shared<hs::readiness_probe>();
  hs::metrics_registry registry;
  std::vector<hs::server_metrics*> metrics;
  for (unsigned i = 0; i < opt.threads; ++i) metrics.push_back(&registry.add_worker());  // before serving starts

  std::vector<std::unique_ptr<hookstream_shard>> shards;
  for (unsigned i = 0; i < opt.threads; ++i)
    shards.push_back(std::make_unique<hookstream_shard>(io, opt, shared, *metrics[i], registry));
  std::atomic<std::size_t> next_shard{0};

  // The gateway's router: its own route, its own authentication, and hookstream.
  auto route = [&](const hs::http_request& req, const hs::request_context& ctx) -> asio::awaitable<hs::http_response> {
    if (req.target() == "/gateway/health") {
      hs::http_response res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = "gateway ok\n";
      res.prepare_payload();
      co_return res;
    }
    hs::api_handler& api = shards[next_shard.fetch_add(1, std::memory_order_relaxed) % shards.size()]->api;
    if (auto token = req.find("X-Gateway-Token"); token != req.end()) {
      // Way 1, your auth: the gateway decides who is calling (a real one checks
      // its JWT or session here) and hands hookstream the tenant.
      const auto known = opt.tenants.find(std::string_view(token->value()));
      if (known == opt.tenants.end()) co_return gateway_refusal(http::status::unauthorized, "unknown gateway token");
      st::tenant_id tenant = known->second;
      co_return co_await api.handle_for_tenant(req, std::move(tenant), ctx);
    }
    // Way 2, your router: hookstream checks the credential itself.
    co_return co_await api.handle(req, ctx);
  };
  gateway::http_server front(io, opt.listen, route);

  // Way 3, own port: hookstream's listener on the same io_context.
  hs::http_listener own_port(io, opt.hookstream_listen, shards.front()->api, {}, /*reuse_port=*/false);

  for (auto& shard : shards) shard->pool.warm_up(1);
  front.start();
  own_port.start();
  std::printf("embedded_gateway with hookstream %s: router on http://%s:%u, hookstream's own port on http://%s:%u, "
              "%u threads\n",
              hookstream::version_string, opt.listen.address().to_string().c_str(), front.port(),
              opt.hookstream_listen.address().to_string().c_str(), own_port.port(), opt.threads);
  std::fflush(stdout);

  // Shutdown order: stop taking requests (the front and the listener drain the
  // requests in flight), then close the pools, which ends their timers and idle
  // connections; with no work left, every thread's run() returns. Past the grace
  // period whatever still runs (a handler stuck on a dead database) is abandoned.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace(io);
  std::atomic<int> draining{2};
  auto one_drained = [&] {
    if (draining.fetch_sub(1) != 1) return;
    for (auto& shard : shards) shard->pool.close();  // any thread: posted to each pool's strand
    grace.cancel();
  };
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    grace.expires_after(std::chrono::seconds(15));
    grace.async_wait([&](boost::system::error_code e) {
      if (!e) io.stop();
    });
    front.stop(one_drained);
    own_port.begin_shutdown(one_drained);
  });

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < opt.threads; ++i) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
  std::size_t still_running = 0;
  for (auto& shard : shards) still_running += shard->api.in_flight();
  std::printf("embedded_gateway stopped (%zu requests abandoned)\n", still_running);
  std::fflush(stdout);
  // Abandoned requests are coroutine frames that refer to the router and the
  // shards: past a hard stop, leave without running destructors.
  if (still_running != 0) std::_Exit(1);
  return 0;
}
