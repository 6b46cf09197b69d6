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
// Where: http_listener waits here for a mounted api_handler's requests as soon
// as they are parsed, before calling the handler (api_handler::admission), so
// that a waiting request holds even less: its parsed bytes and one node here.
//
// Waiting costs no timer per waiter: the waiters are nodes of one queue, and
// one timer per gate runs to the earliest deadline among them. Measured with
// two hookstream-servers at 1,024 keep-alive clients, alternated (README,
// item 6): waiting in the listener with this queue, 1.07x the throughput of
// waiting in the handler (20 rounds); the same with a timer per waiter, armed
// and cancelled for every waiting request, 0.97x (10 rounds).
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
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

namespace hookstream::server {

class admission_gate {
 public:
  using clock = std::chrono::steady_clock;

  /// `max_active` 0: no bound (`enter` never waits).
  explicit admission_gate(std::size_t max_active);
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
    ++totals_.admitted;
    return pass(this);
  }

  /// A pass at once if fewer than `max_active` are out, else after the requests
  /// that came before; nullopt if `deadline` passes first, or if the awaiting
  /// coroutine is cancelled (its client hung up): the request then gives up
  /// its turn. Never throws for either: neither is an error of the server's.
  /// Completes as if by post (on the awaiting coroutine's executor), also when
  /// a place is free at once: call `try_enter` first for the common case.
  boost::asio::awaitable<std::optional<pass>> enter(clock::time_point deadline);

  std::size_t active() const noexcept { return active_; }
  std::size_t waiting() const noexcept { return waiting_; }

  /// What the gate did since it was made (/metrics reports them per window of
  /// a load test: how many requests queued here, and for how long).
  struct totals {
    std::uint64_t admitted = 0;   ///< passes given (try_enter's and enter's)
    std::uint64_t waited = 0;     ///< of them, the ones given after a turn in the queue
    clock::duration wait_time{};  ///< those turns' time in the queue, summed
    std::uint64_t timed_out = 0;  ///< requests that left the queue at their deadline
    std::uint64_t gave_up = 0;    ///< requests that left it cancelled (their client hung up)
  };
  const totals& counts() const noexcept { return totals_; }

 private:
  struct waiter;
  template <class Handler>
  struct waiter_for;
  template <class Handler>
  struct completion;
  struct canceller;
  struct deadline_timer;
  struct on_timer;
  void release() noexcept;
  void abandon_all() noexcept;
  void give_up(std::uint64_t number);
  void arm(clock::time_point deadline);
  void on_deadline();

  std::size_t max_active_;
  std::size_t active_ = 0;
  totals totals_;
  std::size_t waiting_ = 0;  // waiters still in their turn (queue_ may also hold ones that left)
  std::deque<std::unique_ptr<waiter>> queue_;
  std::uint64_t numbered_ = 0;  // the last waiter's number (a cancellation finds its waiter by it)
  std::unique_ptr<deadline_timer> timer_;  // made for the first waiter, on its executor
  std::optional<clock::time_point> armed_for_;  // the timer's expiry while it runs
  // The timer's handler may run after the gate is gone (it was due already when
  // the gate was destroyed): it finds null here.
  std::shared_ptr<admission_gate*> self_ = std::make_shared<admission_gate*>(this);
};

}  // namespace hookstream::server
