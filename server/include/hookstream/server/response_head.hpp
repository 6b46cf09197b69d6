// The head of an HTTP/1.x response (status line and header fields) as bytes,
// for http_listener's writes.
//
// Why not beast's serializer: it walks the head and the body through nested
// buffer-sequence views (buffers_cat_view, buffers_suffix, buffers_prefix),
// and for a small answer that walk was about a sixth of the server's
// instructions per request (callgrind, an event page of 4 rows: about 16,000
// of 103,000). The head rendered here is byte for byte what beast's serializer
// writes (tests/unit/response_head_test.cpp compares them); the body follows
// it unchanged in the same write, so a response must carry its own framing
// (Content-Length, as prepare_payload sets it). A chunked response written
// whole is left to beast (needs_serializer); a streamed response's head, which
// is chunked, is rendered here too, and its chunks are written by the stream.
#pragma once

#include <hookstream/server/http_types.hpp>

#include <string>

namespace hookstream::server {

/// True when `response` must go through beast's serializer: it is chunked,
/// so its body is written in chunks rather than as it is.
bool needs_serializer(const http_response& response) noexcept;

/// "HTTP/1.1 200 OK\r\n", each field as "Name: value\r\n", then "\r\n": the
/// status line's reason is the response's own, else the status code's usual
/// one.
std::string response_head(const http_response& response);

}  // namespace hookstream::server
