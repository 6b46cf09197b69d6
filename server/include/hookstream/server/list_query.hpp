// Validation of the listing's query string (see shared/API.md, "Query parameters").
//
// Pure functions, no I/O: every rule is unit-tested without a database.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace hookstream::server {

/// A 400 answer: the message names the parameter and what it accepts.
struct invalid_parameter {
  std::string message;
};

/// Limits of the listing, from the API contract.
inline constexpr int default_page_limit = 50;
inline constexpr int max_page_limit = 100;
inline constexpr std::size_t max_id_filter_bytes = 128;

/// A validated query string. A cursor is only checked for shape here; the
/// handler verifies it (MAC, tenant, filters) with its cursor_codec.
struct list_query {
  storage::page_request request;      ///< page_mode::offset until a cursor is applied
  std::optional<std::string> cursor;  ///< the `cursor` parameter, still encoded
};

/// Parses the (still percent-encoded) query part of a request target, without the
/// leading '?'. Unknown parameters are ignored; a known one given twice is an
/// error, and so is `cursor` together with `offset`.
std::variant<list_query, invalid_parameter> parse_list_query(std::string_view encoded_query);

}  // namespace hookstream::server
