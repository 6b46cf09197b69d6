#include <hookstream/auth/api_key.hpp>
#include <hookstream/auth/authenticator.hpp>
#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/encoding/ascii.hpp>
#include <hookstream/encoding/hex.hpp>

#include <array>

namespace hookstream::auth {
namespace asio = boost::asio;
using storage::clock;

namespace {
using encoding::trim_blanks;

// A session's X-Env-Id must be an id, nothing else (it goes to a query).
bool plausible_env_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

constexpr const char* api_key_sql =
    "SELECT org_id, env_id FROM api_keys WHERE key_hash = $1::bytea AND revoked_at IS NULL";

// One round trip decides every session case: expired/unknown (no row), no active
// organization, not a member, environment not the org's (null env).
constexpr const char* session_sql =
    "SELECT s.\"activeOrganizationId\", m.\"id\" IS NOT NULL, e.id, s.\"expiresAt\" "
    "FROM \"session\" s "
    "LEFT JOIN \"member\" m ON m.\"organizationId\" = s.\"activeOrganizationId\" AND m.\"userId\" = s.\"userId\" "
    "LEFT JOIN environments e ON e.org_id = s.\"activeOrganizationId\" "
    "  AND (CASE WHEN $2::text IS NULL THEN e.is_default ELSE e.id = $2::text END) "
    "WHERE s.\"token\" = $1 AND s.\"expiresAt\" > now() "
    "LIMIT 1";
// The steady-clock instant at which a session expiring at `expires_at` (wall
// clock) must leave the cache; saturates for far-away and infinite expiries.
clock::time_point session_cache_limit(storage::unix_micros expires_at, clock::time_point now) {
  const std::int64_t wall_now = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  if (expires_at <= wall_now) return now;
  // Beyond a day the cache TTL (capped far lower) decides anyway.
  constexpr std::int64_t day_us = 86'400'000'000;
  const std::int64_t remaining = expires_at - wall_now > day_us ? day_us : expires_at - wall_now;
  return now + std::chrono::microseconds(remaining);
}

// A cached outcome, in the shape authenticate() answers with.
auth_result as_result(const auth_outcome& outcome) {
  if (const auto* tenant = std::get_if<storage::tenant_id>(&outcome)) return *tenant;
  return auth_error{std::get<auth_failure>(outcome)};
}
}  // namespace

std::string_view presented_api_key(const request_credentials& creds) noexcept {
  if (!creds.x_api_key.empty()) return trim_blanks(creds.x_api_key);
  std::string_view auth = trim_blanks(creds.authorization);
  // RFC 7235: the scheme name is case-insensitive.
  if (encoding::istarts_with(auth, "bearer ")) return trim_blanks(auth.substr(7));
  // Another scheme (Basic, a bare key, ...): a credential was presented, but it
  // can never be valid. A marker that fails the key-format check stands for it.
  if (!auth.empty()) return "unsupported-authorization-scheme";
  return {};
}

bool has_credentials(const request_credentials& creds, bool cookies_enabled) noexcept {
  if (!presented_api_key(creds).empty()) return true;
  return cookies_enabled && find_session_cookie(creds.cookie).has_value();
}

authenticator::authenticator(storage::read_router& reads, authenticator_config config)
    : reads_(reads),
      config_(std::move(config)),
      cache_(config_.cache_capacity, config_.cache_ttl, config_.failure_ttl) {}

authenticator::plan authenticator::plan_for(const request_credentials& creds) {
  const auto now = clock::now();
  if (const std::string_view key = presented_api_key(creds); !key.empty()) {
    if (!is_well_formed_api_key(key)) return auth_result{auth_error{auth_failure::invalid_api_key}};
    const auto digest = sha256(key);
    key_lookup lookup;
    lookup.cache_key = "k";
    lookup.cache_key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    if (auto hit = cache_.find(lookup.cache_key, now)) return as_result(*hit);
    // bytea parameter in text format: '\x' followed by hex.
    lookup.hash_param = "\\x" + encoding::to_hex(digest);
    return lookup;
  }
  if (cookies_enabled()) {
    if (const auto cookie = find_session_cookie(creds.cookie)) {
      auto token = verify_session_cookie(*cookie, config_.session_secrets);
      if (!token) return auth_result{auth_error{auth_failure::invalid_session}};
      const std::string_view env = trim_blanks(creds.env_id);
      if (!env.empty() && !plausible_env_id(env)) return auth_result{auth_error{auth_failure::environment_forbidden}};
      session_lookup lookup;
      lookup.cache_key = "s" + *token;
      lookup.cache_key += '\0';
      lookup.cache_key += env;
      if (auto hit = cache_.find(lookup.cache_key, now)) return as_result(*hit);
      lookup.token = std::move(*token);
      lookup.env_id = env;
      return lookup;
    }
  }
  return auth_result{auth_error{auth_failure::missing_credential}};
}

std::optional<auth_result> authenticator::outcome_without_lookup(const request_credentials& creds) {
  plan p = plan_for(creds);
  if (auto* ready = std::get_if<auth_result>(&p)) return std::move(*ready);
  return std::nullopt;
}

asio::awaitable<auth_result> authenticator::authenticate(const request_credentials& creds,
                                                         clock::time_point acquire_deadline,
                                                         clock::time_point deadline) {
  return reads_.primary().executor().run(authenticate_here(creds, acquire_deadline, deadline));
}

asio::awaitable<auth_result> authenticator::authenticate_here(const request_credentials& creds,
                                                              clock::time_point acquire_deadline,
                                                              clock::time_point deadline) {
  plan p = plan_for(creds);
  if (auto* ready = std::get_if<auth_result>(&p)) co_return std::move(*ready);
  if (auto* key = std::get_if<key_lookup>(&p)) co_return co_await lookup_api_key(*key, acquire_deadline, deadline);
  co_return co_await lookup_session(std::get<session_lookup>(p), acquire_deadline, deadline);
}

asio::awaitable<auth_result> authenticator::lookup_api_key(const key_lookup& lookup, clock::time_point acquire_deadline,
                                                           clock::time_point deadline) {
  ++lookups_;
  const std::array<storage::query_param, 1> params{std::string_view(lookup.hash_param)};
  auto work = [&](storage::pg_connection& conn) {
    return conn.execute(api_key_sql, params, storage::result_format::binary, deadline);
  };
  bool from_replica = false;
  auto rows = co_await reads_.read(work, acquire_deadline, &from_replica);
  // A replica may not have replayed a key made a moment ago: only the primary
  // may say it does not exist.
  if (rows && rows->rows() == 0 && from_replica) rows = co_await reads_.primary().with_connection(work, acquire_deadline);
  if (!rows) co_return auth_error{rows.error()};
  if (rows->rows() == 0) {
    cache_.store(lookup.cache_key, auth_failure::invalid_api_key, clock::now());
    co_return auth_error{auth_failure::invalid_api_key};
  }
  storage::tenant_id tenant{std::string(rows->bytes(0, 0)), std::string(rows->bytes(0, 1))};
  cache_.store(lookup.cache_key, tenant, clock::now());
  co_return tenant;
}

asio::awaitable<auth_result> authenticator::lookup_session(const session_lookup& lookup,
                                                           clock::time_point acquire_deadline,
                                                           clock::time_point deadline) {
  ++lookups_;
  const std::array<storage::query_param, 2> params{
      std::string_view(lookup.token),
      lookup.env_id.empty() ? storage::query_param{} : storage::query_param{std::string_view(lookup.env_id)}};
  auto work = [&](storage::pg_connection& conn) {
    return conn.execute(session_sql, params, storage::result_format::binary, deadline);
  };
  bool from_replica = false;
  auto rows = co_await reads_.read(work, acquire_deadline, &from_replica);
  // Whatever a replica answers short of a tenant (no session, no membership, no
  // such environment) may be lag: the primary decides.
  const auto grants_a_tenant = [](const storage::query_result& r) {
    return r.rows() > 0 && !r.is_null(0, 0) && r.boolean(0, 1) && !r.is_null(0, 2);
  };
  if (rows && from_replica && !grants_a_tenant(*rows))
    rows = co_await reads_.primary().with_connection(work, acquire_deadline);
  if (!rows) co_return auth_error{rows.error()};

  auto fail = [&](auth_failure f) -> auth_result {
    cache_.store(lookup.cache_key, f, clock::now());
    return auth_error{f};
  };
  if (rows->rows() == 0) co_return fail(auth_failure::invalid_session);
  if (rows->is_null(0, 0)) co_return fail(auth_failure::no_active_organization);
  if (!rows->boolean(0, 1)) co_return fail(auth_failure::not_a_member);
  if (rows->is_null(0, 2)) co_return fail(auth_failure::environment_forbidden);

  storage::tenant_id tenant{std::string(rows->bytes(0, 0)), std::string(rows->bytes(0, 2))};
  // Never cache a session past its own expiry. 'infinity' arrives as the largest
  // instant; the cache's own TTL bounds such a session.
  const auto now = clock::now();
  cache_.store(lookup.cache_key, tenant, now, session_cache_limit(rows->timestamp(0, 3), now));
  co_return tenant;
}

}  // namespace hookstream::auth
