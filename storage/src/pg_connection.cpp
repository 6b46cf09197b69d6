#include "cancel_sender.hpp"
#include "cancellation.hpp"

#include <hookstream/encoding/ascii.hpp>
#include <hookstream/storage/detail/connect_target.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace hookstream::storage {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string trimmed(const char* message) {
  return std::string(encoding::trim_trailing_whitespace(message ? message : ""));
}

// Host names resolved on Asio's resolver thread; the coroutine waits on a timer
// (which, unlike the resolver, honours per-operation cancellation) that the last
// answer, the deadline or a cancellation ends.
struct resolve_job {
  explicit resolve_job(const asio::any_io_executor& ex) : timer(ex), resolver(ex) {}
  asio::steady_timer timer;
  asio::ip::tcp::resolver resolver;
  std::vector<std::vector<std::string>> addresses;
  std::size_t pending = 0;
  std::string errors;
};

// Parameters as libpq takes them, all in text format. libpq ignores lengths for
// text-format parameters, so they must be NUL-terminated: they are copied.
struct text_params {
  explicit text_params(std::span<const query_param> params)
      : values(params.size()), lengths(params.size()), formats(params.size(), 0) {
    storage.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!params[i]) continue;
      storage.emplace_back(*params[i]);
      values[i] = storage.back().c_str();
      lengths[i] = static_cast<int>(storage.back().size());
    }
  }
  int count() const noexcept { return static_cast<int>(values.size()); }

  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<std::string> storage;
};

// A result that is an error, as a db_error.
db_error error_of(const PGresult* raw) {
  const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  db_error e{errc::query_failed, trimmed(PQresultErrorMessage(raw)), state ? state : ""};
  // 57014 = query_canceled (statement_timeout); 57P01 and friends end the session.
  e.code = classify_sqlstate(e.sqlstate);
  return e;
}
}  // namespace

// One caller's unit in the pipeline: its result (or error) once read.
struct pg_connection::pipelined_call {
  explicit pipelined_call(const asio::any_io_executor& executor) : wake(executor) {}
  // The caller waits on it; cancelled when the call is answered or the reading
  // is handed to this caller.
  asio::steady_timer wake;
  std::optional<db_result<query_result>> outcome;
  query_result kept;
  std::optional<db_error> error;
  // The unit starts with the Parse of a statement new to this connection: the
  // first result is the prepare's. Its SQL, to forget the name if it failed.
  std::string prepared_sql, prepared_name;
  bool prepare_result_pending = false;
  bool abandoned = false;       // the caller stopped waiting
  bool take_reading = false;    // the caller is to read for all
};

pg_connection::pg_connection(asio::any_io_executor executor)
    : executor_(std::move(executor)), deadline_(executor_.get(), [this] {
        // Wakes the pending readiness wait with operation_aborted.
        if (socket_) socket_->cancel();
      }) {}

pg_connection::~pg_connection() { close(); }

void pg_connection::use_unnamed_statements(std::string prelude) {
  unnamed_ = true;
  prelude_ = std::move(prelude);
  statements_.clear();
}

void pg_connection::close() noexcept {
  fail_outstanding_calls(db_error{errc::connection_failed, "the connection was closed", {}});
  calls_.clear();
  deadline_.disarm();
  if (socket_) {
    // libpq owns the descriptor: hand it back before PQfinish closes it.
    socket_->release();
    socket_.reset();
  }
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  statements_.clear();
  unconfirmed_.clear();
  broken_ = true;
  in_flight_ = false;
  needs_recovery_ = false;
  server_closing_ = false;
  cancel_.reset();
}

