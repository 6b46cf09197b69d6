// The endpoints hookstream serves, as one table: path pattern, target, and
// whether it is an authenticated API route (CORS preflight, credentials).
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace hookstream::server {

enum class endpoint { healthz, readyz, metrics, openapi, list_attempts, stream_attempts, get_attempt };

struct endpoint_match {
  endpoint target;
  bool api;             ///< an authenticated API route
  std::string_view id;  ///< the `{id}` segment, for patterns that have one
};

/// The endpoint of `path` (the request target without its query), or nullopt
/// (404). Every endpoint answers GET; API routes also answer OPTIONS preflights.
std::optional<endpoint_match> match_endpoint(std::string_view path) noexcept;

/// One row of the table (the OpenAPI document lists them all).
struct endpoint_route {
  std::string_view pattern;  ///< a trailing "{id}" matches one non-empty path segment
  endpoint target;
  bool api;
};
/// Every route, in matching order.
std::span<const endpoint_route> endpoint_routes() noexcept;

}  // namespace hookstream::server
