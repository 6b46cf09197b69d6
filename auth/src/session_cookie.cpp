#include <hookstream/auth/digest.hpp>
#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/encoding/ascii.hpp>
#include <hookstream/encoding/base64.hpp>
#include <hookstream/encoding/percent.hpp>

#include <openssl/crypto.h>

#include <cstdlib>
#include <stdexcept>

namespace hookstream::auth {
namespace {

std::string signature_of(std::string_view token, std::string_view secret) {
  const sha256_digest mac = hmac_sha256_key(secret).sign(token);
  return encoding::base64_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
}

}  // namespace

std::optional<std::string_view> find_session_cookie(std::string_view header) noexcept {
  std::optional<std::string_view> plain;
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = encoding::trim_blanks(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = encoding::trim_blanks(pair.substr(0, eq));
    std::string_view value = encoding::trim_blanks(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    // A __Secure- cookie can only have been set over HTTPS by the site itself;
    // a plain one may have been planted (e.g. by a sibling subdomain or over
    // plain HTTP), so the secure one wins whatever the order.
    if (name == "__Secure-better-auth.session_token") return value;
    if (name == "better-auth.session_token" && !plain) plain = value;
  }
  return plain;
}

std::optional<std::string> verify_session_cookie(std::string_view cookie_value,
                                                 const std::vector<std::string>& secrets) {
  if (cookie_value.size() > 4096) return std::nullopt;
  const auto decoded = encoding::percent_decode(cookie_value, /*plus_as_space=*/false);
  if (!decoded) return std::nullopt;
  const auto dot = decoded->rfind('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  const std::string_view token = std::string_view(*decoded).substr(0, dot);
  const std::string_view presented = std::string_view(*decoded).substr(dot + 1);
  if (presented.size() != 44 || presented.back() != '=') return std::nullopt;
  bool valid = false;
  for (const auto& secret : secrets) {
    const std::string expected = signature_of(token, secret);
    // Every secret is tried (no early exit), each compared in constant time.
    valid |= CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
  }
  if (!valid) return std::nullopt;
  return std::string(token);
}

std::string sign_session_cookie(std::string_view token, std::string_view secret) {
  const std::string raw = std::string(token) + "." + signature_of(token, secret);
  // encodeURIComponent: base64 '+', '/' and '=' are escaped.
  std::string out;
  for (char c : raw) {
    if (c == '+') out += "%2B";
    else if (c == '/') out += "%2F";
    else if (c == '=') out += "%3D";
    else out += c;
  }
  return out;
}

std::vector<std::string> session_secrets_from_environment() {
  std::vector<std::string> secrets;
  if (const char* list = std::getenv("BETTER_AUTH_SECRETS"); list && *list) {
    std::string_view rest = list;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view entry = encoding::trim_blanks(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const auto colon = entry.find(':');
      if (colon == std::string_view::npos || colon == 0)
        throw std::invalid_argument("BETTER_AUTH_SECRETS entries must look like <version>:<secret>");
      const std::string_view value = encoding::trim_blanks(entry.substr(colon + 1));
      if (value.empty()) throw std::invalid_argument("BETTER_AUTH_SECRETS has an empty secret");
      secrets.emplace_back(value);
    }
  }
  if (const char* single = std::getenv("BETTER_AUTH_SECRET"); single && *single) secrets.emplace_back(single);
  return secrets;
}

std::string check_session_secret(std::string_view secret) {
  if (secret == better_auth_default_secret) return "it is better-auth's public default secret";
  if (secret.size() < 32) return "it is shorter than 32 bytes";
  return {};
}

}  // namespace hookstream::auth
