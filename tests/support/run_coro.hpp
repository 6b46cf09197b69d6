// Runs coroutines to completion on a fresh single-threaded io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace hookstream::test {

/// Runs `make(io)`'s awaitable on `io` until everything on it is done; returns its value.
template <class Make>
auto run_on(boost::asio::io_context& io, Make&& make) {
  auto future = boost::asio::co_spawn(io, make(), boost::asio::use_future);
  io.run();
  io.restart();
  return future.get();
}

}  // namespace hookstream::test
