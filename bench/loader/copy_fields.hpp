// Field values in PostgreSQL's COPY text format, appended to a row buffer, and
// the date spellings the generated headers and bodies carry. Times are
// microseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hookstream::bench_load {

/// What COPY text reads as SQL NULL.
inline constexpr std::string_view copy_null = "\\N";

/// Every field but a row's first is preceded by a tab; a row ends with a newline.
inline void tab(std::string& b) { b.push_back('\t'); }
inline void endrow(std::string& b) { b.push_back('\n'); }

/// `v` in decimal, zero-padded to `width` digits.
void put_digits(std::string& out, std::uint64_t v, int width);
void put_int(std::string& out, std::int64_t v);

/// PostgreSQL timestamptz input: 2026-11-28 11:59:59.123456+00
void put_timestamp(std::string& out, std::int64_t t);
/// RFC 3339 with milliseconds: 2026-11-28T11:59:59.123Z
void put_rfc3339(std::string& out, std::int64_t t);
/// HTTP date: Sat, 28 Nov 2026 11:59:59 GMT
void put_http_date(std::string& out, std::int64_t t);

/// Appends `s` escaped for COPY text format (backslash, tab, newline, CR; other
/// control bytes are legal as they are).
void put_copy_text(std::string& out, std::string_view s);
/// A bytea value in COPY text format: the bytea hex input `\x...`, its backslash
/// doubled by the COPY escaping.
void put_copy_bytea(std::string& out, std::string_view bytes);

}  // namespace hookstream::bench_load
