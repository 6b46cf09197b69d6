// better-auth session cookies, verified exactly as better-auth (better-call)
// signs them: the cookie value is encodeURIComponent("<token>.<signature>") with
// signature = standard base64 (padded, 44 chars) of HMAC-SHA256(secret, token).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookstream::auth {

/// better-auth's public default secret: never acceptable in production.
inline constexpr std::string_view better_auth_default_secret = "better-auth-secret-12345678901234567890";

/// The session cookie's raw value from a Cookie header:
/// `__Secure-better-auth.session_token` when present (only the site itself can
/// have set it, over HTTPS), else the first `better-auth.session_token`.
std::optional<std::string_view> find_session_cookie(std::string_view cookie_header) noexcept;

/// The session token if `cookie_value` is a token signed with one of `secrets`
/// (several allow rotation, like BETTER_AUTH_SECRETS). Constant-time comparison.
std::optional<std::string> verify_session_cookie(std::string_view cookie_value,
                                                 const std::vector<std::string>& secrets);

/// Signs a token the way better-auth does (for tools and tests of our own; the
/// interop test uses better-auth itself).
std::string sign_session_cookie(std::string_view token, std::string_view secret);

/// Secrets from the environment, as better-auth reads them: BETTER_AUTH_SECRETS
/// ("<version>:<secret>,..." — all are accepted for verification) and/or
/// BETTER_AUTH_SECRET. Throws std::invalid_argument on a malformed list.
std::vector<std::string> session_secrets_from_environment();

/// Why a secret is unacceptable (empty string = fine): too short (< 32 bytes) or
/// better-auth's public default. The message never contains the secret.
std::string check_session_secret(std::string_view secret);

}  // namespace hookstream::auth
