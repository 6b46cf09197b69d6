// JSON rendering of delivery attempts, written straight into a string buffer.
//
// Hand-written rather than built as a boost::json::value: the listing is the hot
// path and this writes each byte once. Guarantees:
//  - fields in the API's order with the API's types; nullable fields are `null`;
//  - the output is valid UTF-8 whatever the database holds: invalid sequences
//    (in a response body a destination sent, say) become U+FFFD, one per maximal
//    invalid subpart as the WHATWG/Unicode recommendation describes;
//  - timestamps are RFC 3339 UTC with milliseconds (`2026-11-28T08:39:52.929Z`).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <string>
#include <string_view>

namespace hookstream::server {

/// Appends `s` as a JSON string literal (quotes included), escaping as needed and
/// replacing invalid UTF-8.
void append_json_string(std::string& out, std::string_view s);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// Appends an RFC 3339 UTC timestamp with milliseconds (truncated, not rounded).
void append_rfc3339(std::string& out, storage::unix_micros t);

/// Appends one attempt as a JSON object.
void append_attempt(std::string& out, const storage::delivery_attempt_view& a);

/// Pagination values of a listing page.
struct page_meta {
  std::int64_t total = 0;
  int limit = 0;
  std::int64_t offset = 0;
  bool has_more = false;
  std::string next_cursor;  ///< empty renders as null
  std::string prev_cursor;  ///< empty renders as null
};

/// The listing's body: {"delivery_attempts": [...], "pagination": {...}}.
std::string render_attempt_page(const storage::attempt_rows& rows, const page_meta& meta);

/// The single-attempt body: {"delivery_attempt": {...}}.
std::string render_single_attempt(const storage::delivery_attempt_view& a);

}  // namespace hookstream::server
