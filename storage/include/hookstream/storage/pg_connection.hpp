// One non-blocking libpq connection driven by an Asio event loop.
//
// Nothing here blocks the thread: connecting uses PQconnectStart/PQconnectPoll,
// queries are sent with PQsendQueryPrepared and read with PQconsumeInput/PQisBusy,
// and the coroutine suspends on socket readiness in between.
//
// Socket ownership: libpq owns the socket. We wrap it in a
// `posix::stream_descriptor` only to wait for readiness and always `release()` it
// before libpq could close it, so Asio never closes a descriptor it does not own.
//
// Thread-safety: a connection is used by one coroutine at a time, on an executor
// whose `io_context` is run by one thread (hookstream runs one io_context per
// thread). That matters beyond data races: Asio's epoll reactor is edge-triggered
// and its waits are not speculative, so before each wait we poll(2) the socket for
// data libpq left unread; the check is race-free only when the reactor cannot run
// on another thread between the poll and the wait.
//
// Errors: every failure is a `db_error`. After `connection_failed` or
// `query_timeout` raised by the client-side deadline, the connection is unusable
// (`usable()` is false) and must be dropped; after a server-side error
// (`query_failed`, or `query_timeout` from `statement_timeout`) it stays usable.
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/query_result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

struct pg_conn;  // libpq's PGconn

namespace hookstream::storage {

using clock = std::chrono::steady_clock;

/// A query parameter in text format; `std::nullopt` is SQL NULL.
using query_param = std::optional<std::string_view>;

enum class result_format { text = 0, binary = 1 };

class pg_connection {
 public:
  explicit pg_connection(boost::asio::any_io_executor executor);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// Opens the connection. `conninfo` is a libpq URL or key=value string.
  boost::asio::awaitable<db_result<void>> connect(std::string conninfo, clock::time_point deadline);

  /// Runs one statement with the extended protocol. The statement is prepared on
  /// first use and cached on this connection by its SQL text, so repeated calls
  /// cost one round trip. `sql` must stay the same text for the same statement.
  boost::asio::awaitable<db_result<query_result>> execute(std::string_view sql, std::span<const query_param> params,
                                                          result_format format, clock::time_point deadline);

  /// Runs SQL text with the simple protocol (several statements allowed, no
  /// parameters): migrations, SET, BEGIN/COMMIT. Returns the last result.
  boost::asio::awaitable<db_result<query_result>> execute_script(std::string_view sql, clock::time_point deadline);

  /// True when the connection is open and not known broken (maybe in a transaction).
  bool is_open() const noexcept;
  /// True when the connection is open, idle (no transaction) and not known broken.
  bool usable() const noexcept;
  /// Closes now. Safe to call at any time, also while nothing is pending.
  void close() noexcept;

  std::size_t prepared_statements() const noexcept { return statements_.size(); }

 private:
  enum class wait_for { read, write };
  boost::asio::awaitable<boost::system::error_code> wait_ready(wait_for what);
  boost::asio::awaitable<db_result<void>> flush_output();
  boost::asio::awaitable<db_result<query_result>> read_results();
  void arm_deadline(clock::time_point deadline);
  void disarm_deadline() noexcept;
  db_error fail(errc code, std::string message = {});
  db_error connection_error(std::string_view what);

  boost::asio::any_io_executor executor_;
  ::pg_conn* conn_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  boost::asio::steady_timer deadline_timer_;
  bool deadline_hit_ = false;
  bool broken_ = false;
  // Lets a deadline handler that was already queued see that we are gone.
  std::shared_ptr<pg_connection*> self_;
  // Transparent hashing: looking a statement up by string_view allocates nothing.
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, text_hash, std::equal_to<>> statements_;  // SQL -> name
};

}  // namespace hookstream::storage
