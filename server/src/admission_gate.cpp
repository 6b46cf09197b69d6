#include <hookstream/server/admission_gate.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace hookstream::server {
namespace asio = boost::asio;

// A request in the queue, until its turn, its deadline or its cancellation
// (whichever comes first marks it done; the queue drops done ones lazily).
struct admission_gate::waiter {
  waiter(std::uint64_t n, clock::time_point d) : number(n), deadline(d), since(clock::now()) {}
  virtual ~waiter() = default;
  /// Completes the wait as if by post, with a pass or without.
  virtual void finish(admission_gate& gate, bool admitted) = 0;
  std::uint64_t number;
  clock::time_point deadline;
  clock::time_point since;  // when it joined the queue
  bool done = false;
};

// What runs the awaiting coroutine's handler. The pass is made only when it
// runs: a completion destroyed unrun (its io_context torn down) holds none.
template <class Handler>
struct admission_gate::completion {
  Handler handler;
  admission_gate* gate;
  bool admitted;
  void operator()() {
    asio::get_associated_cancellation_slot(handler).clear();
    std::optional<pass> result;
    if (admitted) result.emplace(pass(gate));
    std::move(handler)(std::move(result));
  }
};

template <class Handler>
struct admission_gate::waiter_for final : waiter {
  waiter_for(std::uint64_t n, clock::time_point d, Handler&& h) : waiter(n, d), handler(std::move(h)) {}
  Handler handler;
  void finish(admission_gate& gate, bool admitted) override {
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, completion<Handler>{std::move(handler), &gate, admitted});
  }
};

// Installed in the awaiting coroutine's cancellation slot. It names its waiter
// by number, not by address: a cancellation that comes after the turn (the
// node may be gone by then) finds nothing and does nothing.
struct admission_gate::canceller {
  admission_gate* gate;
  std::uint64_t number;
  void operator()(asio::cancellation_type type) const {
    if (type != asio::cancellation_type::none) gate->give_up(number);
  }
};

// The timer's handler. While requests wait, exactly one is pending in the
// io_context; one destroyed unrun means the io_context is going away with
// them: the waiters' handlers (their coroutines, which may hold what holds
// this gate) are destroyed with it, as a pending operation's would be.
struct admission_gate::on_timer {
  std::shared_ptr<admission_gate*> gate;
  bool ran = false;
  on_timer(std::shared_ptr<admission_gate*> g) : gate(std::move(g)) {}
  on_timer(on_timer&& other) noexcept : gate(std::move(other.gate)), ran(other.ran) {}
  on_timer& operator=(on_timer&&) = delete;
  void operator()(boost::system::error_code ec) {
    ran = true;
    if (ec || !*gate) return;  // re-armed, or the gate is gone: touches nothing
    (*gate)->on_deadline();
  }
  ~on_timer() {
    if (!ran && gate && *gate) (*gate)->abandon_all();
  }
};

struct admission_gate::deadline_timer {
  explicit deadline_timer(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
};

admission_gate::admission_gate(std::size_t max_active) : max_active_(max_active) {}

admission_gate::~admission_gate() { *self_ = nullptr; }

asio::awaitable<std::optional<admission_gate::pass>> admission_gate::enter(clock::time_point deadline) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::optional<pass>)>(
      [this, deadline](auto handler) {
        using handler_type = decltype(handler);
        // A free place is never left while others wait: release hands it over.
        if (max_active_ == 0 || active_ < max_active_) {
          ++active_;  // the completion's pass owns it
          ++totals_.admitted;
          auto ex = asio::get_associated_executor(handler);
          asio::post(ex, completion<handler_type>{std::move(handler), this, true});
          return;
        }
        auto node = std::make_unique<waiter_for<handler_type>>(++numbered_, deadline, std::move(handler));
        auto slot = asio::get_associated_cancellation_slot(node->handler);
        if (slot.is_connected()) slot.template emplace<canceller>(canceller{this, node->number});
        if (!timer_) timer_ = std::make_unique<deadline_timer>(asio::get_associated_executor(node->handler));
        queue_.push_back(std::move(node));
        ++waiting_;
        arm(deadline);
      },
      asio::use_awaitable);
}

void admission_gate::release() noexcept {
  while (!queue_.empty()) {
    std::unique_ptr<waiter> next = std::move(queue_.front());
    queue_.pop_front();
    if (next->done) continue;
    next->done = true;
    --waiting_;
    ++totals_.admitted;
    ++totals_.waited;
    totals_.wait_time += clock::now() - next->since;
    next->finish(*this, true);  // the place passes on: active_ stays
    return;
  }
  --active_;
}

void admission_gate::abandon_all() noexcept {
  waiting_ = 0;
  armed_for_.reset();
  // Moved out first: destroying a waiter's coroutine may destroy this gate.
  auto doomed = std::move(queue_);
  queue_.clear();
}

void admission_gate::give_up(std::uint64_t number) {
  // Rare (a client that hangs up while it waits): a scan is cheap enough.
  const auto it =
      std::find_if(queue_.begin(), queue_.end(), [number](const auto& w) { return w->number == number; });
  if (it == queue_.end() || (*it)->done) return;
  (*it)->done = true;
  --waiting_;
  ++totals_.gave_up;
  (*it)->finish(*this, false);
}

// Runs the one timer to `deadline` unless it already runs to an earlier one.
void admission_gate::arm(clock::time_point deadline) {
  if (armed_for_ && *armed_for_ <= deadline) return;
  armed_for_ = deadline;
  timer_->timer.expires_at(deadline);  // a wait still pending ends with operation_aborted
  timer_->timer.async_wait(on_timer(self_));
}

// The earliest deadline came: those past theirs leave, the timer runs on to
// the next one. Deadlines come in about arrival order (one timeout per gate),
// so this runs about once per timeout while requests wait.
void admission_gate::on_deadline() {
  armed_for_.reset();
  const auto now = clock::now();
  std::optional<clock::time_point> next;
  for (auto& w : queue_) {
    if (w->done) continue;
    if (w->deadline <= now) {
      w->done = true;
      --waiting_;
      ++totals_.timed_out;
      w->finish(*this, false);
    } else if (!next || w->deadline < *next) {
      next = w->deadline;
    }
  }
  while (!queue_.empty() && queue_.front()->done) queue_.pop_front();
  if (next) arm(*next);
}

}  // namespace hookstream::server
