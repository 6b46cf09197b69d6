// The HTTP message types hookstream's handlers take and return, and what the
// transport tells a handler about a request beyond its bytes.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

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

}  // namespace hookstream::server