bool pg_connection::is_open() const noexcept { return conn_ && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool pg_connection::usable() const noexcept {
  return is_open() && !needs_recovery_ && !server_closing_ && PQtransactionStatus(conn_) == PQTRANS_IDLE &&
         PQpipelineStatus(conn_) == PQ_PIPELINE_OFF;
}

int pg_connection::backend_pid() const noexcept { return conn_ ? PQbackendPID(conn_) : 0; }
int pg_connection::server_version() const noexcept { return conn_ ? PQserverVersion(conn_) : 0; }
bool pg_connection::tls_in_use() const noexcept { return conn_ && PQsslInUse(conn_); }

bool pg_connection::tls_pending() const noexcept {
  if (!conn_ || !PQsslInUse(conn_)) return false;
  auto* ssl = static_cast<SSL*>(PQsslStruct(conn_, "OpenSSL"));
  return ssl && SSL_has_pending(ssl) == 1;
}

void pg_connection::on_notice(void* arg, const PGresult* notice) {
  auto* self = static_cast<pg_connection*>(arg);
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  // An ErrorResponse outside a query reaches us as a notice: it is the server
  // saying why it is about to close the session (shutdown, terminated backend).
  if (severity && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0))
    self->server_closing_ = true;
  std::fputs(PQresultErrorMessage(notice), stderr);  // libpq's default behaviour
}

db_error pg_connection::fail(errc code, std::string message) {
  db_error error{code, std::move(message), {}};
  if (code == errc::connection_failed) {
    // The protocol state is unknown now: the only safe thing is a new
    // connection. Callers sharing it hear the same cause (before close()
    // would tell them only that it was closed).
    fail_outstanding_calls(error);
    close();
  }
  return error;
}

db_error pg_connection::connection_error(std::string_view what) {
  return fail(errc::connection_failed, std::string(what) + ": " + trimmed(conn_ ? PQerrorMessage(conn_) : nullptr));
}

void pg_connection::request_server_cancel() noexcept {
  if (conn_) cancel_ = detail::send_cancel(PQgetCancel(conn_));
}

db_error pg_connection::interrupted(wait_status why, std::string_view what) {
  if (why == wait_status::failed) return connection_error(what);
  const errc code = why == wait_status::deadline ? errc::query_timeout : errc::cancelled;
  std::string message = std::string(what) + (why == wait_status::deadline ? ": deadline exceeded" : ": cancelled");
  if (connecting_) {
    // A half-open connection is worth nothing: close it.
    close();
    return db_error{why == wait_status::deadline ? errc::connection_failed : errc::cancelled, std::move(message), {}};
  }
  if (in_flight_) {
    // The statement may be running: stop it on the server now, and keep the
    // connection out of use until recover() has read it back to idle.
    request_server_cancel();
    needs_recovery_ = true;
  }
  return db_error{make_error_code(code), std::move(message), {}};
}

bool pg_connection::lost_in_pipeline(int& nulls_in_a_row) const noexcept {
  // In pipeline mode each statement's results end with a null, and a unit's
  // with PGRES_PIPELINE_SYNC. A connection that broke halfway only ever returns
  // nulls: more in a row than a unit has statements (two: a prepare or a
  // prelude, and the statement) means it is gone.
  return PQstatus(conn_) != CONNECTION_OK || ++nulls_in_a_row > 2;
}

bool pg_connection::socket_ready(wait_for what) const noexcept {
  pollfd pfd{PQsocket(conn_), static_cast<short>(what == wait_for::read ? POLLIN : POLLOUT), 0};
  return ::poll(&pfd, 1, 0) > 0;
}

asio::awaitable<pg_connection::wait_status> pg_connection::wait_ready(wait_for what) {
  if (deadline_.expired()) co_return wait_status::deadline;
  if (co_await detail::cancellation_requested()) co_return wait_status::cancelled;
  if (what == wait_for::read && tls_pending()) co_return wait_status::ready;
  // Edge-triggered reactor: data that arrived before this wait (and that libpq did
  // not read yet) raises no new edge. Look first; wait only if nothing is there.
  if (socket_ready(what)) {
    // While a large result streams in, data is there again each time libpq has
    // read some (~a socket buffer). Reading it all in one go would hold the event
    // loop for the whole transfer (measured: >100 ms for a 4 MB page), so every
    // few reads the other work queued on this thread gets its turn.
    if (++ready_without_waiting_ % 4 == 0) {
      co_await asio::post(executor_.get(), asio::use_awaitable);
      if (deadline_.expired()) co_return wait_status::deadline;
      if (co_await detail::cancellation_requested()) co_return wait_status::cancelled;
    }
    co_return wait_status::ready;
  }
  ready_without_waiting_ = 0;
  const auto kind =
      what == wait_for::read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
  bool woken_by_poll = false;
  auto [ec] = co_await asio::async_initiate<decltype(use_tuple), void(error_code)>(
      [this, kind, what, &woken_by_poll](auto handler) {
        socket_->async_wait(kind, std::move(handler));
        // Another thread may run the reactor (see the header): what arrived
        // since the poll above may have raised its edge there, before this
        // wait existed. Registered now, so look once more.
        if (!executor_.single_threaded() && socket_ready(what)) {
          woken_by_poll = true;
          socket_->cancel();
        }
      },
      use_tuple);
  if (deadline_.expired()) co_return wait_status::deadline;
  if (co_await detail::cancellation_requested()) co_return wait_status::cancelled;
  if (woken_by_poll) co_return wait_status::ready;
  co_return ec ? wait_status::failed : wait_status::ready;
}

