// A gateway embedding hookstream: it owns the io_context and the thread, hands
// hookstream a connection pool on it, and serves hookstream's routes next to its
// own. Usage: embedded_gateway DATABASE_URL [PORT]   (PORT 0 = any free port)
//
// With --self-test it answers one request of its own route and one of
// hookstream's, prints them and exits: the consumer test builds and runs that.
#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_listener.hpp>
#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http/field.hpp>

#include <cstdio>
#include <string>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using hookstream::server::http_request;
using hookstream::server::http_response;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATABASE_URL [PORT] [--self-test]\n", argv[0]);
    return 2;
  }
  const bool self_test = std::string(argv[argc - 1]) == "--self-test";
  asio::io_context io(1);

  hookstream::storage::pool_config db;
  db.conninfo = argv[1];
  db.max_size = 4;
  hookstream::storage::connection_pool pool(io.get_executor(), db);
  hookstream::server::handler_config api_config;
  api_config.cursor_secret = "gateway-cursor-secret-0123456789";
  hookstream::server::api_handler api(pool, api_config);

  // The gateway's router: its own route, everything else to hookstream.
  auto route = [&](const http_request& req) -> asio::awaitable<http_response> {
    if (req.target() == "/gateway/hello") {
      http_response res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = "hello from the gateway\n";
      res.prepare_payload();
      co_return res;
    }
    co_return co_await api.handle(req);
  };

  if (self_test) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      for (const char* target : {"/gateway/hello", "/healthz", "/v1/delivery-attempts"}) {
        http_request req{http::verb::get, target, 11};
        http_response res = co_await route(req);
        std::printf("%s -> %u %s\n", target, res.result_int(), res.body().c_str());
      }
      pool.close();
    }, asio::detached);
    io.run();
    return 0;
  }

  // Or let hookstream own a port on the gateway's io_context.
  const unsigned short port = argc > 2 ? static_cast<unsigned short>(std::stoi(argv[2])) : 8081;
  hookstream::server::http_listener listener(io, {asio::ip::make_address("127.0.0.1"), port}, api, {}, false);
  listener.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { listener.begin_shutdown([&] { pool.close(); }); });
  std::printf("hookstream mounted on http://127.0.0.1:%u\n", listener.port());
  io.run();
  return 0;
}
