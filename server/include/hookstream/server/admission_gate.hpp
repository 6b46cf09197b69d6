// How many requests of one handler thread do their work at once; the others
// wait their turn, first come, first served.
//
// Why: a request waiting for a pooled connection holds its whole chain of
// coroutine frames (handler, authentication, endpoint, read router, pool); one
// waiting here holds only the frames above the gate. Measured with valgrind
// massif on hookstream-server (2 threads x 4 connections, 1,024 keep-alive
// clients asking for one-row pages): the heap's peak was 19.4 MB without the
// gate and 11.7 MB with 16 places per thread, about 7.5 KB less per waiting
// request. So the clients beyond the pool's capacity queue here, cheaply, and
// the pool's own queue stays short.
//
// Bounds: at most `max_active` passes are out at once. The queue has no bound
// of its own: a connection has at most one request in it, and the listener
// bounds connections (listener_config::max_connections); a waiter leaves it by
// its deadline at the latest.
//
// Threads: not thread-safe; every call on the executor the gate's requests run
// on (an api_handler's, one per thread in hookstream-server).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

namespace hookstream::server {

class admission_gate {
 public:
  using clock = std::chrono::steady_clock;

  /// `max_active` 0: no bound (`enter` never waits).
  explicit admission_gate(std::size_t max_active) noexcept : max_active_(max_active) {}
  admission_gate(const admission_gate&) = delete;
  admission_gate& operator=(const admission_gate&) = delete;
  ~admission_gate();

  /// A place among the active requests. Destroying it hands the place to the
  /// longest waiting request, or frees it. The gate must outlive it.
  class pass {
   public:
    pass(pass&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    pass& operator=(pass&&) = delete;
    ~pass() {
      if (gate_) gate_->release();
    }

   private:
    friend class admission_gate;
    explicit pass(admission_gate* gate) noexcept : gate_(gate) {}
    admission_gate* gate_;
  };

  /// A pass if fewer than `max_active` are out (none is then waiting), else
  /// nullopt. Not a coroutine: the common case costs no frame.
  std::optional<pass> try_enter() noexcept {
    if (max_active_ != 0 && active_ >= max_active_) return std::nullopt;
    ++active_;
    return pass(this);
  }

  /// A pass at once if fewer than `max_active` are out, else after the requests
  /// that came before; nullopt if `deadline` passes first, or if the awaiting
  /// coroutine is cancelled (its client hung up): the request then gives up
  /// its turn. Never throws for either: neither is an error of the server's.
  boost::asio::awaitable<std::optional<pass>> enter(clock::time_point deadline);

  std::size_t active() const noexcept { return active_; }
  std::size_t waiting() const noexcept { return waiting_; }

 private:
  struct waiter;
  void release() noexcept;

  std::size_t max_active_;
  std::size_t active_ = 0;
  std::size_t waiting_ = 0;  // waiters still in their turn (queue_ may also hold ones that gave up)
  std::deque<std::shared_ptr<waiter>> queue_;
};

}  // namespace hookstream::server
