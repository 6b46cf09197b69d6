// Percent-decoding (RFC 3986), shared by the query-string parser and the cookie
// reader. Hand-written: Boost.URL 1.81 (Debian 12) reads one byte past the end of
// input that is not NUL-terminated, which a request target never is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookstream::encoding {

/// Decodes %XX escapes (and '+' as a space when `plus_as_space`, as HTML forms
/// and query strings write it). Nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space);

}  // namespace hookstream::encoding
