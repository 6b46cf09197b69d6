#include "response_compression.hpp"

#include <hookstream/server/gzip.hpp>

#include <boost/beast/http/field.hpp>

namespace hookstream::server {
namespace http = boost::beast::http;

void compress_if_accepted(const http_request& req, http_response& res, std::size_t min_bytes) {
  if (min_bytes == 0 || res.body().size() < min_bytes) return;
  res.set(http::field::vary, res[http::field::vary].empty() ? "Accept-Encoding" : "Origin, Accept-Encoding");
  auto it = req.find(http::field::accept_encoding);
  if (it == req.end() || !accepts_gzip(it->value())) return;
  if (auto packed = gzip_compress(res.body())) {
    res.body() = std::move(*packed);
    res.set(http::field::content_encoding, "gzip");
    res.prepare_payload();
  }
}

}  // namespace hookstream::server
