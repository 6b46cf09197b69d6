// The gateway's own HTTP front, written the way Beast's examples write one: an
// accept loop on an io_context that a pool of threads runs, every connection on
// a strand of its own, keep-alive, a deadline on every read and write, and one
// router call per request. hookstream is not involved here: the router decides
// what reaches it (see main.cpp).
#pragma once

#include <hookstream/server/http_types.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>

namespace gateway {

class http_server {
 public:
  /// Binds and listens at once (throws boost::system::system_error).
  http_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
              hookstream::server::request_handler router);
  unsigned short port() const noexcept { return port_; }
  void start();
  /// Stops accepting, closes connections waiting for a request, lets requests
  /// in flight finish, then calls `on_drained` (on some thread of the pool).
  /// Thread-safe.
  void stop(std::function<void()> on_drained);

 private:
  struct connection;
  struct state;
  std::shared_ptr<state> state_;
  unsigned short port_ = 0;
};

}  // namespace gateway