asio::awaitable<db_result<void>> pg_connection::connect(std::string conninfo, clock::time_point deadline) {
  co_return co_await executor_.run(detail::reporting_cancellation(connect_steps(std::move(conninfo), deadline)));
}

asio::awaitable<db_result<void>> pg_connection::resolve_and_start(const std::string& conninfo,
                                                                 clock::time_point deadline) {
  auto parsed = detail::connect_target::parse(conninfo);
  if (auto* error = std::get_if<std::string>(&parsed)) co_return fail(errc::connection_failed, "connect: " + *error);
  const auto& target = std::get<detail::connect_target>(parsed);

  const auto& names = target.names_to_resolve();
  auto job = std::make_shared<resolve_job>(executor_.get());
  job->addresses.resize(names.size());
  job->pending = names.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    job->resolver.async_resolve(
        names[i], "", asio::ip::tcp::resolver::flags{},
        [job, i, name = names[i]](error_code ec, const asio::ip::tcp::resolver::results_type& results) {
          if (ec) {
            job->errors += (job->errors.empty() ? "" : "; ") + name + ": " + ec.message();
          } else {
            for (const auto& entry : results) {
              std::string a = entry.endpoint().address().to_string();
              auto& list = job->addresses[i];
              if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(std::move(a));
            }
          }
          if (--job->pending == 0) job->timer.cancel();
        });
  }
  if (job->pending > 0) {
    job->timer.expires_at(deadline);
    co_await job->timer.async_wait(use_tuple);
    if (job->pending > 0) {
      job->resolver.cancel();
      if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "resolve: cancelled", {}};
      co_return fail(errc::connection_failed, "resolve: deadline exceeded");
    }
  }
  auto options = target.with_addresses(job->addresses);
  if (!options) co_return fail(errc::connection_failed, "could not resolve the database host: " + job->errors);

  std::vector<const char*> keys, values;
  for (const auto& [k, v] : *options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back("fallback_application_name");
  values.push_back(fallback_application_name_.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/0);
  if (!conn_) co_return fail(errc::connection_failed, "out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) co_return connection_error("connect");
  if (PQsetnonblocking(conn_, 1) != 0) co_return connection_error("set non-blocking");
  PQsetNoticeReceiver(conn_, &pg_connection::on_notice, this);
  co_return db_result<void>{};
}

asio::awaitable<db_result<void>> pg_connection::connect_steps(std::string conninfo, clock::time_point deadline) {
  close();
  broken_ = false;
  if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "connect: cancelled", {}};
  if (auto started = co_await resolve_and_start(conninfo, deadline); !started) {
    close();
    co_return started.error();
  }

  connecting_ = true;
  struct end_connecting {
    pg_connection* c;
    ~end_connecting() {
      c->connecting_ = false;
      c->deadline_.disarm();
    }
  } guard{this};
  deadline_.arm(deadline);
  for (PostgresPollingStatusType status = PGRES_POLLING_WRITING;;) {
    if (status == PGRES_POLLING_OK) break;
    if (status == PGRES_POLLING_FAILED) co_return connection_error("connect");
    // libpq may switch sockets while it tries the hosts of a multi-host URL, so the
    // descriptor is wrapped afresh for every step and released right after.
    socket_.emplace(executor_.get(), PQsocket(conn_));
    auto w = co_await wait_ready(status == PGRES_POLLING_READING ? wait_for::read : wait_for::write);
    socket_->release();
    socket_.reset();
    if (w != wait_status::ready) co_return interrupted(w, "connect");
    status = PQconnectPoll(conn_);
  }
  socket_.emplace(executor_.get(), PQsocket(conn_));
  last_alive_ = clock::now();
  co_return db_result<void>{};
}

