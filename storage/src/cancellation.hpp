// How storage operations meet Asio per-operation cancellation.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

namespace hookstream::storage::detail {

/// True when the calling coroutine has been asked to stop (terminal cancellation
/// through its cancellation slot, under Asio's default filter).
inline boost::asio::awaitable<bool> cancellation_requested() {
  auto state = co_await boost::asio::this_coro::cancellation_state;
  co_return state.cancelled() != boost::asio::cancellation_type::none;
}

/// Runs `op` with Asio's throw_if_cancelled switched off, then restores the
/// caller's setting. Asio would otherwise throw `operation_aborted` at the next
/// co_await once cancellation was requested; storage operations report it as a
/// value (`errc::cancelled`) and must still be able to tidy up.
template <class T>
boost::asio::awaitable<T> reporting_cancellation(boost::asio::awaitable<T> op) {
  const bool throws = co_await boost::asio::this_coro::throw_if_cancelled();
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  T result = co_await std::move(op);
  co_await boost::asio::this_coro::throw_if_cancelled(throws);
  co_return result;
}

}  // namespace hookstream::storage::detail
