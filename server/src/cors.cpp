#include "cors.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>

namespace hookstream::server {
namespace http = boost::beast::http;

http_response cors_policy::preflight_response(const std::string& request_id) {
  http_response res{http::status::no_content, 11};
  res.set("X-Request-Id", request_id);
  res.set(http::field::allow, "GET, OPTIONS");
  res.prepare_payload();
  return res;
}

void cors_policy::add_headers(const http_request& req, http_response& res) const {
  if (origins_.empty()) return;
  res.set(http::field::vary, "Origin");
  auto it = req.find(http::field::origin);
  if (it == req.end()) return;
  const std::string_view origin = it->value();
  if (std::find(origins_.begin(), origins_.end(), origin) == origins_.end()) return;
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_allow_credentials, "true");
  if (req.method() == http::verb::options) {
    res.set(http::field::access_control_allow_methods, "GET, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Authorization, X-API-Key, X-Env-Id, X-Request-Id, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
  } else {
    res.set(http::field::access_control_expose_headers,
            "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After");
  }
}

}  // namespace hookstream::server