asio::awaitable<db_result<void>> pg_connection::flush_output() {
  for (;;) {
    const int r = PQflush(conn_);
    if (r == 0) co_return db_result<void>{};
    if (r < 0) co_return connection_error("send");
    // Outgoing data is only ever a statement or two here, far below the socket
    // buffer, so waiting for writability alone cannot deadlock against a server
    // that is blocked writing results back to us. Read what is there anyway.
    if (PQconsumeInput(conn_) == 0) co_return connection_error("receive");
    if (auto w = co_await wait_ready(wait_for::write); w != wait_status::ready) co_return interrupted(w, "send");
  }
}

asio::awaitable<db_result<query_result>> pg_connection::read_results() {
  query_result kept;
  std::optional<db_error> error;
  // In pipeline mode (unnamed statements with a prelude) the unit ends with
  // PGRES_PIPELINE_SYNC, which a broken connection may never deliver (see
  // lost_in_pipeline).
  const bool pipeline = PQpipelineStatus(conn_) != PQ_PIPELINE_OFF;
  bool synced = false;
  for (int nulls = 0; !synced;) {
    while (PQisBusy(conn_)) {
      if (auto w = co_await wait_ready(wait_for::read); w != wait_status::ready) co_return interrupted(w, "receive");
      if (PQconsumeInput(conn_) == 0) co_return connection_error("receive");
    }
    PGresult* raw = PQgetResult(conn_);
    if (!raw) {
      if (!pipeline || lost_in_pipeline(nulls)) break;
      continue;
    }
    nulls = 0;
    query_result res(raw);
    switch (PQresultStatus(raw)) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        kept = std::move(res);
        break;
      case PGRES_PIPELINE_SYNC:
        synced = true;
        break;
      case PGRES_PIPELINE_ABORTED:  // skipped after an earlier error of the unit, which is reported
        break;
      default:
        if (!error) error = error_of(raw);
    }
  }
  in_flight_ = false;
  if (pipeline && (!synced || PQexitPipelineMode(conn_) != 1)) {
    db_error e = error ? std::move(*error) : db_error{errc::connection_failed, "pipeline did not end", {}};
    close();
    e.code = errc::connection_failed;
    co_return e;
  }
  if (PQstatus(conn_) != CONNECTION_OK || (error && error->code == errc::connection_failed)) {
    db_error e = error ? std::move(*error) : db_error{errc::connection_failed, "connection lost", {}};
    close();
    e.code = errc::connection_failed;
    co_return e;
  }
  last_alive_ = clock::now();
  if (error) co_return std::move(*error);
  co_return std::move(kept);
}

asio::awaitable<db_result<query_result>> pg_connection::execute(std::string_view sql,
                                                                std::span<const query_param> params,
                                                                result_format format, clock::time_point deadline) {
  co_return co_await executor_.run(detail::reporting_cancellation(run_statement(sql, params, format, deadline)));
}

