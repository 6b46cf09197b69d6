// Accepts HTTP/1.1 connections on one io_context and serves them with an
// api_handler: one coroutine per connection, keep-alive, and a deadline on every
// read and write.
//
// Limits: header and body sizes (431/413 past them), at most `max_connections`
// open connections per listener (further ones are accepted and closed at once, so
// the kernel backlog cannot hide overload), `read_timeout` for each request
// (including the keep-alive wait for the next one), `write_timeout` per response.
//
// Shutdown (`begin_shutdown`): stop accepting, close connections that sit between
// requests, let requests in flight finish (their answer says Connection: close),
// and call `on_drained` once no connection is left. Past `shutdown_timeout` the
// remaining connections are closed forcibly. Call it on the io_context's thread
// (e.g. through asio::post).
#pragma once

#include <hookstream/server/api_handler.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <list>
#include <memory>

namespace hookstream::server {

struct listener_config {
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds shutdown_timeout{10000};
  std::size_t max_connections = 10000;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 64 * 1024;
};

class http_listener {
 public:
  /// Binds and listens at once (throws boost::system::system_error on failure).
  /// With `reuse_port`, several listeners (one per thread) share the port.
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, api_handler& handler,
                listener_config config, bool reuse_port);
  ~http_listener();

  /// The bound port (useful after binding port 0).
  unsigned short port() const;
  /// Starts accepting (on the io_context's thread).
  void start();
  void begin_shutdown(std::function<void()> on_drained);
  std::size_t open_connections() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace hookstream::server
