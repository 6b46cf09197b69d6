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

authenticator::authenticator(storage::connection_pool& pool, authenticator_config config)
    : pool_(pool),
      config_(std::move(config)),
      cache_(config_.cache_capacity, config_.cache_ttl, config_.failure_ttl) {}

asio::awaitable<auth_result> authenticator::authenticate(const request_credentials& creds,
                                                         clock::time_point acquire_deadline,
                                                         clock::time_point deadline) {
  if (const std::string_view key = presented_api_key(creds); !key.empty()) {
    if (!is_well_formed_api_key(key)) co_return auth_error{auth_failure::invalid_api_key};
    co_return co_await lookup_api_key(key, acquire_deadline, deadline);
  }
  if (cookies_enabled()) {
    if (const auto cookie = find_session_cookie(creds.cookie)) {
      const auto token = verify_session_cookie(*cookie, config_.session_secrets);
      if (!token) co_return auth_error{auth_failure::invalid_session};
      const std::string_view env = trim_blanks(creds.env_id);
      if (!env.empty() && !plausible_env_id(env)) co_return auth_error{auth_failure::environment_forbidden};
      co_return co_await lookup_session(*token, env, acquire_deadline, deadline);
    }
  }
  co_return auth_error{auth_failure::missing_credential};
}

asio::awaitable<auth_result> authenticator::lookup_api_key(std::string_view key, clock::time_point acquire_deadline,
                                                           clock::time_point deadline) {
  const auto digest = sha256(key);
  std::string cache_key = "k";
  cache_key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  if (auto hit = cache_.find(cache_key, clock::now())) co_return as_result(*hit);

  auto conn = co_await pool_.acquire(acquire_deadline);
  if (!conn) co_return auth_error{conn.error()};
  // bytea parameter in text format: '\x' followed by hex.
  const std::string hash_param = "\\x" + encoding::to_hex(digest);
  const std::array<storage::query_param, 1> params{std::string_view(hash_param)};
  auto rows = co_await (*conn)->execute(api_key_sql, params, storage::result_format::binary, deadline);
  if (!rows) co_return auth_error{rows.error()};
  if (rows->rows() == 0) {
    cache_.store(cache_key, auth_failure::invalid_api_key, clock::now());
    co_return auth_error{auth_failure::invalid_api_key};
  }
  storage::tenant_id tenant{std::string(rows->bytes(0, 0)), std::string(rows->bytes(0, 1))};
  cache_.store(cache_key, tenant, clock::now());
  co_return tenant;
}

asio::awaitable<auth_result> authenticator::lookup_session(const std::string& token, std::string_view env_id,
                                                           clock::time_point acquire_deadline,
                                                           clock::time_point deadline) {
  std::string cache_key = "s" + token;
  cache_key += '\0';
  cache_key += env_id;
  if (auto hit = cache_.find(cache_key, clock::now())) co_return as_result(*hit);

  auto conn = co_await pool_.acquire(acquire_deadline);
  if (!conn) co_return auth_error{conn.error()};
  const std::array<storage::query_param, 2> params{
      std::string_view(token), env_id.empty() ? storage::query_param{} : storage::query_param{env_id}};
  auto rows = co_await (*conn)->execute(session_sql, params, storage::result_format::binary, deadline);
  if (!rows) co_return auth_error{rows.error()};

  auto fail = [&](auth_failure f) -> auth_result {
    cache_.store(cache_key, f, clock::now());
    return auth_error{f};
  };
  if (rows->rows() == 0) co_return fail(auth_failure::invalid_session);
  if (rows->is_null(0, 0)) co_return fail(auth_failure::no_active_organization);
  if (!rows->boolean(0, 1)) co_return fail(auth_failure::not_a_member);
  if (rows->is_null(0, 2)) co_return fail(auth_failure::environment_forbidden);

  storage::tenant_id tenant{std::string(rows->bytes(0, 0)), std::string(rows->bytes(0, 2))};
  // Never cache a session past its own expiry.
  const auto expires_in = std::chrono::microseconds(rows->timestamp(0, 3) -
                                                    std::chrono::duration_cast<std::chrono::microseconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count());
  cache_.store(cache_key, tenant, clock::now(), clock::now() + expires_in);
  co_return tenant;
}

}  // namespace hookstream::auth
