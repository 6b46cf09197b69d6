// The deadline of the one operation an object runs at a time (pg_connection).
//
// Why a generation number: Asio cannot take back a timer handler that is already
// queued. When the deadline passes just as an operation ends, the expiry handler
// is queued, `cancel()` finds nothing left to cancel, and the handler runs later
// with success, possibly while the *next* operation is armed; without a guard it
// would time that innocent operation out. Every arm() starts a new generation, the
// handler carries the generation it was armed for, and a handler of an older
// generation does nothing.
//
// Thread-safety: like its owner, used from the thread that runs its executor.
// Lifetime: handlers still queued when the object is destroyed do nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace hookstream::storage::detail {

class operation_deadline {
 public:
  using clock = std::chrono::steady_clock;

  /// `on_expiry` runs on `executor` when the deadline of the current operation
  /// passes: at most once per arm(), never after disarm() or destruction.
  operation_deadline(boost::asio::any_io_executor executor, std::function<void()> on_expiry);
  ~operation_deadline();
  operation_deadline(const operation_deadline&) = delete;
  operation_deadline& operator=(const operation_deadline&) = delete;

  /// Starts a new operation that must end by `deadline`.
  void arm(clock::time_point deadline);
  /// Ends the current operation. Returns the number of timer waits cancelled: 0
  /// means the expiry handler had already been queued (it will do nothing).
  std::size_t disarm() noexcept;
  /// True once the current operation's deadline has passed (reset by arm()).
  bool expired() const noexcept { return state_->expired; }
  /// Increases with every arm() and disarm().
  std::uint64_t generation() const noexcept { return state_->generation; }

 private:
  struct shared_state {
    std::uint64_t generation = 0;
    bool expired = false;
    std::function<void()> on_expiry;
  };
  std::shared_ptr<shared_state> state_;
  boost::asio::steady_timer timer_;
};

}  // namespace hookstream::storage::detail
