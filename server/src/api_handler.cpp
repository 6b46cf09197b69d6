#include <hookstream/auth/authenticator.hpp>
#include <hookstream/encoding/hex.hpp>
#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/gzip.hpp>
#include <hookstream/server/list_query.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <cstdio>
#include <random>

namespace hookstream::server {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using storage::clock;

namespace {

constexpr std::string_view listing_path = "/v1/delivery-attempts";

std::string random_hex(std::size_t bytes) {
  // Request ids need to be unique, not secret: a per-thread PRNG is enough.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (auto& b : raw) b = static_cast<char>(rng());
  return encoding::to_hex(raw);
}

http_response make_response(http::status status, std::string body, const std::string& request_id,
                            std::string_view content_type = "application/json") {
  http_response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.set("X-Request-Id", request_id);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response error_response(http::status status, std::string_view message, const std::string& request_id) {
  std::string body = "{\"error\":";
  append_json_string(body, message);
  body += ",\"status\":" + std::to_string(static_cast<unsigned>(status)) + ",\"request_id\":";
  append_json_string(body, request_id);
  body += '}';
  return make_response(status, std::move(body), request_id);
}

http_response unauthorized(std::string_view message, const std::string& request_id) {
  auto res = error_response(http::status::unauthorized, message, request_id);
  res.set(http::field::www_authenticate, "Bearer realm=\"hookstream\"");
  return res;
}

// The single place where storage errors become HTTP answers. The server's own
// words go to the log with the request id, never to the client.
http_response database_error(const storage::db_error& e, const std::string& request_id) {
  std::fprintf(stderr, "request %s: %s%s%s\n", request_id.c_str(), e.code.message().c_str(),
               e.message.empty() ? "" : ": ", e.message.c_str());
  using storage::errc;
  if (e.code == errc::pool_exhausted || e.code == errc::acquire_timeout) {
    auto res = error_response(http::status::service_unavailable, "the server is busy; retry shortly", request_id);
    res.set(http::field::retry_after, "1");
    return res;
  }
  if (e.code == errc::connection_failed || e.code == errc::pool_closed) {
    auto res = error_response(http::status::service_unavailable, "the database is unavailable; retry shortly",
                              request_id);
    res.set(http::field::retry_after, "1");
    return res;
  }
  if (e.code == errc::query_timeout)
    return error_response(http::status::gateway_timeout, "the query took too long; narrow the filters or retry",
                          request_id);
  return error_response(http::status::internal_server_error, "internal error", request_id);
}

auth::request_credentials credentials_of(const http_request& req) {
  auth::request_credentials c;
  if (auto it = req.find("X-API-Key"); it != req.end()) c.x_api_key = it->value();
  if (auto it = req.find(http::field::authorization); it != req.end()) c.authorization = it->value();
  if (auto it = req.find(http::field::cookie); it != req.end()) c.cookie = it->value();
  if (auto it = req.find("X-Env-Id"); it != req.end()) c.env_id = it->value();
  return c;
}

// Client-facing wording of each authentication failure. Unknown, malformed and
// revoked keys read alike; so do bad signatures, unknown and expired sessions.
http_response auth_failure_response(auth::auth_failure f, const std::string& request_id) {
  using auth::auth_failure;
  switch (f) {
    case auth_failure::missing_credential:
      return unauthorized("missing credentials: send X-API-Key, Authorization: Bearer, or a session cookie",
                          request_id);
    case auth_failure::invalid_api_key: return unauthorized("invalid or revoked API key", request_id);
    case auth_failure::invalid_session: return unauthorized("invalid or expired session", request_id);
    case auth_failure::no_active_organization:
      return unauthorized("the session has no active organization", request_id);
    case auth_failure::not_a_member:
      return unauthorized("the session's user is not a member of its active organization", request_id);
    case auth_failure::environment_forbidden:
      return error_response(http::status::forbidden, "the environment does not belong to your organization",
                            request_id);
  }
  return unauthorized("unauthorized", request_id);
}

void set_rate_limit_headers(http_response& res, const rate_decision& d) {
  res.set("RateLimit-Limit", std::to_string(d.limit));
  res.set("RateLimit-Remaining", std::to_string(d.remaining));
  res.set("RateLimit-Reset", std::to_string(d.reset_s));
}

}  // namespace

std::string choose_request_id(std::string_view incoming) {
  bool ok = !incoming.empty() && incoming.size() <= 128;
  for (char c : incoming) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == ':' || c == '-');
  }
  return ok ? std::string(incoming) : "req_" + random_hex(16);
}

