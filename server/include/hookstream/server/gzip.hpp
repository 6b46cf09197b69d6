// gzip for response bodies (RFC 9110 content coding), with zlib.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookstream::server {

/// True when an Accept-Encoding header value accepts gzip (a `gzip` or `*` token
/// whose q-value is not zero).
bool accepts_gzip(std::string_view accept_encoding) noexcept;

/// gzip-compresses `data` at `level` (1 fastest .. 9 smallest). Nullopt on a
/// zlib failure (the caller then sends the body uncompressed).
std::optional<std::string> gzip_compress(std::string_view data, int level = 1);

}  // namespace hookstream::server
