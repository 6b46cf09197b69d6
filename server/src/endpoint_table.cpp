#include "endpoint_table.hpp"

#include <array>

namespace hookstream::server {
namespace {

using route = endpoint_route;

// Exact patterns before patterns with {id}: the first match wins.
constexpr std::array<route, 7> routes{{
    {"/healthz", endpoint::healthz, false},
    {"/readyz", endpoint::readyz, false},
    {"/metrics", endpoint::metrics, false},
    {"/v1/openapi.json", endpoint::openapi, false},
    {"/v1/delivery-attempts", endpoint::list_attempts, true},
    {"/v1/delivery-attempts/stream", endpoint::stream_attempts, true},
    {"/v1/delivery-attempts/{id}", endpoint::get_attempt, true},
}};

constexpr std::string_view id_placeholder = "{id}";

}  // namespace

std::optional<endpoint_match> match_endpoint(std::string_view path) noexcept {
  for (const route& r : routes) {
    if (!r.pattern.ends_with(id_placeholder)) {
      if (path == r.pattern) return endpoint_match{r.target, r.api, {}};
      continue;
    }
    const std::string_view prefix = r.pattern.substr(0, r.pattern.size() - id_placeholder.size());
    if (!path.starts_with(prefix)) continue;
    const std::string_view id = path.substr(prefix.size());
    if (!id.empty() && id.find('/') == std::string_view::npos) return endpoint_match{r.target, r.api, id};
  }
  return std::nullopt;
}

std::span<const endpoint_route> endpoint_routes() noexcept { return routes; }

}  // namespace hookstream::server
