// Runs coroutines to completion on a fresh io_context run by the test's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <string_view>

namespace hookstream::test {

/// The concurrency hint storage tests give their io_context. Unset: Asio's
/// default, which tells hookstream that any number of threads may run it (so
/// pools and connections run on strands, and the tests' coroutines hop onto
/// them). HOOKSTREAM_TEST_IO_HINT=1: io_context(1), hookstream-server's layout
/// (no strand). ctest runs the storage suite both ways.
inline int io_concurrency_hint() {
  const char* hint = std::getenv("HOOKSTREAM_TEST_IO_HINT");
  return hint && std::string_view(hint) == "1" ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT;
}

/// Runs `make(io)`'s awaitable on `io` until everything on it is done; returns its value.
template <class Make>
auto run_on(boost::asio::io_context& io, Make&& make) {
  auto future = boost::asio::co_spawn(io, make(), boost::asio::use_future);
  io.run();
  io.restart();
  return future.get();
}

}  // namespace hookstream::test
