#include <hookstream/encoding/ascii.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <vector>

namespace hookstream::storage {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string trimmed(const char* message) {
  return std::string(encoding::trim_trailing_whitespace(message ? message : ""));
}
}  // namespace

pg_connection::pg_connection(asio::any_io_executor executor)
    : executor_(std::move(executor)), deadline_timer_(executor_), self_(std::make_shared<pg_connection*>(this)) {}

pg_connection::~pg_connection() { close(); }

void pg_connection::close() noexcept {
  disarm_deadline();
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
  broken_ = true;
}

bool pg_connection::is_open() const noexcept { return conn_ && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool pg_connection::usable() const noexcept { return is_open() && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

db_error pg_connection::fail(errc code, std::string message) {
  if (code == errc::connection_failed || (code == errc::query_timeout && deadline_hit_)) {
    // The protocol state is unknown now: the only safe thing is a new connection.
    close();
  }
  return db_error{code, std::move(message), {}};
}

db_error pg_connection::connection_error(std::string_view what) {
  if (deadline_hit_) return fail(errc::query_timeout, std::string(what) + ": deadline exceeded");
  return fail(errc::connection_failed, std::string(what) + ": " + trimmed(conn_ ? PQerrorMessage(conn_) : nullptr));
}

void pg_connection::arm_deadline(clock::time_point deadline) {
  deadline_hit_ = false;
  deadline_timer_.expires_at(deadline);
  std::weak_ptr<pg_connection*> weak = self_;
  deadline_timer_.async_wait([weak](error_code ec) {
    if (ec) return;  // disarmed
    auto self = weak.lock();
    if (!self) return;
    pg_connection* conn = *self;
    conn->deadline_hit_ = true;
    // Wakes the pending readiness wait with operation_aborted.
    if (conn->socket_) conn->socket_->cancel();
  });
}

void pg_connection::disarm_deadline() noexcept { deadline_timer_.cancel(); }

asio::awaitable<error_code> pg_connection::wait_ready(wait_for what) {
  if (deadline_hit_) co_return asio::error::operation_aborted;
  // Edge-triggered reactor: data that arrived before this wait (and that libpq did
  // not read yet) raises no new edge. Look first; wait only if nothing is there.
  pollfd pfd{PQsocket(conn_), static_cast<short>(what == wait_for::read ? POLLIN : POLLOUT), 0};
  if (::poll(&pfd, 1, 0) > 0) co_return error_code{};
  auto [ec] = co_await socket_->async_wait(
      what == wait_for::read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
      use_tuple);
  if (deadline_hit_) co_return asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<db_result<void>> pg_connection::connect(std::string conninfo, clock::time_point deadline) {
  close();
  broken_ = false;
  const char* keys[] = {"dbname", "application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "hookstream", nullptr};
  conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (!conn_) co_return fail(errc::connection_failed, "out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) co_return connection_error("connect");
  if (PQsetnonblocking(conn_, 1) != 0) co_return connection_error("set non-blocking");

  arm_deadline(deadline);
  for (PostgresPollingStatusType status = PGRES_POLLING_WRITING;;) {
    if (status == PGRES_POLLING_OK) break;
    if (status == PGRES_POLLING_FAILED) co_return connection_error("connect");
    // libpq may switch sockets while it tries the hosts of a multi-host URL, so the
    // descriptor is wrapped afresh for every step and released right after.
    socket_.emplace(executor_, PQsocket(conn_));
    auto ec = co_await wait_ready(status == PGRES_POLLING_READING ? wait_for::read : wait_for::write);
    socket_->release();
    socket_.reset();
    if (ec) co_return connection_error("connect");
    status = PQconnectPoll(conn_);
  }
  disarm_deadline();
  socket_.emplace(executor_, PQsocket(conn_));
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
    if (auto ec = co_await wait_ready(wait_for::write)) co_return connection_error("send");
  }
}

asio::awaitable<db_result<query_result>> pg_connection::read_results() {
  query_result kept;
  std::optional<db_error> error;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (auto ec = co_await wait_ready(wait_for::read)) co_return connection_error("receive");
      if (PQconsumeInput(conn_) == 0) co_return connection_error("receive");
    }
    PGresult* raw = PQgetResult(conn_);
    if (!raw) break;
    query_result res(raw);
    switch (PQresultStatus(raw)) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        kept = std::move(res);
        break;
      default: {
        if (!error) {
          const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
          db_error e{errc::query_failed, trimmed(PQresultErrorMessage(raw)), state ? state : ""};
          // 57014 = query_canceled: statement_timeout fired on the server.
          if (e.sqlstate == "57014") e.code = errc::query_timeout;
          error = std::move(e);
        }
      }
    }
  }
  if (error) co_return std::move(*error);
  co_return std::move(kept);
}

asio::awaitable<db_result<query_result>> pg_connection::execute(std::string_view sql,
                                                                std::span<const query_param> params,
                                                                result_format format, clock::time_point deadline) {
  if (!is_open()) co_return fail(errc::connection_failed, "connection is not open");
  arm_deadline(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->disarm_deadline(); }
  } guard{this};

  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    std::string name = "hs" + std::to_string(statements_.size() + 1);
    std::string text(sql);
    if (!PQsendPrepare(conn_, name.c_str(), text.c_str(), static_cast<int>(params.size()), nullptr))
      co_return connection_error("prepare");
    if (auto r = co_await flush_output(); !r) co_return r.error();
    auto prepared = co_await read_results();
    if (!prepared) co_return prepared.error();
    it = statements_.emplace(std::move(text), std::move(name)).first;
  }

  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size(), 0);
  // Text parameters need not be NUL-terminated when lengths are given... except
  // that libpq ignores lengths for text-format parameters, so copy them.
  std::vector<std::string> storage;
  storage.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i]) {
      storage.emplace_back(*params[i]);
      values[i] = storage.back().c_str();
      lengths[i] = static_cast<int>(storage.back().size());
    }
  }
  if (!PQsendQueryPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                           lengths.data(), formats.data(), static_cast<int>(format)))
    co_return connection_error("send");
  if (auto r = co_await flush_output(); !r) co_return r.error();
  co_return co_await read_results();
}

asio::awaitable<db_result<query_result>> pg_connection::execute_script(std::string_view sql,
                                                                       clock::time_point deadline) {
  if (!is_open()) co_return fail(errc::connection_failed, "connection is not open");
  arm_deadline(deadline);
  struct disarm_on_exit {
    pg_connection* c;
    ~disarm_on_exit() { c->disarm_deadline(); }
  } guard{this};
  std::string text(sql);
  if (!PQsendQuery(conn_, text.c_str())) co_return connection_error("send");
  if (auto r = co_await flush_output(); !r) co_return r.error();
  co_return co_await read_results();
}

}  // namespace hookstream::storage
