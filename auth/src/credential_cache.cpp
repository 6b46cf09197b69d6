#include <hookstream/auth/credential_cache.hpp>

namespace hookstream::auth {

std::optional<auth_outcome> credential_cache::find(std::string_view key, clock::time_point now) {
  if (const auth_outcome* hit = entries_.find(key, now)) return *hit;
  return std::nullopt;
}

void credential_cache::store(std::string_view key, auth_outcome outcome, clock::time_point now,
                             clock::time_point not_after) {
  const auto ttl = std::holds_alternative<storage::tenant_id>(outcome) ? ttl_ : failure_ttl_;
  if (ttl.count() <= 0) return;
  entries_.store(key, std::move(outcome), now, std::min(now + ttl, not_after));
}

}  // namespace hookstream::auth
