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
// Admission: mounted on an api_handler that runs on `io`, the listener waits
// for an API request's place at the handler's admission gate as soon as the
// request is parsed, before it calls the handler (api_handler::admission): a
// request in line holds only its parsed bytes and a node of the gate's queue.
// A client that hangs up meanwhile is found gone when its turn comes (one
// peek at its socket): the request is dropped, logged with its id, and its
// place goes to the next one.
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
// remaining connections are closed forcibly.
//
// Threads: the listener and all its connections run on one serial executor
// (storage/serial_executor.hpp): the handler's own when it mounts an
// api_handler of the same io_context (no hop per request), else one made from
// `io` (a strand unless `io` was constructed with concurrency hint 1). So `io`
// may be run by any number of threads. For HTTP work on several cores at once,
// run one listener per thread or strand with `reuse_port` (as hookstream-server
// does). `start` and `begin_shutdown` may be called from any thread (they are
// dispatched to the listener's executor; `on_drained` runs there); `port` and
// `open_connections` too.
//
// Lifetimes: connections hold the listener's state, so the listener object may
// be destroyed before they end. Destroying it begins the shutdown (without a
// callback) unless `begin_shutdown` was called: it stops accepting, so the
// io_context runs out of work once the connections end. A mounted api_handler is kept alive by them
// (see api_handler::as_request_handler); a plain `request_handler` must keep
// whatever it refers to alive until `on_drained`.
//
// Streams and threads: a stream's body runs on the listener's executor. A
// mounted api_handler serves the live tail only when the listener shares its
// executor (the handler's pool runs on `io`); mounted from another io_context,
// its stream route answers 501 like `handle`'s.
#pragma once

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_types.hpp>
#include <hookstream/storage/serial_executor.hpp>

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

class http_listener {
 public:
  /// Binds and listens at once (throws boost::system::system_error on failure).
  /// With `reuse_port`, several listeners (one per thread) share the port.
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, request_handler handler,
                listener_config config, bool reuse_port);
  /// The same for a handler that may answer with streamed responses; it must
  /// keep whatever it refers to alive until `on_drained`.
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
                streaming_request_handler handler, listener_config config, bool reuse_port);
  /// Serves `handler` (its state stays alive while connections need it),
  /// streams included (api_handler::serve) when it runs on `io`.
  http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, api_handler& handler,
                listener_config config, bool reuse_port);
  ~http_listener();

  /// The bound port (useful after binding port 0).
  unsigned short port() const;
  /// Starts accepting.
  void start();
  void begin_shutdown(std::function<void()> on_drained);
  std::size_t open_connections() const noexcept;
  /// Streamed responses being written now.
  std::size_t open_streams() const noexcept;
  /// The executor the listener and its connections run on.
  const storage::serial_executor& executor() const noexcept;

 private:
  http_listener(storage::serial_executor executor, const boost::asio::ip::tcp::endpoint& endpoint,
                streaming_request_handler handler, listener_config config, bool reuse_port);

  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace hookstream::server
