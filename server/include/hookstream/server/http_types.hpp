// The HTTP message types hookstream's handlers take and return, and what the
// transport tells a handler about a request beyond its bytes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <string>

namespace hookstream::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

/// Facts about a request that only its transport knows.
struct request_context {
  /// The client's address as text ("127.0.0.1", "::1"). It keys the throttle on
  /// failed credential look-ups, so a gateway behind a trusted proxy passes the
  /// address it trusts. Empty: unknown (all such requests share one bucket).
  std::string client_address;
};

/// What serves a parsed request (api_handler::handle, or a gateway's router).
/// The request and context must stay valid until the returned awaitable completes.
using request_handler =
    std::function<boost::asio::awaitable<http_response>(const http_request&, const request_context&)>;

}  // namespace hookstream::server
