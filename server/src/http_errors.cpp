#include <hookstream/encoding/hex.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/http_errors.hpp>

#include <boost/beast/http/field.hpp>

#include <cstdio>
#include <random>

namespace hookstream::server {
namespace http = boost::beast::http;

namespace {
std::string random_hex(std::size_t bytes) {
  // Request ids need to be unique, not secret: a per-thread PRNG is enough.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (auto& b : raw) b = static_cast<char>(rng());
  return encoding::to_hex(raw);
}

http_response unauthorized(std::string_view message, const std::string& request_id) {
  auto res = error_response(http::status::unauthorized, message, request_id);
  res.set(http::field::www_authenticate, "Bearer realm=\"hookstream\"");
  return res;
}

http_response unavailable(std::string_view message, const std::string& request_id) {
  auto res = error_response(http::status::service_unavailable, message, request_id);
  res.set(http::field::retry_after, "1");
  return res;
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

http_response make_response(http::status status, std::string body, const std::string& request_id,
                            std::string_view content_type) {
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

http_response server_busy_response(const std::string& request_id) {
  return unavailable("the server is busy; retry shortly", request_id);
}

http_response database_error_response(const storage::db_error& e, const std::string& request_id) {
  using storage::errc;
  // Abandoned work (the client hung up, or the server is shutting down): no one
  // reads this answer, and it is no error of the database's.
  if (e.code == errc::cancelled)
    return error_response(http::status::service_unavailable, "the request was abandoned", request_id);
  std::fprintf(stderr, "request %s: %s%s%s\n", request_id.c_str(), e.code.message().c_str(),
               e.message.empty() ? "" : ": ", e.message.c_str());
  if (e.code == errc::pool_exhausted || e.code == errc::acquire_timeout)
    return server_busy_response(request_id);
  if (e.code == errc::connection_failed || e.code == errc::pool_closed)
    return unavailable("the database is unavailable; retry shortly", request_id);
  if (e.code == errc::query_timeout)
    return error_response(http::status::gateway_timeout, "the query took too long; narrow the filters or retry",
                          request_id);
  return error_response(http::status::internal_server_error, "internal error", request_id);
}

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

http_response too_many_requests(std::string_view message, unsigned retry_after_s, const std::string& request_id) {
  auto res = error_response(http::status::too_many_requests, message, request_id);
  res.set(http::field::retry_after, std::to_string(retry_after_s));
  return res;
}

}  // namespace hookstream::server
