// One non-blocking libpq connection driven by an Asio event loop.
//
// Nothing here blocks the thread: host names are resolved with Asio's resolver
// (libpq then connects to the addresses through `hostaddr`, see
// detail/connect_target.hpp), connecting uses PQconnectStartParams/PQconnectPoll,
// queries are sent with PQsendQueryPrepared and read with PQconsumeInput/PQisBusy,
// the coroutine suspends on socket readiness in between, and cancel requests are
// sent by a helper thread (libpq 15's PQcancel blocks).
//
// Socket ownership: libpq owns the socket. We wrap it in a
// `posix::stream_descriptor` only to wait for readiness and always `release()` it
// before libpq could close it, so Asio never closes a descriptor it does not own.
//
// Readiness: Asio's epoll reactor is edge-triggered and its waits are not
// speculative, so before each wait we poll(2) the socket for data libpq left
// unread, and with TLS we first ask OpenSSL whether it holds decrypted bytes that
// libpq has not taken yet (SSL_has_pending): those are invisible to poll(2).
//
// Threads: the connection runs on a `serial_executor` made from the executor it
// is given (see serial_executor.hpp): as it is for an io_context(1), else a
// strand. Its operations may be awaited from a coroutine on any executor (off
// the connection's executor, each call hops onto it); one operation at a time,
// except `execute` in shared use (below).
// When another thread may run the reactor (a strand on an io_context that
// several threads run), the poll-before-wait check above is not enough: data
// arriving between the poll and the wait's registration raises its edge on that
// other thread, with no wait to complete. So once the wait is registered the
// socket is polled again, and the wait is woken if data is there.
// The synchronous members (`check_alive`, `close`, the accessors) and the
// destructor: on the connection's executor, or while no thread runs it.
//
// Deadlines and cancellation: every operation takes a deadline, and `connect`,
// `execute` and `execute_script` honour Asio per-operation cancellation of the
// awaiting coroutine (terminal cancellation through its cancellation slot, e.g.
// a co_spawn bound to a cancellation_signal): the caller gets
// `errc::query_timeout` (deadline) or `errc::cancelled` (cancellation) at once.
// If the statement had already been handed to libpq, a cancel request goes to
// the server at that moment (off the event loop) and the connection is left
// `needs_recovery()`: it must not run anything else until `recover()` has read
// it back to idle (the pool does this). An interrupted `connect` closes.
// If the awaiting coroutine is already cancelled when it calls an operation,
// Asio itself throws `operation_aborted` at the co_await, as for any operation.
//
// Errors: every failure is a `db_error`. After `connection_failed` the connection
// is closed and must be dropped; after a server-side error (`query_failed`, or
// `query_timeout` from `statement_timeout`) it stays usable.
//
// Statement modes: by default `execute` prepares each statement once under a
// name of its own and reuses it (one round trip per call). Behind a pooler in
// transaction mode (pgbouncer) a named statement may live on another server
// session than the next call reaches, and anything SET on a session leaks to
// other clients: `use_unnamed_statements` switches to unnamed statements (each
// call parses its SQL anew) with an optional prelude of transaction-local
// settings, pipelined in the same round trip and the same implicit transaction
// (one Sync), so nothing outlives the call on the server session.
//
// Shared use (pipelining): after `set_shared(true)` several coroutines may run
// `execute` on the connection at once (the pool lends it so to read-only work,
// see connection_pool.hpp). Each call is sent at once in libpq's pipeline mode
// as its own unit (Bind, Execute, Sync: its own implicit transaction, so an
// error fails that call alone) and its results are read in the order sent. One
// caller at a time reads for all (the oldest still waiting; when it is done,
// or gives up, the next takes over), so the server can run statements back to
// back from its input buffer, and one read can bring several callers' results:
// fewer wake-ups and system calls on both sides than one statement per
// connection at a time. Only `execute` may be used while shared.
// A caller whose deadline passes (or that is cancelled) stops waiting at once;
// its statement is not cancelled (a cancel request cannot say which statement
// it means), its results are read and dropped by whoever reads next. So a
// statement that runs long delays the calls sent after it on this connection
// up to their own deadlines (the server's statement_timeout bounds it). When
// shared use ends with abandoned statements still outstanding, they are
// cancelled on the server and the connection `needs_recovery()` as after an
// interrupted statement. A lost connection fails every outstanding call with
// `connection_failed`.
#pragma once

#include <hookstream/storage/detail/operation_deadline.hpp>
#include <hookstream/storage/error.hpp>
#include <hookstream/storage/query_result.hpp>
#include <hookstream/storage/serial_executor.hpp>
#include <hookstream/storage/text_hash.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

