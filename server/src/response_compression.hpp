// gzip content coding of responses, for clients that accept it.
#pragma once

#include <hookstream/server/http_types.hpp>

#include <cstddef>

namespace hookstream::server {

/// gzips the body of `response` when it has at least `min_bytes` (0 = never) and
/// the request accepts gzip; says `Vary: Accept-Encoding` whenever the answer
/// depends on it. On a zlib failure the body goes out uncompressed.
void compress_if_accepted(const http_request& request, http_response& response, std::size_t min_bytes);

}  // namespace hookstream::server