asio::awaitable<db_result<query_result>> pg_connection::run_statement(std::string_view sql,
                                                                      std::span<const query_param> params,
                                                                      result_format format,
                                                                      clock::time_point deadline) {
  if (shared_) co_return co_await run_pipelined(sql, params, format, deadline);
  if (!is_open() || needs_recovery_ || server_closing_)
    co_return fail(errc::connection_failed, needs_recovery_ ? "connection is being recovered" : "connection is not open");
  if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "execute: cancelled", {}};
  deadline_.arm(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->deadline_.disarm(); }
  } guard{this};

  const text_params p(params);
  const int count = p.count();
  const auto* values = p.values.data();
  const auto* lengths = p.lengths.data();
  const auto* formats = p.formats.data();

  if (unnamed_) {
    // Everything is queued before the first wait, so an interruption always
    // finds the whole unit (up to its Sync) in libpq's hands: recover() can
    // read it to the end.
    const std::string text(sql);
    const bool pipeline = !prelude_.empty();
    if (pipeline) {
      if (PQenterPipelineMode(conn_) != 1) co_return connection_error("pipeline");
      if (!PQsendQueryParams(conn_, prelude_.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0))
        co_return connection_error("send");
    }
    if (!PQsendQueryParams(conn_, text.c_str(), count, nullptr, values, lengths, formats, static_cast<int>(format)))
      co_return connection_error("send");
    if (pipeline && PQpipelineSync(conn_) != 1) co_return connection_error("send");
  } else {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      // Names are never reused: a prepare that was interrupted may still have
      // created its statement on the server.
      std::string name = "hs" + std::to_string(++next_statement_);
      std::string text(sql);
      if (!PQsendPrepare(conn_, name.c_str(), text.c_str(), count, nullptr)) co_return connection_error("prepare");
      in_flight_ = true;
      if (auto r = co_await flush_output(); !r) co_return r.error();
      auto prepared = co_await read_results();
      if (!prepared) co_return prepared.error();
      it = statements_.emplace(std::move(text), std::move(name)).first;
    }
    if (!PQsendQueryPrepared(conn_, it->second.c_str(), count, values, lengths, formats, static_cast<int>(format)))
      co_return connection_error("send");
  }
  in_flight_ = true;
  if (auto r = co_await flush_output(); !r) co_return r.error();
  auto result = co_await read_results();
  if (result) ++results_received_;
  co_return result;
}

// --- Shared use -------------------------------------------------------------


void pg_connection::set_shared(bool shared) noexcept {
  if (shared == shared_) return;
  shared_ = shared;
  if (shared || calls_.empty() || !is_open()) return;
  // Every caller has gone, and statements of those that gave up are still
  // outstanding: none of them is anyone's any more, so cancel them now, and
  // let recover() read the rest, as after an interrupted statement.
  request_server_cancel();
  needs_recovery_ = true;
}

bool pg_connection::shareable() const noexcept {
  return shared_ && is_open() && !needs_recovery_ && !server_closing_ && !unnamed_;
}

void pg_connection::fail_outstanding_calls(const db_error& cause) noexcept {
  // Callers sharing the connection hear it now, not at their deadlines.
  for (auto& call : calls_) {
    if (call->outcome) continue;
    call->outcome = cause;
    call->wake.cancel();
  }
}

void pg_connection::pass_reading() noexcept {
  for (auto& call : calls_) {
    if (call->abandoned || call->outcome) continue;
    call->take_reading = true;
    call->wake.cancel();
    return;
  }
  // Nobody waits: what is outstanding is read by the next caller, or by
  // recover() once shared use ends.
}

asio::awaitable<db_result<query_result>> pg_connection::run_pipelined(std::string_view sql,
                                                                      std::span<const query_param> params,
                                                                      result_format format,
                                                                      clock::time_point deadline) {
  if (!shareable())
    co_return fail(errc::connection_failed, needs_recovery_ ? "connection is being recovered" : "connection is not open");
  if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "execute: cancelled", {}};
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1)
    co_return connection_error("pipeline");

  auto call = std::make_shared<pipelined_call>(executor_.get());
  const text_params p(params);
  auto it = statements_.find(sql);
  if (it == statements_.end() || unconfirmed_.contains(it->second)) {
    // Prepared in the same unit, ahead of its first execution. A statement
    // whose prepare is still on its way is prepared again under a name of its
    // own (only until the first prepare is answered): if that prepare failed,
    // say cancelled while it waited for a lock, a unit that used its name
    // would fail for a reason that is not its own.
    std::string name = "hs" + std::to_string(++next_statement_);
    call->prepared_sql = std::string(sql);
    call->prepared_name = name;
    if (!PQsendPrepare(conn_, name.c_str(), call->prepared_sql.c_str(), p.count(), nullptr))
      co_return connection_error("prepare");
    call->prepare_result_pending = true;
    unconfirmed_.insert(name);
    it = statements_.insert_or_assign(call->prepared_sql, std::move(name)).first;
  }
  if (!PQsendQueryPrepared(conn_, it->second.c_str(), p.count(), p.values.data(), p.lengths.data(), p.formats.data(),
                           static_cast<int>(format)) ||
      PQpipelineSync(conn_) != 1) {
    co_return connection_error("send");  // (fails the others too)
  }
  calls_.push_back(call);
  in_flight_ = true;
  if (reading_) {
    // The reader waits for earlier units' results: send this one now (what
    // the socket does not take, the reader sends before it waits again).
    if (PQflush(conn_) < 0) {
      co_return connection_error("send");  // (fails the others too)
    }
  } else {
    // This caller is to read. The handlers already queued on this thread go
    // first (other requests' statements among them), so that their units
    // leave with this one, in one write, and the server reads them at once.
    co_await asio::post(executor_.get(), asio::use_awaitable);
  }
  co_return co_await await_call(std::move(call), deadline);
}

