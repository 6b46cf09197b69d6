// Validation of the listing's query string (see shared/API.md, "Query parameters").
//
// Pure functions, no I/O: every rule is unit-tested without a database. The
// parameters and their rules are one table (listing_parameters()): the parser
// answers 400 with a parameter's own rule text, and the OpenAPI document
// (openapi.hpp) is generated from the same table, so the two cannot disagree.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hookstream::server {

/// A 400 answer: the message names the parameter and what it accepts.
struct invalid_parameter {
  std::string message;
};

/// Limits of the listing, from the API contract.
inline constexpr int default_page_limit = 50;
inline constexpr int max_page_limit = 100;
inline constexpr std::size_t max_id_filter_bytes = 128;
/// Distinct values one list parameter (status, event_id, connection_id,
/// destination_id) may hold, comma-separated.
inline constexpr std::size_t max_filter_values = storage::max_filter_values;

/// One query parameter of the listing, as the parser enforces it and the
/// OpenAPI document describes it.
struct listing_parameter {
  std::string_view name;
  /// What it accepts, as a 400 message says it after "<name> must ...".
  std::string rule;
  /// What it means, for the OpenAPI document.
  std::string_view description;
  /// Its JSON Schema (OpenAPI 3.1), as JSON text.
  std::string schema;
  /// Several values, comma-separated (OpenAPI style=form, explode=false).
  bool list = false;
};

/// Every parameter the listing reads, in the order the API documents them.
const std::vector<listing_parameter>& listing_parameters();

/// A validated query string. A cursor is only checked for shape here; the
/// handler verifies it (MAC, tenant, filters) with its cursor_codec.
struct list_query {
  storage::page_request request;      ///< page_mode::offset until a cursor is applied
  std::optional<std::string> cursor;  ///< the `cursor` parameter, still encoded
};

/// Parses the (still percent-encoded) query part of a request target, without the
/// leading '?'. Unknown parameters are ignored; a known one given twice is an
/// error, and so is `cursor` together with `offset`. List parameters come back
/// deduplicated and sorted (one canonical form for equal sets).
std::variant<list_query, invalid_parameter> parse_list_query(std::string_view encoded_query);

/// An RFC 3339 date-time with `Z` or a numeric offset (`T`/`t`, `Z`/`z`, 1-9
/// fraction digits; a space where the offset's `+` belongs is read as `+`, since
/// an unencoded `+` in a query string decodes to a space), as microseconds since
/// the epoch. Sub-microsecond fractions round down with `round_up` false, up
/// with it true. nullopt for anything else (including leap second 60).
std::optional<storage::unix_micros> parse_rfc3339(std::string_view text, bool round_up);

}  // namespace hookstream::server
