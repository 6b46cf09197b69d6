// Fuzz target: better-auth session cookies (find_session_cookie, then
// verify_session_cookie), as the authenticator runs them on a Cookie header.
//
// Input: a Cookie header value. Checks beyond not crashing:
//  - the cookie found is a piece of the header, and none is found in a header
//    that does not name the session cookie;
//  - a value that verifies is exactly "<token>.<signature>" for one of the
//    secrets (so nothing but a correct signature is ever accepted);
//  - a token signed with a secret and sent in a header is found and verified.
#include "fuzz_support.hpp"

#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/encoding/percent.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {
namespace au = hookstream::auth;
namespace fz = hookstream::fuzz;

// The signature part (after the last '.') of what sign_session_cookie writes.
std::string signature_for(std::string_view token, const std::string& secret) {
  const std::string signed_value = au::sign_session_cookie(token, secret);
  auto decoded = hookstream::encoding::percent_decode(signed_value.substr(signed_value.rfind('.') + 1), false);
  FUZZ_CHECK(decoded.has_value(), "sign_session_cookie wrote a malformed percent-escape");
  return *decoded;
}

void check_verified(std::string_view value) {
  const auto token = au::verify_session_cookie(value, fz::session_secrets);
  if (!token) return;
  FUZZ_CHECK(!token->empty(), "an empty session token verifies");
  const auto decoded = hookstream::encoding::percent_decode(value, false);
  FUZZ_CHECK(decoded.has_value(), "a cookie with a malformed percent-escape verifies");
  bool signed_by_one = false;
  for (const auto& secret : fz::session_secrets)
    signed_by_one = signed_by_one || *decoded == *token + "." + signature_for(*token, secret);
  FUZZ_CHECK(signed_by_one, "a cookie verifies without the signature of any secret");
}

bool plain_token(std::string_view t) {
  if (t.empty()) return false;
  for (const char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);

  const auto found = au::find_session_cookie(header);
  if (found) {
    FUZZ_CHECK(found->data() >= header.data() && found->data() + found->size() <= header.data() + header.size(),
               "the cookie found is not inside the header");
    FUZZ_CHECK(header.find("better-auth.session_token") != std::string_view::npos,
               "a cookie found in a header that does not name it");
    check_verified(*found);
  }
  // The raw input as a cookie value too: reaches the verifier without the
  // header grammar in the way.
  check_verified(header);

  // Signing round trip, for tokens of the shape better-auth makes.
  const std::string_view token = header.substr(0, 64);
  if (plain_token(token)) {
    for (const auto& secret : fz::session_secrets) {
      const std::string cookie_header =
          "theme=dark; better-auth.session_token=" + au::sign_session_cookie(token, secret) + "; other=1";
      const auto value = au::find_session_cookie(cookie_header);
      FUZZ_CHECK(value.has_value(), "a signed session cookie is not found");
      const auto verified = au::verify_session_cookie(*value, fz::session_secrets);
      FUZZ_CHECK(verified && *verified == token, "a signed session cookie does not verify to its token");
    }
  }
  return 0;
}