asio::awaitable<db_result<query_result>> pg_connection::await_call(std::shared_ptr<pipelined_call> call,
                                                                   clock::time_point deadline) {
  for (;;) {
    if (call->outcome) co_return std::move(*call->outcome);
    if (!reading_) {
      reading_ = true;
      deadline_.arm(deadline);
      const wait_status status = co_await read_pipeline(call.get());
      deadline_.disarm();
      reading_ = false;
      if (call->outcome) {
        pass_reading();
        co_return std::move(*call->outcome);
      }
      if (status == wait_status::failed) {
        co_return connection_error("receive");  // (fails the others too)
      }
      call->abandoned = true;
      pass_reading();
      co_return db_error{status == wait_status::deadline ? errc::query_timeout : errc::cancelled,
                         status == wait_status::deadline ? "receive: deadline exceeded" : "receive: cancelled",
                         {}};
    }
    // Another caller reads: it answers this call, or hands the reading over.
    call->wake.expires_at(deadline);
    co_await call->wake.async_wait(use_tuple);
    if (call->outcome) co_return std::move(*call->outcome);
    if (call->take_reading) {
      call->take_reading = false;
      continue;
    }
    call->abandoned = true;
    if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "receive: cancelled", {}};
    co_return db_error{errc::query_timeout, "receive: deadline exceeded", {}};
  }
}

// Reads results in order and hands each unit's to its call, until `until` is
// answered (null: until nothing is outstanding). Returns `ready` then, else why
// the reading stopped (`failed`: the connection is lost).
asio::awaitable<pg_connection::wait_status> pg_connection::read_pipeline(const pipelined_call* until) {
  for (int nulls = 0; until ? !until->outcome : !calls_.empty();) {
    if (calls_.empty()) co_return wait_status::failed;  // (cannot happen: `until` is outstanding)
    if (const int flushed = PQflush(conn_); flushed != 0) {
      if (flushed < 0 || PQconsumeInput(conn_) == 0) co_return wait_status::failed;
      if (auto w = co_await wait_ready(wait_for::write); w != wait_status::ready) co_return w;
      continue;
    }
    while (PQisBusy(conn_)) {
      if (auto w = co_await wait_ready(wait_for::read); w != wait_status::ready) co_return w;
      if (PQconsumeInput(conn_) == 0) co_return wait_status::failed;
    }
    PGresult* raw = PQgetResult(conn_);
    pipelined_call& head = *calls_.front();
    if (!raw) {
      if (lost_in_pipeline(nulls)) co_return wait_status::failed;
      continue;
    }
    nulls = 0;
    query_result res(raw);
    switch (PQresultStatus(raw)) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        if (head.prepare_result_pending) {
          head.prepare_result_pending = false;
          unconfirmed_.erase(head.prepared_name);
        } else {
          head.kept = std::move(res);
        }
        break;
      case PGRES_PIPELINE_SYNC: {
        auto done = std::move(calls_.front());
        calls_.pop_front();
        last_alive_ = clock::now();
        if (done->error) {
          done->outcome = std::move(*done->error);
        } else {
          ++results_received_;
          done->outcome = std::move(done->kept);
        }
        if (done.get() != until) done->wake.cancel();
        if (calls_.empty()) {
          in_flight_ = false;
          if (PQexitPipelineMode(conn_) != 1) co_return wait_status::failed;
        }
        break;
      }
      case PGRES_PIPELINE_ABORTED:  // skipped after the unit's earlier error, which is reported
        break;
      default:
        if (head.prepare_result_pending) {
          // The name was never made: forget it, unless a later prepare of the
          // same statement has taken its place.
          head.prepare_result_pending = false;
          unconfirmed_.erase(head.prepared_name);
          if (auto named = statements_.find(head.prepared_sql);
              named != statements_.end() && named->second == head.prepared_name)
            statements_.erase(named);
        }
        if (!head.error) head.error = error_of(raw);
        if (head.error->code == errc::connection_failed) co_return wait_status::failed;
    }
  }
  co_return wait_status::ready;
}

