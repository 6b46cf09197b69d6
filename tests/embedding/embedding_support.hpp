// What the embedding tests share: hookstream's pool and handler on an
// io_context that several threads run (the layout gateways use), requests
// built in-process, and answers read as JSON.
#pragma once

#include "support/test_database.hpp"

#include <hookstream/server/api_handler.hpp>
#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hookstream::test {

/// An io_context with Asio's default concurrency hint, run by `threads` threads
/// until `join()` or destruction (a work guard keeps them running meanwhile).
class threaded_io {
 public:
  explicit threaded_io(unsigned threads);
  ~threaded_io();
  threaded_io(const threaded_io&) = delete;
  threaded_io& operator=(const threaded_io&) = delete;

  boost::asio::io_context& io() { return io_; }
  /// Lets run() return once the work is done, and joins the threads.
  void join();
  /// io_context::stop(), then joins: whatever is in flight is abandoned.
  void stop_and_join();

  /// Runs `make()`'s awaitable on a new strand of the io_context (as a
  /// gateway's connection would) and waits for its value.
  template <class Make>
  auto run(Make make) {
    return boost::asio::co_spawn(boost::asio::make_strand(io_), make(), boost::asio::use_future).get();
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
};

/// The pool's figures, read on the pool's executor (they are plain counters).
storage::pool_stats stats_of(storage::connection_pool& pool);

/// The pool settings the embedding tests use (the test database).
storage::pool_config pool_settings(std::size_t max_size);
/// A handler configuration with the tests' cursor secret.
server::handler_config handler_settings();

/// GET `target` with extra headers ("Name: value" each).
server::http_request get_request(const std::string& target, const std::vector<std::string>& headers = {});

/// The JSON body of an answer (throws when it is not JSON).
boost::json::value json_of(const server::http_response& res);
/// Ids of a listing page, in order.
std::vector<std::string> ids_of(const server::http_response& res);
/// Checks the error body: {"error", "status" = the answer's, "request_id" = X-Request-Id}.
void check_error_body(const server::http_response& res);

/// Polls `condition` every millisecond until it holds or `limit` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace hookstream::test
