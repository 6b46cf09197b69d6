// The HTTP answers of hookstream's errors, in one place.
//
// Every error answer has the body {"error": "<message>", "status": N,
// "request_id": "req_..."} and the same id in X-Request-Id. The mapping from
// each layer's errors (storage::db_error, auth::auth_failure) to a status and a
// client-facing message lives here and nowhere else; the server's own words
// (SQL, libpq) go to the log with the request id, never to the client.
#pragma once

#include <hookstream/auth/credential_cache.hpp>
#include <hookstream/server/http_types.hpp>
#include <hookstream/storage/error.hpp>

#include <boost/beast/http/status.hpp>

#include <string>
#include <string_view>

namespace hookstream::server {

/// The request id to use: the incoming X-Request-Id when it is 1-128 characters
/// of [A-Za-z0-9._:-], else a new "req_<32 hex>".
std::string choose_request_id(std::string_view incoming);

/// A response with `body`, the content type, X-Request-Id and Cache-Control: no-store.
http_response make_response(boost::beast::http::status status, std::string body, const std::string& request_id,
                            std::string_view content_type = "application/json");

/// The error body for `status` with a human message.
http_response error_response(boost::beast::http::status status, std::string_view message,
                             const std::string& request_id);

/// 503 "the server is busy; retry shortly", with Retry-After: no place for the
/// request's work within its acquire deadline.
http_response server_busy_response(const std::string& request_id);

/// 503 (pool saturated, database unreachable, shutting down) with Retry-After,
/// 504 (deadline), 500 (anything else). Logs the database's message.
http_response database_error_response(const storage::db_error& error, const std::string& request_id);

/// 401 with WWW-Authenticate, or 403 for a foreign environment. Unknown,
/// malformed and revoked keys read alike; so do bad, unknown and expired sessions.
http_response auth_failure_response(auth::auth_failure failure, const std::string& request_id);

/// 429 with Retry-After, for the given reason.
http_response too_many_requests(std::string_view message, unsigned retry_after_s, const std::string& request_id);

}  // namespace hookstream::server