asio::awaitable<db_result<query_result>> pg_connection::execute_script(std::string_view sql,
                                                                       clock::time_point deadline) {
  co_return co_await executor_.run(detail::reporting_cancellation(run_script(sql, deadline)));
}

asio::awaitable<db_result<query_result>> pg_connection::run_script(std::string_view sql, clock::time_point deadline) {
  if (!is_open() || needs_recovery_ || server_closing_)
    co_return fail(errc::connection_failed, needs_recovery_ ? "connection is being recovered" : "connection is not open");
  if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "execute: cancelled", {}};
  deadline_.arm(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->deadline_.disarm(); }
  } guard{this};
  std::string text(sql);
  if (!PQsendQuery(conn_, text.c_str())) co_return connection_error("send");
  in_flight_ = true;
  if (auto r = co_await flush_output(); !r) co_return r.error();
  auto result = co_await read_results();
  if (result) ++results_received_;
  co_return result;
}

asio::awaitable<bool> pg_connection::drain_abandoned(clock::time_point deadline) {
  // set_shared(false) cancelled what ran then. A cancel request stops only the
  // statement running when it lands, so units queued behind it, waiting on the
  // same lock say, would each run into statement_timeout: a unit that does not
  // finish within a short step is cancelled in turn (one request at a time).
  constexpr auto step = std::chrono::milliseconds(50);
  while (!calls_.empty()) {
    const auto head = calls_.front();  // (read_pipeline pops it)
    deadline_.arm(std::min(deadline, clock::now() + step));
    const wait_status status = co_await read_pipeline(head.get());
    if (status == wait_status::ready) continue;
    if (status != wait_status::deadline || clock::now() >= deadline) co_return false;
    if (!cancel_ || cancel_->get() != detail::cancel_outcome::state::pending) request_server_cancel();
  }
  deadline_.arm(deadline);
  co_return true;
}

asio::awaitable<bool> pg_connection::recover(clock::time_point deadline) {
  co_return co_await executor_.run(detail::reporting_cancellation(run_recovery(deadline)));
}

