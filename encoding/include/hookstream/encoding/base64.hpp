// Base64 (RFC 4648): the standard alphabet with padding, as better-auth signs
// cookies, and the URL-safe alphabet without padding, as cursors travel.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookstream::encoding {

/// Standard alphabet (`+/`), padded with `=` to a multiple of four.
std::string base64_encode(std::string_view bytes);

/// URL-safe alphabet (`-_`), no padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url. Nullopt on a character outside the alphabet, an
/// impossible length, or non-zero leftover bits (so each byte string has exactly
/// one encoding, and an edited token never decodes to the same bytes).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace hookstream::encoding
