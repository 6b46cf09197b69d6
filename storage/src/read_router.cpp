#include <hookstream/storage/read_router.hpp>

namespace hookstream::storage {

read_router::read_router(connection_pool& primary) : primary_(primary), reads_(1, 0) {}

read_router::read_router(connection_pool& primary, std::vector<connection_pool*> replicas,
                         std::shared_ptr<const replica_health> health)
    : primary_(primary), replicas_(std::move(replicas)), health_(std::move(health)), reads_(1 + replicas_.size(), 0) {
  if (!health_ || health_->size() < replicas_.size()) replicas_.clear();  // nothing says they are usable
}

std::optional<std::size_t> read_router::pick_replica() {
  const std::size_t n = replicas_.size();
  if (n == 0) return std::nullopt;
  const auto now = clock::now();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (next_ + k) % n;
    if (health_->usable(i, now) && !replicas_[i]->known_down()) {
      next_ = i + 1;
      return i;
    }
  }
  return std::nullopt;
}

bool read_router::worth_the_primary(const db_error& e) noexcept {
  // 40001 on a standby: "canceling statement due to conflict with recovery".
  return e.code == errc::connection_failed || e.sqlstate == "40001";
}

}  // namespace hookstream::storage
