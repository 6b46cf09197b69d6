#include <hookstream/auth/credential_cache.hpp>

namespace hookstream::auth {

std::optional<auth_outcome> credential_cache::find(const std::string& key, clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= now) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return it->second.outcome;
}

void credential_cache::store(const std::string& key, auth_outcome outcome, clock::time_point now,
                             clock::time_point not_after) {
  const auto ttl = std::holds_alternative<storage::tenant_id>(outcome) ? ttl_ : failure_ttl_;
  if (ttl.count() <= 0 || capacity_ == 0) return;
  const auto expires = std::min(now + ttl, not_after);
  if (expires <= now) return;
  if (!entries_.count(key)) make_room(now);
  entries_[key] = entry{std::move(outcome), expires};
  order_.emplace_back(key, expires);
}

void credential_cache::make_room(clock::time_point now) {
  // The queue may hold stale records of keys stored again later; a record only
  // evicts the entry it was made for (same expiry).
  while (!order_.empty() && (entries_.size() >= capacity_ || order_.front().second <= now)) {
    auto& [key, expires] = order_.front();
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires == expires) entries_.erase(it);
    order_.pop_front();
  }
  // Bound the queue too: records of overwritten entries can pile up.
  while (order_.size() > 4 * capacity_ + 16) order_.pop_front();
}

}  // namespace hookstream::auth
