// Message framing rules a server must enforce itself (RFC 9112 sections 3.2,
// 6.1 and 6.3), checked once the header is read and before any body is: a
// request whose body length the server and a proxy in front of it could read
// differently is the opening for request smuggling, so it is refused.
#pragma once

#include <boost/beast/http/message.hpp>

#include <string_view>

namespace hookstream::server {

/// Why the request must be answered 400 and its connection closed; empty when
/// its framing is fine. Refuses: Transfer-Encoding together with
/// Content-Length; a Transfer-Encoding whose last coding is not `chunked` (or
/// that names `chunked` twice); an HTTP/1.1 request without exactly one Host.
std::string_view framing_error(const boost::beast::http::request_header<>& header);

}  // namespace hookstream::server
