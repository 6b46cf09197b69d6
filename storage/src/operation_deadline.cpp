#include <hookstream/storage/detail/operation_deadline.hpp>

namespace hookstream::storage::detail {

operation_deadline::operation_deadline(boost::asio::any_io_executor executor, std::function<void()> on_expiry)
    : state_(std::make_shared<shared_state>()), timer_(std::move(executor)) {
  state_->on_expiry = std::move(on_expiry);
}

operation_deadline::~operation_deadline() {
  // A handler already queued finds the state gone (weak_ptr) or stale.
  ++state_->generation;
  timer_.cancel();
}

void operation_deadline::arm(clock::time_point deadline) {
  const std::uint64_t generation = ++state_->generation;
  state_->expired = false;
  timer_.expires_at(deadline);
  timer_.async_wait([weak = std::weak_ptr<shared_state>(state_), generation](boost::system::error_code ec) {
    if (ec) return;  // cancelled while still pending
    auto state = weak.lock();
    if (!state || state->generation != generation) return;  // queued before a disarm: stale
    state->expired = true;
    state->on_expiry();
  });
}

std::size_t operation_deadline::disarm() noexcept {
  ++state_->generation;
  return timer_.cancel();
}

}  // namespace hookstream::storage::detail
