#include <hookstream/server/admission_gate.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hookstream::server {
namespace asio = boost::asio;

// A request in the queue: its timer runs to its deadline, and is cancelled
// early when the request is admitted (or its coroutine is cancelled).
struct admission_gate::waiter {
  explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool admitted = false;  // a pass was handed over: whatever ended the wait, it is ours
  bool gone = false;      // gave up its turn (deadline or cancellation): skipped
};

admission_gate::~admission_gate() = default;

asio::awaitable<std::optional<admission_gate::pass>> admission_gate::enter(clock::time_point deadline) {
  // A free place is never left while others wait: release hands it over.
  if (auto now = try_enter()) co_return std::move(*now);
  auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
  w->timer.expires_at(deadline);
  queue_.push_back(w);
  ++waiting_;
  // Ends at the deadline, at the hand-over, or when the coroutine is cancelled.
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  // Admitted counts first: the deadline may have fired in the same turn as
  // the hand-over, and the place must not be lost.
  if (w->admitted) co_return pass(this);
  w->gone = true;
  --waiting_;
  co_return std::nullopt;
}

void admission_gate::release() noexcept {
  while (!queue_.empty()) {
    std::shared_ptr<waiter> next = std::move(queue_.front());
    queue_.pop_front();
    if (next->gone) continue;
    next->admitted = true;
    --waiting_;
    next->timer.cancel();  // the place passes on: active_ stays
    return;
  }
  --active_;
}

}  // namespace hookstream::server
