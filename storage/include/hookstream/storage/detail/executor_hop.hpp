// Awaiting a coroutine on another executor, with the caller's cancellation
// forwarded to it safely across threads.
//
// `co_await co_spawn(target, op, use_awaitable)` alone is not enough in Boost
// 1.81: co_spawn forwards the caller's cancellation by dispatching onto `target`
// a call through a raw pointer into the caller's cancellation slot. When the
// spawned coroutine completes on another thread while that call is queued, the
// caller resumes, clears its slot, and the queued call then emits into freed
// memory (later Asio versions hold the signal by shared_ptr for this reason).
// Here the caller's slot gets a handler that owns a shared signal and emits it
// on `target`, the only thread that may touch the spawned coroutine's state.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace hookstream::storage::detail {

// The coroutine spawned on the target. Its awaitable thread never throws for
// cancellation: after `op`, Boost 1.81's co_spawn posts once more when nothing
// suspended, and that post would throw operation_aborted on a cancelled thread
// after the result was made, so the caller would never resume. Then it hands on
// a cancellation the caller had already received (into its own state, through
// `signal`, on its own thread), and runs `op`.
template <class T>
boost::asio::awaitable<T> start_cancelled_if(std::shared_ptr<boost::asio::cancellation_signal> signal,
                                             boost::asio::cancellation_type already, boost::asio::awaitable<T> op) {
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  if (already != boost::asio::cancellation_type::none) signal->emit(already);
  co_return co_await std::move(op);
}

/// Runs `op` on `target` and returns its result to the caller, on the caller's
/// executor. Terminal cancellation of the caller, before or during the call,
/// reaches `op` on `target`. Exceptions of `op` propagate. The hop itself never
/// throws for cancellation: whether `op` honours it is up to `op`.
template <class T>
boost::asio::awaitable<T> await_on(boost::asio::any_io_executor target, boost::asio::awaitable<T> op) {
  namespace asio = boost::asio;
  auto signal = std::make_shared<asio::cancellation_signal>();
  asio::cancellation_state caller = co_await asio::this_coro::cancellation_state;
  asio::cancellation_slot slot = caller.slot();
  if (slot.is_connected()) {
    slot.assign([signal, target](asio::cancellation_type type) {
      asio::dispatch(target, [signal, type] { signal->emit(type); });
    });
  }
  // Unhooked explicitly on the way out, not by a destructor: when the
  // io_context is destroyed with this frame suspended, the caller's state may
  // be gone before this frame, and the slot's handler goes with it anyway.
  auto unhook = [&slot] {
    if (slot.is_connected()) slot.clear();
  };
  // Asio would throw operation_aborted at this co_await if the caller was
  // already cancelled; `op` reports cancellation its own way.
  const bool throws = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  auto spawned = asio::co_spawn(target, start_cancelled_if(signal, caller.cancelled(), std::move(op)),
                                asio::bind_cancellation_slot(signal->slot(), asio::use_awaitable));
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(spawned);
    } catch (...) {
      failure = std::current_exception();
    }
    unhook();
    co_await asio::this_coro::throw_if_cancelled(throws);
    if (failure) std::rethrow_exception(failure);
  } else {
    std::optional<T> result;
    try {
      result.emplace(co_await std::move(spawned));
    } catch (...) {
      failure = std::current_exception();
    }
    unhook();
    co_await asio::this_coro::throw_if_cancelled(throws);
    if (failure) std::rethrow_exception(failure);
    co_return std::move(*result);
  }
}

}  // namespace hookstream::storage::detail
