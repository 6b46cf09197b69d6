// A small bounded cache of authentication outcomes, one per authenticator.
//
// Hot credentials cost no database round trip; failures are cached too (for a
// shorter time) so a client hammering a bad key cannot hammer the database.
// A revoked key or deleted session keeps working at most `ttl` — that is the
// trade, and why the TTL is short (default 5 s) and configurable.
//
// Bounded: at most `capacity` entries (least recently used go first), whatever
// the mix of new and repeated keys. Not thread-safe, no locks: it lives on its
// authenticator's executor (see authenticator.hpp).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/ttl_cache.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace hookstream::auth {

enum class auth_failure {
  missing_credential,      ///< no credential at all
  invalid_api_key,         ///< malformed, unknown or revoked key
  invalid_session,         ///< bad signature, unknown or expired session
  no_active_organization,  ///< a valid session with no active organization
  not_a_member,            ///< the user is not a member of the active organization
  environment_forbidden,   ///< valid identity, but the environment is not its org's (403)
};

using auth_outcome = std::variant<storage::tenant_id, auth_failure>;

class credential_cache {
 public:
  using clock = std::chrono::steady_clock;

  credential_cache(std::size_t capacity, std::chrono::milliseconds ttl, std::chrono::milliseconds failure_ttl)
      : entries_(capacity), ttl_(ttl), failure_ttl_(failure_ttl) {}

  std::optional<auth_outcome> find(std::string_view key, clock::time_point now);
  /// Caches for the TTL of its kind, but never past `not_after` (a session's own
  /// expiry). A zero TTL disables caching of that kind.
  void store(std::string_view key, auth_outcome outcome, clock::time_point now,
             clock::time_point not_after = clock::time_point::max());

  std::size_t size() const noexcept { return entries_.size(); }
  std::uint64_t hits() const noexcept { return entries_.hits(); }
  std::uint64_t misses() const noexcept { return entries_.misses(); }

 private:
  storage::ttl_cache<auth_outcome> entries_;
  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds failure_ttl_;
};

}  // namespace hookstream::auth
