// The HTTP message types hookstream's handlers take and return, and what the
// transport tells a handler about a request beyond its bytes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace hookstream::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

/// Facts about a request that only its transport knows.
struct request_context {
  /// The client's address as text ("127.0.0.1", "::1"). It keys the throttle on
  /// failed credential look-ups, so a gateway behind a trusted proxy passes the
  /// address it trusts. Empty: unknown (all such requests share one bucket).
  std::string client_address;
  /// When the transport had the whole request. The handler's deadlines and its
  /// request-duration metric count from here, so that a wait the transport
  /// made before handing the request over counts too. Unset: when the handler
  /// starts.
  std::optional<std::chrono::steady_clock::time_point> received;
  /// What a transport that holds requests back at the handler's admission gate
  /// (api_handler::admission, which http_listener uses) did with this one:
  /// nothing (the handler waits at its gate itself, as for any transport), it
  /// holds the request's place until the handler returns, or the request's
  /// wait ran out (the handler answers 503 busy at once).
  enum class admission_outcome { not_asked, admitted, timed_out };
  admission_outcome admission = admission_outcome::not_asked;
};

// --- Streamed responses ------------------------------------------------------
//
// Most answers are a whole `http_response`. A long-lived answer whose body is
// produced over time (the live tail's Server-Sent Events) is a
// `streamed_response` instead: the transport writes its head, then runs its
// `body` coroutine, which writes pieces of the body through a `body_stream`
// for as long as it likes, and ends the response when `body` returns.
//
// The transport (http_listener) guarantees:
//  - HTTP/1.1: the body is sent chunked, one chunk per `write`, and ended with
//    the last chunk when `body` returns; HTTP/1.0: it is delimited by closing
//    the connection. Either way the connection is closed after a stream.
//  - Every `write` has the transport's write deadline; a failed or timed-out
//    write returns its error (the connection is then unusable: return).
//    A write is never interrupted by the transport's own stop requests, so the
//    body's framing (e.g. whole SSE events) stays intact.
//  - When the client hangs up, or the server shuts down, `stop_requested()`
//    says so and the `body` coroutine receives terminal cancellation through
//    its cancellation slot (a pending timer wait or database operation ends at
//    once). After a shutdown request the body may still write a last piece;
//    the transport closes the connection anyway after its shutdown timeout.
//  - Bytes the client sends during a stream are read and discarded.
// `body` runs on the transport's executor (the handler's thread); exceptions
// escaping it are logged and end the stream.

/// The transport's side of a streamed response, valid while `body` runs.
class body_stream {
 public:
  enum class stop_reason { none, client_gone, shutdown };

  /// Sends `pieces`, in order, as the next part of the body. Returns the error
  /// that ended the write (deadline: boost::beast::error::timeout), or success.
  virtual boost::asio::awaitable<boost::system::error_code> write(
      std::span<const boost::asio::const_buffer> pieces) = 0;
  /// Why the transport wants the body to end, or `none`.
  virtual stop_reason stop_requested() const noexcept = 0;

 protected:
  ~body_stream() = default;
};

/// A response whose body is written after its head, over time.
struct streamed_response {
  /// Status and headers. Its body must be empty; Content-Length and
  /// Transfer-Encoding are the transport's business.
  http_response head;
  std::function<boost::asio::awaitable<void>(body_stream&)> body;
};

/// What a handler that can stream answers.
using handler_result = std::variant<http_response, streamed_response>;

/// What serves a parsed request (api_handler::handle, or a gateway's router).
/// The request and context must stay valid until the returned awaitable completes.
using request_handler =
    std::function<boost::asio::awaitable<http_response>(const http_request&, const request_context&)>;
/// The same for handlers that may answer with a streamed response (api_handler::serve).
using streaming_request_handler =
    std::function<boost::asio::awaitable<handler_result>(const http_request&, const request_context&)>;

}  // namespace hookstream::server