struct pg_conn;  // libpq's PGconn

namespace hookstream::storage {

using clock = std::chrono::steady_clock;

/// A query parameter in text format; `std::nullopt` is SQL NULL.
using query_param = std::optional<std::string_view>;

enum class result_format { text = 0, binary = 1 };

namespace detail {
class cancel_outcome;
}

class pg_connection {
 public:
  /// Runs on `serial_executor(executor)`.
  explicit pg_connection(boost::asio::any_io_executor executor);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  /// Opens the connection. `conninfo` is a libpq URL or key=value string; host
  /// names in it are resolved asynchronously (libpq gets them as `hostaddr`, the
  /// name stays `host` for TLS and .pgpass). `application_name` defaults to
  /// "hookstream". Errors: `connection_failed` (also past `deadline`), `cancelled`.
  boost::asio::awaitable<db_result<void>> connect(std::string conninfo, clock::time_point deadline);

  /// The application_name the server sees when `conninfo` sets none (default
  /// "hookstream"): tells pooled request connections from others in
  /// pg_stat_activity. Takes effect at the next connect().
  void set_fallback_application_name(std::string name) { fallback_application_name_ = std::move(name); }

  /// Runs one statement with the extended protocol. The statement is prepared on
  /// first use and cached on this connection by its SQL text, so repeated calls
  /// cost one round trip. `sql` must stay the same text for the same statement.
  boost::asio::awaitable<db_result<query_result>> execute(std::string_view sql, std::span<const query_param> params,
                                                          result_format format, clock::time_point deadline);

  /// From the next `execute` on, statements are sent unnamed (parsed on every
  /// call, nothing prepared is kept on the server) and, when `prelude` is not
  /// empty, `prelude` (one parameterless statement, e.g. `SELECT
  /// set_config('statement_timeout', '5000', true)`) runs first, pipelined with
  /// the statement up to one Sync: one round trip, one implicit transaction,
  /// so transaction-local settings hold for the statement and end with it. An
  /// error of the prelude fails the call. Forgets statements prepared so far on
  /// this side (the server may still hold them until the session ends).
  void use_unnamed_statements(std::string prelude);
  /// True after `use_unnamed_statements`.
  bool unnamed_statements() const noexcept { return unnamed_; }

  /// Starts or ends shared use (see "Shared use" above). Ending it with
  /// statements still outstanding (all abandoned by their callers) cancels them
  /// on the server and leaves the connection `needs_recovery()`.
  /// Precondition for starting: `usable()` and named statements.
  void set_shared(bool shared) noexcept;
  bool shared() const noexcept { return shared_; }
  /// True when one more caller may share the connection: shared, open, not
  /// closing and not being recovered.
  bool shareable() const noexcept;
  /// Statements sent in shared use whose results are not read yet (those of
  /// callers that gave up included).
  std::size_t outstanding() const noexcept { return calls_.size(); }

  /// Runs SQL text with the simple protocol (several statements allowed, no
  /// parameters): migrations, SET, BEGIN/COMMIT. Returns the last result.
  boost::asio::awaitable<db_result<query_result>> execute_script(std::string_view sql, clock::time_point deadline);

  /// Waits for a notification (LISTEN/NOTIFY) on this idle connection: returns
  /// true once at least one has arrived (all that arrived so far are taken, so a
  /// burst of NOTIFYs wakes the caller once), false when `deadline` passed first.
  /// Notifications that arrived while a statement ran count too: they are kept
  /// by libpq until this call takes them. Only the fact of a notification is
  /// reported, not its channel or payload (hookstream uses them as wake-ups;
  /// the data lives in tables). Precondition: `usable()`, no statement running.
  /// Errors: `connection_failed` (the connection is closed), `cancelled`.
  boost::asio::awaitable<db_result<bool>> wait_for_notification(clock::time_point deadline);

  /// After an interrupted operation (`needs_recovery()`): finishes sending what
  /// libpq still holds, reads the statement's results until the connection is
  /// idle again, and waits until the cancel request has been delivered (so it
  /// cannot hit a later statement). Returns true when the connection is usable
  /// again; false, and closed, when that did not happen by `deadline` or the
  /// connection broke. Without `needs_recovery()`, returns `usable()`.
  boost::asio::awaitable<bool> recover(clock::time_point deadline);

  /// Checks without waiting that the server has not closed an idle connection:
  /// reads what the socket holds (a FATAL notice, end of file) and returns false,
  /// closing the connection, when it is gone. Cheap (a poll(2) with no timeout).
  bool check_alive() noexcept;

