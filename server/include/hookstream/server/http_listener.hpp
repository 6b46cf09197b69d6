// Accepts HTTP/1.1 (and 1.0) connections on one io_context and serves them with
// a request handler: one coroutine per connection, keep-alive, and a deadline on
// every read and write.
//
// Limits: header and body sizes (431/413 past them), at most `max_connections`
// open connections per listener (further ones are accepted and closed at once, so
// the kernel backlog cannot hide overload), `read_timeout` for each request
// (including the keep-alive wait for the next one), `write_timeout` per response.
//
// Framing (RFC 9112): a request with both Transfer-Encoding and Content-Length,
// a Transfer-Encoding whose last coding is not chunked, or an HTTP/1.1 request
// without Host is answered 400 and its connection closed before any body is read.
//
// A client that closes its connection while its request is being handled
// cancels the handler (terminal cancellation): its database work is abandoned
// instead of running to completion for nobody. An exception that escapes the
// handler is logged with the request id and answered 500; one that escapes the
// connection's own code is logged and ends that connection only.
//
// An answer is either written whole or its connection is closed (the client
// sees a short body against Content-Length); a failed or timed-out write is
// logged with the request id.
//
// Streamed responses (see http_types.hpp): a handler may answer with a
// `streamed_response`; the listener writes its head, runs its body coroutine
// (chunked for HTTP/1.1, close-delimited for HTTP/1.0), watches the socket for
// a hang-up meanwhile, and closes the connection when the body returns. The
// api_handler serves the live tail this way.
//
// Shutdown (`begin_shutdown`): stop accepting, close connections that sit between
// requests, let requests in flight finish (their answer says Connection: close),
// ask streams to end (stop_reason::shutdown plus cancellation of their body), and
// call `on_drained` once no connection is left. Past `shutdown_timeout` the
// remaining connections are closed forcibly. Call it on the io_context's thread
// (e.g. through asio::post).
#pragma once

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_types.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
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

/// What serves a parsed request. It runs on the listener's io_context thread.
using request_handler =
    std::function<boost::asio::awaitable<http_response>(const http_request&, const request_context&)>;
/// The same for handlers that may answer with a streamed response.
using streaming_request_handler =
    std::function<boost::asio::awaitable<handler_result>(const http_request&, const request_context&)>;

class http_listener {
 public:
  /// Binds and listens at once (throws boost::system::system_error on failure).
  /// With `reuse_port`, several listeners (one per thread) share the port.
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, request_handler handler,
                listener_config config, bool reuse_port);
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
                streaming_request_handler handler, listener_config config, bool reuse_port);
  /// Serves `handler` (which must outlive the listener), streams included
  /// (api_handler::serve).
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, api_handler& handler,
                listener_config config, bool reuse_port);
  ~http_listener();

  /// The bound port (useful after binding port 0).
  unsigned short port() const;
  /// Starts accepting (on the io_context's thread).
  void start();
  void begin_shutdown(std::function<void()> on_drained);
  std::size_t open_connections() const noexcept;
  /// Streamed responses being written now.
  std::size_t open_streams() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace hookstream::server
