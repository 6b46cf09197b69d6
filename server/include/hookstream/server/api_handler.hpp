// The HTTP API of hookstream as a plain request -> response coroutine.
//
// This is the piece a gateway embeds: give it a connection pool on your
// io_context, mount `handle` on your router (or use http_listener), and it serves
//   GET /v1/delivery-attempts          the filtered, paginated listing
//   GET /v1/delivery-attempts/{id}     one attempt (404 across tenants)
//   GET /healthz, /readyz, /metrics    liveness, database readiness, Prometheus
//   OPTIONS on the API paths           CORS preflight (never touches the database)
//
// Authenticated answers carry RateLimit-Limit/-Remaining/-Reset; past the org's
// limit the answer is 429 with Retry-After.
//
// Every answer carries `X-Request-Id` (a well-formed incoming one is kept); every
// error has the body {"error": "...", "status": N, "request_id": "req_..."}.
// Every database step runs under the request's deadline.
//
// Thread-safety: one api_handler per io_context thread, like its pool.
#pragma once

#include <hookstream/auth/authenticator.hpp>
#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/server/metrics.hpp>
#include <hookstream/server/rate_limiter.hpp>
#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hookstream::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

struct handler_config {
  /// Longest wait for a pooled connection before answering 503.
  std::chrono::milliseconds acquire_timeout{1000};
  /// Budget for all database work of one request (answer 504 past it).
  std::chrono::milliseconds request_timeout{10000};
  /// Key of the cursors' MAC (>= 16 bytes). Every handler that may see another's
  /// cursors (all threads, all instances behind one load balancer) needs the same
  /// one. Empty: a random key of this handler's own, good for tests only.
  std::string cursor_secret;
  /// Credentials: session secrets (cookie auth) and the credential cache.
  auth::authenticator_config auth;
  /// Per-org limit. Share one limiter between all handlers of a process (null:
  /// this handler makes its own from `rate_limit`).
  rate_limit_config rate_limit;
  std::shared_ptr<org_rate_limiter> rate_limiter;
  /// Browser origins allowed to call the API with credentials (CORS); exact
  /// matches such as "https://dashboard.example.com". None by default.
  std::vector<std::string> cors_origins;
  /// gzip bodies of at least this many bytes for clients that accept it
  /// (0 = never compress).
  std::size_t gzip_min_bytes = 1024;
};

class api_handler {
 public:
  /// `pool` must outlive the handler. `metrics` (optional) is this worker's
  /// counters; `registry` (optional) renders /metrics for all workers.
  api_handler(storage::connection_pool& pool, handler_config config, server_metrics* metrics = nullptr,
              const metrics_registry* registry = nullptr);

  /// Answers one request. Never throws for anything a client can send.
  boost::asio::awaitable<http_response> handle(const http_request& request);

 private:
  boost::asio::awaitable<http_response> route(const http_request& request, const std::string& request_id);
  boost::asio::awaitable<http_response> serve_api(const std::string& request_id,
                                                  const storage::tenant_id& tenant, std::string_view path,
                                                  std::string_view query, storage::clock::time_point deadline,
                                                  storage::clock::time_point acquire_deadline);
  void add_cors_headers(const http_request& request, http_response& response) const;
  void maybe_compress(const http_request& request, http_response& response) const;

  storage::connection_pool& pool_;
  handler_config config_;
  cursor_codec cursors_;
  auth::authenticator authenticator_;
  std::shared_ptr<org_rate_limiter> limiter_;
  server_metrics* metrics_;
  const metrics_registry* registry_;
};

/// The request id to use: the incoming X-Request-Id when it is 1-128 characters of
/// [A-Za-z0-9._:-], else a new "req_<32 hex>".
std::string choose_request_id(std::string_view incoming);

}  // namespace hookstream::server