asio::awaitable<bool> pg_connection::run_recovery(clock::time_point deadline) {
  if (!needs_recovery_) co_return usable();
  if (!is_open()) {
    close();
    co_return false;
  }
  deadline_.arm(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->deadline_.disarm(); }
  } guard{this};
  auto give_up = [this] {
    close();
    return false;
  };

  // The statement may not have left libpq's buffer when it was interrupted; then
  // the first cancel reached an idle backend and did nothing. Send the rest, and
  // cancel again now that the statement is surely on the server.
  bool was_unsent = false;
  for (;;) {
    const int r = PQflush(conn_);
    if (r == 0) break;
    if (r < 0 || PQconsumeInput(conn_) == 0) co_return give_up();
    was_unsent = true;
    if (co_await wait_ready(wait_for::write) != wait_status::ready) co_return give_up();
  }
  if (was_unsent) request_server_cancel();

  // Read the statement's results up to ReadyForQuery (PQgetResult's null). They
  // end in 57014 when the cancel stopped the statement, or normally when it
  // finished first.
  // In pipeline mode, up to the unit's PGRES_PIPELINE_SYNC (see read_results);
  // after shared use, every unit still outstanding (read_pipeline leaves
  // pipeline mode after the last).
  if (!calls_.empty() && !co_await drain_abandoned(deadline)) co_return give_up();
  const bool pipeline = PQpipelineStatus(conn_) != PQ_PIPELINE_OFF;
  for (int nulls = 0; in_flight_;) {
    while (PQisBusy(conn_)) {
      if (co_await wait_ready(wait_for::read) != wait_status::ready) co_return give_up();
      if (PQconsumeInput(conn_) == 0) co_return give_up();
    }
    PGresult* raw = PQgetResult(conn_);
    if (!raw) {
      if (!pipeline) break;
      if (lost_in_pipeline(nulls)) co_return give_up();
      continue;
    }
    nulls = 0;
    const bool synced = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
    PQclear(raw);
    if (synced) break;
  }
  if (pipeline && PQexitPipelineMode(conn_) != 1) co_return give_up();
  in_flight_ = false;

  // Whatever ended the statement, the next one must not meet our cancel: wait
  // until PQcancel has returned, i.e. the server has signalled the backend. A
  // 57014 above does not prove that: statement_timeout raises the same SQLSTATE,
  // and a cancel still on its way would then stop the next statement. Once the
  // signal is sent, the idle backend takes it before it reads anything new, and
  // ignores it.
  if (cancel_) {
    asio::steady_timer tick(executor_.get());
    while (cancel_->get() == detail::cancel_outcome::state::pending) {
      if (clock::now() >= deadline) co_return give_up();
      tick.expires_after(std::chrono::milliseconds(1));
      co_await tick.async_wait(use_tuple);
    }
  }
  cancel_.reset();
  needs_recovery_ = false;
  if (!usable()) co_return give_up();
  last_alive_ = clock::now();
  co_return true;
}

asio::awaitable<db_result<bool>> pg_connection::wait_for_notification(clock::time_point deadline) {
  co_return co_await executor_.run(detail::reporting_cancellation(run_notification_wait(deadline)));
}

bool pg_connection::take_notifications() noexcept {
  bool any = false;
  while (PGnotify* n = PQnotifies(conn_)) {
    PQfreemem(n);
    any = true;
  }
  return any;
}

asio::awaitable<db_result<bool>> pg_connection::run_notification_wait(clock::time_point deadline) {
  if (!usable()) co_return fail(errc::connection_failed, "connection is not open and idle");
  if (take_notifications()) co_return true;
  if (co_await detail::cancellation_requested()) co_return db_error{errc::cancelled, "listen: cancelled", {}};
  deadline_.arm(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->deadline_.disarm(); }
  } guard{this};
  for (;;) {
    // Nothing is in flight, so neither a deadline nor a cancellation leaves the
    // connection in an unknown state: no cancel request, no recovery.
    switch (co_await wait_ready(wait_for::read)) {
      case wait_status::ready: break;
      case wait_status::deadline: co_return false;
      case wait_status::cancelled: co_return db_error{errc::cancelled, "listen: cancelled", {}};
      case wait_status::failed: co_return connection_error("listen");
    }
    // End of file makes the connection bad; a FATAL notice (shutdown, a
    // terminated backend) sets server_closing_: either way it is gone.
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK || server_closing_)
      co_return connection_error("listen");
    if (take_notifications()) {
      last_alive_ = clock::now();
      co_return true;
    }
  }
}

bool pg_connection::check_alive() noexcept {
  if (!usable()) {
    close();
    return false;
  }
  // A few rounds at most: each either finds nothing, or reads what is there.
  for (int round = 0; round < 4; ++round) {
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int n = ::poll(&pfd, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (n > 0 && (pfd.revents & (POLLERR | POLLNVAL)))) {
      close();
      return false;
    }
    if (n == 0 && !tls_pending()) return true;
    // Something arrived on an idle connection: a FATAL notice (shutdown,
    // terminated backend) and/or end of file. libpq reads it; end of file makes
    // the connection bad, a FATAL notice sets server_closing_.
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK || server_closing_) {
      close();
      return false;
    }
  }
  return usable();
}

}  // namespace hookstream::storage
