// UTF-8 validation and cutting, shared by the JSON writer (which repairs what a
// destination answered), the query-string validator and the storage layer
// (which cuts large fields on a character boundary).
#pragma once

#include <cstddef>
#include <string_view>

namespace hookstream::encoding {

/// Length of the well-formed UTF-8 sequence starting at `s[i]` (1-4), or 0 when
/// it is ill-formed; then `invalid` receives the length of the maximal subpart
/// to replace with one U+FFFD (Unicode's recommendation, as WHATWG decoders do).
/// Precondition: `i < s.size()`.
std::size_t utf8_sequence_at(std::string_view s, std::size_t i, std::size_t& invalid) noexcept;

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// The longest prefix of `s` of at most `max_bytes` bytes that does not end in
/// the middle of a multi-byte sequence (a sequence cut short at the end is
/// dropped; bytes that were never UTF-8 are left for the caller to repair).
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept;

}  // namespace hookstream::encoding