api_handler::api_handler(storage::connection_pool& pool, handler_config config, server_metrics* metrics,
                         const metrics_registry* registry)
    : pool_(pool),
      config_(std::move(config)),
      cursors_(config_.cursor_secret.empty() ? random_cursor_secret() : config_.cursor_secret),
      authenticator_(pool, config_.auth),
      limiter_(config_.rate_limiter ? config_.rate_limiter : std::make_shared<org_rate_limiter>(config_.rate_limit)),
      metrics_(metrics),
      registry_(registry) {}

void api_handler::maybe_compress(const http_request& req, http_response& res) const {
  if (config_.gzip_min_bytes == 0 || res.body().size() < config_.gzip_min_bytes) return;
  auto it = req.find(http::field::accept_encoding);
  res.set(http::field::vary, res[http::field::vary].empty() ? "Accept-Encoding" : "Origin, Accept-Encoding");
  if (it == req.end() || !accepts_gzip(it->value())) return;
  if (auto packed = gzip_compress(res.body())) {
    res.body() = std::move(*packed);
    res.set(http::field::content_encoding, "gzip");
    res.prepare_payload();
  }
}

void api_handler::add_cors_headers(const http_request& req, http_response& res) const {
  if (config_.cors_origins.empty()) return;
  auto it = req.find(http::field::origin);
  res.set(http::field::vary, "Origin");
  if (it == req.end()) return;
  const std::string_view origin = it->value();
  if (std::find(config_.cors_origins.begin(), config_.cors_origins.end(), origin) == config_.cors_origins.end())
    return;
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_allow_credentials, "true");
  if (req.method() == http::verb::options) {
    res.set(http::field::access_control_allow_methods, "GET, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Authorization, X-API-Key, X-Env-Id, X-Request-Id");
    res.set(http::field::access_control_max_age, "600");
  } else {
    res.set(http::field::access_control_expose_headers,
            "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After");
  }
}

asio::awaitable<http_response> api_handler::handle(const http_request& request) {
  const auto started = clock::now();
  std::string request_id;
  if (auto it = request.find("X-Request-Id"); it != request.end()) request_id = choose_request_id(it->value());
  else request_id = choose_request_id({});

  if (metrics_) metrics_->in_flight_delta(1);
  http_response res;
  try {
    res = co_await route(request, request_id);
  } catch (const std::exception& e) {
    // Nothing a client sends should get here; if it does, answer and keep serving.
    std::fprintf(stderr, "request %s: unexpected exception: %s\n", request_id.c_str(), e.what());
    res = error_response(http::status::internal_server_error, "internal error", request_id);
  }
  add_cors_headers(request, res);
  maybe_compress(request, res);
  if (metrics_) {
    metrics_->in_flight_delta(-1);
    metrics_->observe_request(res.result_int(), clock::now() - started);
    metrics_->publish_pool(pool_.stats());
  }
  co_return res;
}

asio::awaitable<http_response> api_handler::route(const http_request& req, const std::string& request_id) {
  const std::string_view target = req.target();
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query = qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);

  const bool is_listing = path == listing_path;
  const bool is_single = path.size() > listing_path.size() + 1 && path.starts_with(listing_path) &&
                         path[listing_path.size()] == '/';
  const bool known = is_listing || is_single || path == "/healthz" || path == "/readyz" || path == "/metrics";
  if (!known) co_return error_response(http::status::not_found, "no such endpoint", request_id);
  if (req.method() == http::verb::options && (is_listing || is_single)) {
    // CORS preflight: answered from configuration alone (add_cors_headers adds
    // the Allow-Origin part for allowed origins; others get no CORS headers, and
    // the browser refuses).
    http_response res{http::status::no_content, 11};
    res.set("X-Request-Id", request_id);
    res.set(http::field::allow, "GET, OPTIONS");
    res.prepare_payload();
    co_return res;
  }
  if (req.method() != http::verb::get) {
    auto res = error_response(http::status::method_not_allowed, "only GET is allowed here", request_id);
    res.set(http::field::allow, "GET");
    co_return res;
  }

  if (path == "/healthz") co_return make_response(http::status::ok, "{\"status\":\"ok\"}", request_id);
  if (path == "/metrics") {
    co_return make_response(http::status::ok, registry_ ? registry_->render_prometheus() : std::string(),
                            request_id, "text/plain; version=0.0.4");
  }

  const auto deadline = clock::now() + config_.request_timeout;
  const auto acquire_deadline = std::min(deadline, clock::now() + config_.acquire_timeout);

  if (path == "/readyz") {
    auto conn = co_await pool_.acquire(acquire_deadline);
    if (!conn) co_return database_error(conn.error(), request_id);
    auto ping = co_await (*conn)->execute("SELECT 1", {}, storage::result_format::binary, deadline);
    if (!ping) co_return database_error(ping.error(), request_id);
    co_return make_response(http::status::ok, "{\"status\":\"ready\"}", request_id);
  }

  // Both API routes: refuse requests without a credential before touching the pool.
  const auto creds = credentials_of(req);
  if (!auth::has_credentials(creds, authenticator_.cookies_enabled()))
    co_return auth_failure_response(auth::auth_failure::missing_credential, request_id);
  auto who = co_await authenticator_.authenticate(creds, acquire_deadline, deadline);
  if (auto* err = std::get_if<auth::auth_error>(&who)) {
    if (auto* db = std::get_if<storage::db_error>(err)) co_return database_error(*db, request_id);
    co_return auth_failure_response(std::get<auth::auth_failure>(*err), request_id);
  }
  const auto& tenant = std::get<storage::tenant_id>(who);

  const rate_decision limit = limiter_->take(tenant.org_id);
  if (!limit.allowed) {
    auto res = error_response(http::status::too_many_requests,
                              "rate limit exceeded for your organization; retry after " +
                                  std::to_string(limit.retry_after_s) + " s",
                              request_id);
    res.set(http::field::retry_after, std::to_string(limit.retry_after_s));
    set_rate_limit_headers(res, limit);
    co_return res;
  }
  auto res = co_await serve_api(request_id, tenant, path, query, deadline, acquire_deadline);
  if (limiter_->enabled()) set_rate_limit_headers(res, limit);
  co_return res;
}

