// Turns the credential of a request into a tenant (org + environment).
//
// The tenant comes from the credential alone: nothing in the query string or a
// cursor can change it. Accepted credentials, in this order of precedence:
//   1. `X-API-Key: hs_live_<64 hex>` (or hs_test_),
//   2. `Authorization: Bearer <the same kind of key>`.
// A key is looked up by its SHA-256; revoked keys fail.
//
// Enumeration: a malformed key, an unknown key and a revoked key all fail with
// `auth_failure::invalid_credential`, so a caller learns nothing about which.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace hookstream::auth {

/// The credential-carrying headers of a request (empty when absent).
struct request_credentials {
  std::string_view x_api_key;
  std::string_view authorization;
};

enum class auth_failure {
  missing_credential,   ///< no credential header at all
  invalid_credential,   ///< malformed, unknown or revoked
};

/// Why authentication did not produce a tenant: a client problem, or the database.
using auth_error = std::variant<auth_failure, storage::db_error>;
using auth_result = std::variant<storage::tenant_id, auth_error>;

/// The API key a request presents, if any: X-API-Key first, else a Bearer token.
/// Returns an empty view when neither header is present.
std::string_view presented_api_key(const request_credentials& creds) noexcept;

/// Resolves the request's credential to its tenant with one indexed look-up.
boost::asio::awaitable<auth_result> authenticate(storage::pg_connection& conn, const request_credentials& creds,
                                                 storage::clock::time_point deadline);

}  // namespace hookstream::auth
