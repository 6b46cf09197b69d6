#include <hookstream/auth/api_key.hpp>
#include <hookstream/auth/authenticator.hpp>

#include <array>

namespace hookstream::auth {

namespace {
bool iequals_prefix(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string_view presented_api_key(const request_credentials& creds) noexcept {
  if (!creds.x_api_key.empty()) return trim(creds.x_api_key);
  std::string_view auth = trim(creds.authorization);
  // RFC 7235: the scheme name is case-insensitive.
  if (iequals_prefix(auth, "bearer ")) return trim(auth.substr(7));
  // Another scheme (Basic, a bare key, ...): a credential was presented, but it
  // can never be valid. A marker that fails the key-format check stands for it.
  if (!auth.empty()) return "unsupported-authorization-scheme";
  return {};
}

boost::asio::awaitable<auth_result> authenticate(storage::pg_connection& conn, const request_credentials& creds,
                                                 storage::clock::time_point deadline) {
  const std::string_view key = presented_api_key(creds);
  if (key.empty()) co_return auth_error{auth_failure::missing_credential};
  if (!is_well_formed_api_key(key)) co_return auth_error{auth_failure::invalid_credential};

  // bytea parameter in text format: '\x' followed by hex.
  const std::string hash_param = "\\x" + to_hex(sha256(key));
  const std::array<storage::query_param, 1> params{std::string_view(hash_param)};
  auto rows = co_await conn.execute(
      "SELECT org_id, env_id FROM api_keys WHERE key_hash = $1::bytea AND revoked_at IS NULL", params,
      storage::result_format::binary, deadline);
  if (!rows) co_return auth_error{std::move(rows.error())};
  if (rows->rows() == 0) co_return auth_error{auth_failure::invalid_credential};
  co_return storage::tenant_id{std::string(rows->bytes(0, 0)), std::string(rows->bytes(0, 1))};
}

}  // namespace hookstream::auth