asio::awaitable<http_response> api_handler::serve_api(const std::string& request_id, const storage::tenant_id& tenant,
                                                      std::string_view path, std::string_view query,
                                                      clock::time_point deadline, clock::time_point acquire_deadline) {
  const bool is_single = path != listing_path;
  auto conn = co_await pool_.acquire(acquire_deadline);
  if (!conn) co_return database_error(conn.error(), request_id);

  if (is_single) {
    const std::string_view id = path.substr(listing_path.size() + 1);
    if (id.size() > 128 || id.find('/') != std::string_view::npos)
      co_return error_response(http::status::not_found, "no such delivery attempt", request_id);
    auto rows = co_await storage::find_attempt(**conn, tenant, id, deadline);
    if (!rows) co_return database_error(rows.error(), request_id);
    if (rows->size() == 0) co_return error_response(http::status::not_found, "no such delivery attempt", request_id);
    co_return make_response(http::status::ok, render_single_attempt((*rows)[0]), request_id);
  }

  auto parsed = parse_list_query(query);
  if (auto* bad = std::get_if<invalid_parameter>(&parsed))
    co_return error_response(http::status::bad_request, bad->message, request_id);
  list_query& list = std::get<list_query>(parsed);
  storage::page_request& page_req = list.request;

  std::int64_t cursor_position = 0;
  if (list.cursor) {
    auto decoded = cursors_.decode(*list.cursor, tenant, page_req.filter);
    if (auto* err = std::get_if<cursor_error>(&decoded)) {
      co_return error_response(http::status::bad_request,
                               *err == cursor_error::other_filters
                                   ? "cursor was made for other filters: send the same filters with it, or start over"
                                   : "cursor is not valid: use next_cursor or prev_cursor as returned",
                               request_id);
    }
    const auto& c = std::get<keyset_cursor>(decoded);
    page_req.mode = c.direction == cursor_direction::next ? storage::page_mode::after : storage::page_mode::before;
    page_req.anchor = c.anchor;
    cursor_position = c.position;
  }

  auto page = co_await storage::list_attempts(**conn, tenant, page_req, deadline);
  if (!page) co_return database_error(page.error(), request_id);
  const int rows = page->rows.size();

  // Where this page starts in the listing, as counted when its cursor was made.
  std::int64_t first_position = page_req.offset;
  if (page_req.mode == storage::page_mode::after) first_position = cursor_position;
  if (page_req.mode == storage::page_mode::before)
    first_position = page->has_before ? std::max<std::int64_t>(0, cursor_position - rows) : 0;

  page_meta meta;
  meta.total = page->total;
  meta.limit = page_req.limit;
  meta.offset = first_position;
  meta.has_more = page->has_more;
  if (rows > 0) {
    auto key_of = [&](int i) {
      const auto a = page->rows[i];
      return storage::keyset_position{a.created_at, std::string(a.id)};
    };
    if (page->has_more)
      meta.next_cursor = cursors_.encode({cursor_direction::next, key_of(rows - 1), first_position + rows}, tenant,
                                         page_req.filter);
    if (page->has_before)
      meta.prev_cursor =
          cursors_.encode({cursor_direction::prev, key_of(0), first_position}, tenant, page_req.filter);
  }
  co_return make_response(http::status::ok, render_attempt_page(page->rows, meta), request_id);
}

}  // namespace hookstream::server