  /// True when the connection is open and not known broken (maybe in a transaction).
  bool is_open() const noexcept;
  /// True when open, idle (no transaction, not in pipeline mode), with no
  /// interrupted statement.
  bool usable() const noexcept;
  /// True after an operation was interrupted with its statement in flight.
  bool needs_recovery() const noexcept { return needs_recovery_; }
  /// Closes now. Safe to call at any time, also while nothing is pending.
  void close() noexcept;

  /// Statements that returned their result (a prepare does not count; never
  /// decreases).
  std::uint64_t results_received() const noexcept { return results_received_; }
  /// When the server last proved alive: the connect, or the last result.
  clock::time_point last_alive() const noexcept { return last_alive_; }
  /// The server process serving this connection (0 when closed).
  int backend_pid() const noexcept;
  /// PQserverVersion, e.g. 150018 (0 when closed).
  int server_version() const noexcept;
  /// True when the connection is encrypted with TLS.
  bool tls_in_use() const noexcept;

  std::size_t prepared_statements() const noexcept { return statements_.size(); }
  /// The executor this connection's work runs on.
  const serial_executor& executor() const noexcept { return executor_; }

 private:
  enum class wait_for { read, write };
  enum class wait_status { ready, deadline, cancelled, failed };
  boost::asio::awaitable<wait_status> wait_ready(wait_for what);
  bool socket_ready(wait_for what) const noexcept;
  bool lost_in_pipeline(int& nulls_in_a_row) const noexcept;
  boost::asio::awaitable<db_result<void>> resolve_and_start(const std::string& conninfo, clock::time_point deadline);
  boost::asio::awaitable<db_result<void>> connect_steps(std::string conninfo, clock::time_point deadline);
  boost::asio::awaitable<db_result<query_result>> run_statement(std::string_view sql,
                                                                std::span<const query_param> params,
                                                                result_format format, clock::time_point deadline);
  struct pipelined_call;
  boost::asio::awaitable<db_result<query_result>> run_pipelined(std::string_view sql,
                                                                std::span<const query_param> params,
                                                                result_format format, clock::time_point deadline);
  boost::asio::awaitable<db_result<query_result>> await_call(std::shared_ptr<pipelined_call> call,
                                                             clock::time_point deadline);
  boost::asio::awaitable<wait_status> read_pipeline(const pipelined_call* until);
  void pass_reading() noexcept;
  boost::asio::awaitable<bool> drain_abandoned(clock::time_point deadline);
  void fail_outstanding_calls(const db_error& cause) noexcept;
  boost::asio::awaitable<db_result<query_result>> run_script(std::string_view sql, clock::time_point deadline);
  boost::asio::awaitable<bool> run_recovery(clock::time_point deadline);
  boost::asio::awaitable<db_result<bool>> run_notification_wait(clock::time_point deadline);
  bool take_notifications() noexcept;
  boost::asio::awaitable<db_result<void>> flush_output();
  boost::asio::awaitable<db_result<query_result>> read_results();
  bool tls_pending() const noexcept;
  void request_server_cancel() noexcept;
  db_error interrupted(wait_status why, std::string_view what);
  db_error fail(errc code, std::string message = {});
  db_error connection_error(std::string_view what);
  static void on_notice(void* self, const struct pg_result* notice);

  serial_executor executor_;
  ::pg_conn* conn_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  detail::operation_deadline deadline_;
  bool broken_ = false;
  bool connecting_ = false;
  // A statement was handed to libpq and its results are not all read yet.
  bool in_flight_ = false;
  std::string fallback_application_name_ = "hookstream";
  // Readiness found without waiting, in a row: a large result streaming in
  // would otherwise be read in one go, holding the event loop (see wait_ready).
  unsigned ready_without_waiting_ = 0;
  bool needs_recovery_ = false;
  // The server sent a FATAL notice while idle: it is closing this session.
  bool server_closing_ = false;
  std::shared_ptr<const detail::cancel_outcome> cancel_;
  std::uint64_t results_received_ = 0;
  clock::time_point last_alive_{};
  std::uint64_t next_statement_ = 0;
  bool unnamed_ = false;
  std::string prelude_;
  std::unordered_map<std::string, std::string, text_hash, std::equal_to<>> statements_;  // SQL -> name
  // Shared use: the calls sent and not yet answered, oldest first, and whether
  // one of their callers is reading for all.
  bool shared_ = false;
  bool reading_ = false;
  std::deque<std::shared_ptr<pipelined_call>> calls_;
  // Statement names whose prepare is sent and not answered yet (shared use).
  std::unordered_set<std::string> unconfirmed_;
};

}  // namespace hookstream::storage
