// Turns the credential of a request into a tenant (org + environment).
//
// The tenant comes from the credential alone: nothing in the query string or a
// cursor can change it. Accepted credentials, in this order of precedence:
//   1. `X-API-Key: hs_live_<64 hex>` (or hs_test_),
//   2. `Authorization: Bearer <the same kind of key>`,
//   3. better-auth's session cookie (`better-auth.session_token` or
//      `__Secure-better-auth.session_token`), when session secrets are configured.
//      The org is the session's active organization (the user must be a member);
//      the environment is `X-Env-Id` when given (it must belong to that org, else
//      403), else the org's default environment.
// A key is looked up by its SHA-256; revoked keys fail; expired sessions fail.
//
// Enumeration and timing: a malformed, unknown or revoked key all fail as
// `invalid_api_key`; a well-formed wrong key and an unknown key take the same
// path (hash, cache, one indexed look-up).
//
// Caching: outcomes are cached per authenticator (see credential_cache.hpp), so
// a hot credential needs no connection at all; only a miss acquires one.
//
// Replicas: look-ups go where the read_router sends them, a streaming replica
// when one is usable. A replica's answer that grants nothing (no such key, a
// revoked key, an unknown session, no membership) is asked again of the
// primary before it is believed, so a key or session created a moment ago
// works at once. A revocation (api_keys.revoked_at), a deleted session or a
// removed membership therefore takes effect once the replica has replayed it
// (at most the router's lag bound, --max-replica-lag-ms) plus the cache TTL.
//
// Threads: the authenticator's state lives on its primary pool's executor.
// `authenticate` may be awaited from any executor (it hops onto the pool's, see
// storage/serial_executor.hpp); `outcome_without_lookup` and the accessors must
// be called on that executor (api_handler does), or while no thread runs it.
#pragma once

#include <hookstream/auth/credential_cache.hpp>
#include <hookstream/storage/read_router.hpp>
#include <hookstream/storage/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hookstream::auth {

/// The credential-carrying headers of a request (empty when absent).
struct request_credentials {
  std::string_view x_api_key;
  std::string_view authorization;
  std::string_view cookie;
  std::string_view env_id;  ///< X-Env-Id (cookie sessions only)
};

struct authenticator_config {
  /// Secrets that may have signed session cookies (the first signs, all verify).
  /// Empty: cookie sessions are not accepted.
  std::vector<std::string> session_secrets;
  std::chrono::milliseconds cache_ttl{5000};
  std::chrono::milliseconds failure_ttl{1000};
  std::size_t cache_capacity = 10000;
};

/// Why authentication did not produce a tenant: a client problem, or the database.
using auth_error = std::variant<auth_failure, storage::db_error>;
using auth_result = std::variant<storage::tenant_id, auth_error>;

/// The API key a request presents, if any: X-API-Key first, else a Bearer token.
/// Returns an empty view when neither header is present; a non-Bearer
/// Authorization header yields a value that is never a well-formed key.
std::string_view presented_api_key(const request_credentials& creds) noexcept;

/// True when the request carries any credential hookstream could accept.
bool has_credentials(const request_credentials& creds, bool cookies_enabled) noexcept;

class authenticator {
 public:
  /// `reads` (and its pools) must outlive the authenticator.
  authenticator(storage::read_router& reads, authenticator_config config);

  /// Resolves the request's credential to its tenant. `acquire_deadline` bounds
  /// the wait for a connection (on a cache miss), `deadline` the whole look-up.
  /// `creds` must stay valid until the returned awaitable completes.
  boost::asio::awaitable<auth_result> authenticate(const request_credentials& creds,
                                                   storage::clock::time_point acquire_deadline,
                                                   storage::clock::time_point deadline);

  /// The outcome when it needs no database look-up (a malformed credential, a
  /// bad signature, or a cached outcome); nullopt when `authenticate` would ask
  /// the database. Lets a caller throttle look-ups before they happen.
  std::optional<auth_result> outcome_without_lookup(const request_credentials& creds);

  bool cookies_enabled() const noexcept { return !config_.session_secrets.empty(); }
  const credential_cache& cache() const noexcept { return cache_; }
  /// Credential look-ups sent to the database so far.
  std::uint64_t lookups() const noexcept { return lookups_; }

 private:
  // What a credential needs: an answer at once, or a look-up of a key digest
  // or a session token (with its X-Env-Id).
  struct key_lookup {
    std::string cache_key;
    std::string hash_param;
  };
  struct session_lookup {
    std::string cache_key;
    std::string token;
    std::string env_id;
  };
  using plan = std::variant<auth_result, key_lookup, session_lookup>;
  plan plan_for(const request_credentials& creds);
  boost::asio::awaitable<auth_result> authenticate_here(const request_credentials& creds,
                                                        storage::clock::time_point acquire_deadline,
                                                        storage::clock::time_point deadline);

  boost::asio::awaitable<auth_result> lookup_api_key(const key_lookup& lookup,
                                                     storage::clock::time_point acquire_deadline,
                                                     storage::clock::time_point deadline);
  boost::asio::awaitable<auth_result> lookup_session(const session_lookup& lookup,
                                                     storage::clock::time_point acquire_deadline,
                                                     storage::clock::time_point deadline);

  storage::read_router& reads_;
  authenticator_config config_;
  credential_cache cache_;
  std::uint64_t lookups_ = 0;
};

}  // namespace hookstream::auth
