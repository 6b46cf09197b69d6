// CORS for the dashboard: only configured origins, with credentials. Answers
// preflights from configuration alone (never the database).
#pragma once

#include <hookstream/server/http_types.hpp>

#include <string>
#include <vector>

namespace hookstream::server {

class cors_policy {
 public:
  /// Exact origins such as "https://dashboard.example.com"; none = CORS off.
  explicit cors_policy(std::vector<std::string> allowed_origins) : origins_(std::move(allowed_origins)) {}

  /// The 204 answer to a preflight (OPTIONS) on an API path; `add_headers`
  /// then adds the Access-Control-Allow-* part for an allowed origin (others
  /// get none, and the browser refuses).
  static http_response preflight_response(const std::string& request_id);

  /// Adds CORS headers to `response` when the request's Origin is allowed.
  void add_headers(const http_request& request, http_response& response) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace hookstream::server
