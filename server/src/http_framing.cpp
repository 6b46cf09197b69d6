#include "http_framing.hpp"

#include <hookstream/encoding/ascii.hpp>

#include <boost/beast/http/field.hpp>

#include <iterator>

namespace hookstream::server {
namespace http = boost::beast::http;

std::string_view framing_error(const http::request_header<>& header) {
  const auto te = header.equal_range(http::field::transfer_encoding);
  if (te.first != te.second) {
    if (header.count(http::field::content_length))
      return "a request must not carry both Transfer-Encoding and Content-Length";
    // The codings of every Transfer-Encoding line, in order.
    int chunked = 0;
    std::string_view last;
    for (auto it = te.first; it != te.second; ++it) {
      std::string_view list = it->value();
      while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view coding = encoding::trim_blanks(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (coding.empty()) continue;
        last = coding;
        if (encoding::iequals(coding, "chunked")) ++chunked;
      }
    }
    if (!encoding::iequals(last, "chunked") || chunked != 1)
      return "unsupported Transfer-Encoding: the last (and only chunked) coding must be chunked";
  }
  if (header.version() >= 11) {
    const auto hosts = header.count(http::field::host);
    if (hosts == 0) return "an HTTP/1.1 request needs a Host header";
    if (hosts > 1) return "a request must carry one Host header";
  }
  return {};
}

}  // namespace hookstream::server
