#include "http_framing.hpp"

#include <hookstream/server/http_errors.hpp>
#include <hookstream/server/http_listener.hpp>
#include <hookstream/server/response_head.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <list>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace hookstream::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A completion condition that offers the socket all that is left at each step,
// as beast's serializer does. asio's own conditions offer at most 64 KiB a
// step, which cost an 83 KB first page a second sendmsg.
struct all_that_is_left {
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const noexcept {
    return ec ? 0 : std::numeric_limits<std::size_t>::max();
  }
};

// The transport side of one streamed response (see http_types.hpp).
class stream_writer final : public body_stream {
 public:
  stream_writer(beast::tcp_stream& stream, std::chrono::milliseconds write_timeout, bool chunked)
      : stream_(stream), write_timeout_(write_timeout), chunked_(chunked) {}

  asio::awaitable<boost::system::error_code> write(std::span<const asio::const_buffer> pieces) override {
    std::size_t size = 0;
    for (const auto& p : pieces) size += p.size();
    if (size == 0) co_return boost::system::error_code{};
    buffers_.clear();
    char header[24];
    if (chunked_) {
      const int n = std::snprintf(header, sizeof header, "%zx\r\n", size);
      buffers_.emplace_back(header, static_cast<std::size_t>(n));
    }
    buffers_.insert(buffers_.end(), pieces.begin(), pieces.end());
    if (chunked_) buffers_.emplace_back("\r\n", 2);
    stream_.expires_after(write_timeout_);
    // An empty cancellation slot: the body's cancellation (a stop request) must
    // not cut a write in half; the deadline bounds it instead.
    auto [ec, written] = co_await asio::async_write(
        stream_, buffers_, all_that_is_left{}, asio::bind_cancellation_slot(asio::cancellation_slot(), use_tuple));
    stream_.expires_never();
    if (ec) failed_ = true;
    co_return ec;
  }
  stop_reason stop_requested() const noexcept override { return reason_; }

  /// Asks the body to end: records why and cancels it (the first reason wins).
  void request_stop(stop_reason why) {
    if (reason_ != stop_reason::none) return;
    reason_ = why;
    signal_.emit(asio::cancellation_type::terminal);
  }
  asio::cancellation_slot slot() { return signal_.slot(); }
  bool failed() const noexcept { return failed_; }
  bool chunked() const noexcept { return chunked_; }

 private:
  beast::tcp_stream& stream_;
  std::chrono::milliseconds write_timeout_;
  bool chunked_;
  bool failed_ = false;
  stop_reason reason_ = stop_reason::none;
  asio::cancellation_signal signal_;
  std::vector<asio::const_buffer> buffers_;
};

// Watches a streaming connection for the client hanging up: a read-readiness
// wait that peeks (end of file or an error: gone), discards whatever the client
// sends meanwhile, and waits again. `stop()` ends it; a completion that arrives
// after that touches nothing (the socket may be gone by then).
struct hangup_watch : std::enable_shared_from_this<hangup_watch> {
  hangup_watch(tcp::socket& s, std::function<void()> gone) : socket(&s), fd(s.native_handle()), on_gone(std::move(gone)) {}
  tcp::socket* socket;
  int fd;
  std::function<void()> on_gone;
  bool stopped = false;

  void arm() {
    socket->async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      if (self->stopped) return;
      if (ec) return self->gone();
      std::array<char, 4096> sink;
      for (int i = 0; i < 16; ++i) {
        const auto n = ::recv(self->fd, sink.data(), sink.size(), MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->arm();
        return self->gone();  // end of file, or an error on the socket
      }
      self->arm();  // a talkative client: keep draining, a little per turn
    });
  }
  void gone() {
    stopped = true;
    on_gone();
  }
  void stop() noexcept { stopped = true; }
};

// Whether the client at the other end of `fd` has left: end of file, or an
// error on the socket. Reads nothing (it peeks) and never waits.
bool peer_has_left(int fd) {
  char byte;
  const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

struct session_entry {
  beast::tcp_stream* stream = nullptr;
  bool between_requests = true;
  stream_writer* streaming = nullptr;  // while a streamed response is written
};

// Writes `response` whole: its head (response_head.hpp) and its body in one
// write, or, for a chunked response, through beast's serializer.
asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write_response(beast::tcp_stream& stream,
                                                                                   http_response& response) {
  if (needs_serializer(response)) co_return co_await http::async_write(stream, response, use_tuple);
  const std::string head = response_head(response);
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(response.body())};
  co_return co_await asio::async_write(stream, pieces, all_that_is_left{}, use_tuple);
}

std::string request_id_of(const http_request& req) {
  auto it = req.find("X-Request-Id");
  return choose_request_id(it == req.end() ? std::string_view{} : std::string_view(it->value()));
}

void log_exception(const char* where, const std::string& request_id, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "%s %s: unexpected exception: %s\n", where, request_id.c_str(), ex.what());
  } catch (...) {
    std::fprintf(stderr, "%s %s: unexpected exception of unknown type\n", where, request_id.c_str());
  }
}
}  // namespace

struct http_listener::state : std::enable_shared_from_this<state> {
  state(storage::serial_executor ex, streaming_request_handler h, listener_config c)
      : executor(std::move(ex)),
        acceptor(executor.get()),
        handler(std::move(h)),
        config(c),
        shutdown_timer(executor.get()),
        watch_timer(executor.get()) {}

  storage::serial_executor executor;
  tcp::acceptor acceptor;
  unsigned short bound_port = 0;
  streaming_request_handler handler;
  // Set when the handler is an api_handler on this executor: API requests then
  // wait for their place here, before the handler is called (see
  // api_handler::admission).
  std::optional<request_admission> admission;
  std::atomic<std::size_t> streams{0};  // for any thread
  listener_config config;
  std::list<session_entry> sessions;
  std::atomic<std::size_t> session_count{0};  // sessions.size(), for any thread
  bool stopping = false;
  std::function<void()> on_drained;
  asio::steady_timer shutdown_timer;
  struct request_watch;
  std::list<std::shared_ptr<request_watch>> in_flight;  // requests being served (serve)
  asio::steady_timer watch_timer;
  bool watch_sweep_running = false;

  void session_ended(std::list<session_entry>::iterator it) {
    sessions.erase(it);
    session_count.store(sessions.size(), std::memory_order_relaxed);
    if (stopping && sessions.empty()) drained();
  }
  void drained() {
    shutdown_timer.cancel();
    if (on_drained) std::exchange(on_drained, nullptr)();
  }

  static http_response refusal(http::status status, std::string_view message) {
    auto res = error_response(status, message, choose_request_id({}));
    res.keep_alive(false);
    return res;
  }

  // Answers a request the listener refuses before its handler sees it, then
  // closes the connection without destroying the answer.
  static asio::awaitable<void> refuse(std::shared_ptr<state> self, beast::tcp_stream& stream, http_response answer) {
    stream.expires_after(self->config.write_timeout);
    co_await write_response(stream, answer);
    // Lingering close: the client may still be sending what we refused. Closing
    // with unread input makes the kernel send a reset, which can destroy our
    // answer before the client reads it; so stop sending, drain for a moment
    // (bounded in bytes and time), then close.
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(1));
    std::array<char, 16 * 1024> sink;
    for (int i = 0; i < 64; ++i) {
      auto [drain_ec, drained] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      if (drain_ec) break;
    }
  }

  // Runs the handler; a client that hangs up meanwhile (end of file or an error
  // on its socket) cancels it (terminal cancellation), so the statement it waits
  // for is cancelled on the server instead of running for nobody. A client that
  // sends more bytes instead (a pipelined request) is not gone: that ends the
  // watch. Nullopt when the client is gone. An escaping exception becomes a 500.
  //
  // The watch is a readiness wait on the socket, and asio registers every such
  // wait with the kernel (one epoll_ctl): 2-4% of a small page's throughput
  // when each request paid it (README, Performance). Most requests are answered
  // within a millisecond, when a hang-up would save nothing; so the watch is
  // armed only for requests still running after `hangup_watch_delay`, by a
  // sweep of this listener's requests in flight (start_watch_sweep). A client that left before then is found
  // gone as soon as the watch is armed: the wait reports the end of file that
  // is already there.
  asio::awaitable<std::optional<handler_result>> serve(tcp::socket& socket, const http_request& request,
                                                       const request_context& context) {
    auto w = std::make_shared<request_watch>(socket);
    const auto watched = in_flight.insert(in_flight.end(), w);
    start_watch_sweep();
    std::optional<handler_result> response;
    try {
      response = co_await asio::co_spawn(socket.get_executor(), handler(request, context),
                                         asio::bind_cancellation_slot(w->signal.slot(), asio::use_awaitable));
    } catch (...) {
      if (!w->hung_up) {
        const std::string id = request_id_of(request);
        log_exception("request", id, std::current_exception());
        response = error_response(http::status::internal_server_error, "internal error", id);
      }
    }
    w->done = true;
    in_flight.erase(watched);
    if (w->armed) {
      boost::system::error_code ignored;
      socket.cancel(ignored);  // ends the watch if it is still pending
    }
    if (w->hung_up) co_return std::nullopt;
    co_return response;
  }

  // A request being served, and the watch for its client hanging up (serve).
  struct request_watch {
    explicit request_watch(tcp::socket& s) : socket(&s), fd(s.native_handle()) {}
    tcp::socket* socket;
    int fd;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    asio::cancellation_signal signal;
    bool armed = false;
    bool done = false;
    bool hung_up = false;

    static void arm(const std::shared_ptr<request_watch>& w) {
      w->armed = true;
      w->socket->async_wait(tcp::socket::wait_read, [w](boost::system::error_code ec) {
        if (ec || w->done) return;
        if (peer_has_left(w->fd)) {
          w->hung_up = true;
          w->signal.emit(asio::cancellation_type::terminal);
        }
      });
    }
  };
  static constexpr std::chrono::milliseconds hangup_watch_delay{50};

  // Arms the watch of every request in flight for `hangup_watch_delay` or
  // longer, every `hangup_watch_delay` while there are requests in flight.
  void start_watch_sweep() {
    if (watch_sweep_running) return;
    watch_sweep_running = true;
    watch_timer.expires_after(hangup_watch_delay);
    watch_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->watch_sweep_running = false;
      if (ec) return;
      const auto due = std::chrono::steady_clock::now() - hangup_watch_delay;
      for (const auto& w : self->in_flight)
        if (!w->armed && w->started <= due) request_watch::arm(w);
      if (!self->in_flight.empty()) self->start_watch_sweep();
    });
  }

  static asio::awaitable<void> run_session(std::shared_ptr<state> self, tcp::socket socket) {
    request_context context;
    boost::system::error_code ec;
    if (const auto peer = socket.remote_endpoint(ec); !ec) context.client_address = peer.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    auto entry = self->sessions.insert(self->sessions.end(), session_entry{&stream, true});
    self->session_count.store(self->sessions.size(), std::memory_order_relaxed);
    struct end_session {
      state& s;
      std::list<session_entry>::iterator entry;
      ~end_session() { s.session_ended(entry); }
    } ender{*self, entry};

    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(self->config.header_limit));
      parser.body_limit(self->config.body_limit);
      entry->between_requests = true;
      stream.expires_after(self->config.read_timeout);
      auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      entry->between_requests = false;
      boost::system::error_code read_ec = header_ec;
      if (!read_ec) {
        if (const auto why = framing_error(parser.get().base()); !why.empty()) {
          co_await refuse(self, stream, refusal(http::status::bad_request, why));
          break;
        }
        auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
        read_ec = body_ec;
      }
      if (read_ec) {
        // Malformed or oversized requests get an answer; vanished peers do not.
        if (read_ec == http::error::header_limit)
          co_await refuse(self, stream,
                          refusal(http::status::request_header_fields_too_large, "request headers too large"));
        else if (read_ec == http::error::body_limit)
          co_await refuse(self, stream, refusal(http::status::payload_too_large, "request body too large"));
        else if (read_ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 read_ec != http::error::end_of_stream && read_ec != http::error::partial_message)
          co_await refuse(self, stream, refusal(http::status::bad_request, "malformed HTTP request"));
        break;
      }

      http_request request = parser.release();
      context.received = std::chrono::steady_clock::now();
      context.admission = request_context::admission_outcome::not_asked;
      std::optional<admission_gate::pass> place;
      if (admission_gate* gate = self->admission ? self->admission->gate_for(request) : nullptr) {
        // Its place before anything is set up for it: a request that waits
        // holds only its parsed bytes (many clients, few places).
        if (auto now = gate->try_enter()) {
          place.emplace(std::move(*now));
        } else if (auto waited = co_await gate->enter(*context.received + self->admission->timeout)) {
          place.emplace(std::move(*waited));
          if (peer_has_left(stream.socket().native_handle())) {
            std::fprintf(stderr, "request %s: the client closed the connection while it waited its turn; its request "
                         "was abandoned\n", request_id_of(request).c_str());
            break;
          }
        }
        context.admission = place ? request_context::admission_outcome::admitted
                                  : request_context::admission_outcome::timed_out;
      }
      auto answer = co_await self->serve(stream.socket(), request, context);
      place.reset();  // the next request in line may start while this answer is written
      if (!answer) {
        std::fprintf(stderr, "request %s: the client closed the connection; its request was abandoned\n",
                     request_id_of(request).c_str());
        break;
      }
      if (auto* streamed = std::get_if<streamed_response>(&*answer)) {
        co_await self->stream_response(stream, *entry, request, std::move(*streamed));
        break;  // a stream ends its connection
      }
      http_response& response = std::get<http_response>(*answer);
      const bool keep_alive = request.keep_alive() && !self->stopping;
      response.keep_alive(keep_alive);
      // An HTTP/1.0 client keeps the connection only when told so explicitly.
      if (keep_alive && request.version() < 11) response.set(http::field::connection, "keep-alive");
      stream.expires_after(self->config.write_timeout);
      auto [write_ec, written] = co_await write_response(stream, response);
      if (write_ec) {
        std::fprintf(stderr, "request %s: answer %u not delivered (%zu bytes written): %s; connection closed\n",
                     std::string(response["X-Request-Id"]).c_str(), response.result_int(), written,
                     write_ec.message().c_str());
        break;
      }
      if (!keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Writes a streamed response: its head, then whatever its body writes, then
  // (HTTP/1.1) the last chunk. The connection is not reused afterwards.
  asio::awaitable<void> stream_response(beast::tcp_stream& stream, session_entry& entry, const http_request& request,
                                        streamed_response answer) {
    http_response& head = answer.head;
    const std::string request_id(head["X-Request-Id"]);
    const bool chunked = request.version() >= 11;
    head.body().clear();
    head.erase(http::field::content_length);
    head.keep_alive(false);
    if (chunked) head.chunked(true);
    stream.expires_after(config.write_timeout);
    // The head alone, rendered as whole answers' heads are (a chunked head's
    // bytes are beast's too: tests/unit/response_head_test.cpp).
    const std::string head_text = response_head(head);
    auto [head_ec, head_written] =
        co_await asio::async_write(stream, asio::buffer(head_text), all_that_is_left{}, use_tuple);
    stream.expires_never();
    if (head_ec) {
      std::fprintf(stderr, "request %s: stream head not delivered: %s; connection closed\n", request_id.c_str(),
                   head_ec.message().c_str());
      co_return;
    }

    stream_writer writer(stream, config.write_timeout, chunked);
    auto watch = std::make_shared<hangup_watch>(
        stream.socket(), [&writer] { writer.request_stop(body_stream::stop_reason::client_gone); });
    watch->arm();
    entry.streaming = &writer;
    ++streams;
    // Shutdown may have begun while the head was written.
    if (stopping) writer.request_stop(body_stream::stop_reason::shutdown);
    auto [body_error] = co_await asio::co_spawn(stream.get_executor(), answer.body(writer),
                                                asio::bind_cancellation_slot(writer.slot(), use_tuple));
    --streams;
    entry.streaming = nullptr;
    watch->stop();
    boost::system::error_code ignored;
    stream.socket().cancel(ignored);  // ends the watch's wait
    if (body_error) log_exception("stream", request_id, body_error);
    if (writer.chunked() && !writer.failed() && writer.stop_requested() != body_stream::stop_reason::client_gone) {
      stream.expires_after(config.write_timeout);
      co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), use_tuple);
      stream.expires_never();
    }
  }

  void begin_shutdown(std::function<void()> callback);

  static asio::awaitable<void> accept_loop(std::shared_ptr<state> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
      if (self->stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        // EMFILE and friends: pause briefly instead of spinning.
        std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
        asio::steady_timer pause(self->acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      if (self->sessions.size() >= self->config.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      // An exception that escapes a connection's code ends that connection,
      // never the process.
      asio::co_spawn(self->acceptor.get_executor(), run_session(self, std::move(socket)), [](std::exception_ptr e) {
        if (e) log_exception("connection", "-", e);
      });
    }
  }
};

namespace {
// The api_handler's own executor when it runs on `io` (no hop per request),
// else a serial executor of `io`.
bool runs_on(asio::io_context& io, const api_handler& handler) {
  return &asio::query(handler.executor().get(), asio::execution::context) ==
         &static_cast<asio::execution_context&>(io);
}
storage::serial_executor listener_executor(asio::io_context& io, const api_handler& handler) {
  if (runs_on(io, handler)) return handler.executor();
  return storage::serial_executor(io.get_executor());
}

streaming_request_handler whole_answers(request_handler handler) {
  return [h = std::move(handler)](const http_request& req,
                                  const request_context& ctx) -> asio::awaitable<handler_result> {
    co_return handler_result(co_await h(req, ctx));
  };
}

// A stream's body runs on the listener's executor and touches the handler's
// state (its live-tail shard): only when both are the same executor may the
// handler stream; otherwise its stream route answers 501.
streaming_request_handler mounted(asio::io_context& io, const api_handler& handler) {
  if (runs_on(io, handler)) return handler.as_streaming_handler();
  return whole_answers(handler.as_request_handler());
}
}  // namespace

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& endpoint, request_handler handler,
                             listener_config config, bool reuse_port)
    : http_listener(storage::serial_executor(io.get_executor()), endpoint, whole_answers(std::move(handler)), config,
                    reuse_port) {}

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& endpoint, streaming_request_handler handler,
                             listener_config config, bool reuse_port)
    : http_listener(storage::serial_executor(io.get_executor()), endpoint, std::move(handler), config, reuse_port) {}

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& endpoint, api_handler& handler,
                             listener_config config, bool reuse_port)
    : http_listener(listener_executor(io, handler), endpoint, mounted(io, handler), config, reuse_port) {
  // The gate is not thread-safe: only a listener on the handler's own executor
  // may wait at it.
  if (runs_on(io, handler)) state_->admission = handler.admission();
}

http_listener::http_listener(storage::serial_executor executor, const tcp::endpoint& endpoint,
                             streaming_request_handler handler, listener_config config, bool reuse_port)
    : state_(std::make_shared<state>(std::move(executor), std::move(handler), config)) {
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    const int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
  }
  a.bind(endpoint);
  a.listen(asio::socket_base::max_listen_connections);
  state_->bound_port = a.local_endpoint().port();
}

http_listener::~http_listener() {
  // Connections may outlive the object, but accepting must not: the accept loop
  // would keep the io_context's threads running forever. A shutdown already
  // begun keeps its callback.
  asio::dispatch(state_->executor.get(), [self = state_] {
    if (!self->stopping) self->begin_shutdown({});
  });
}

unsigned short http_listener::port() const { return state_->bound_port; }

void http_listener::start() {
  asio::co_spawn(state_->executor.get(), state::accept_loop(state_), [](std::exception_ptr e) {
    if (e) log_exception("accept loop", "-", e);
  });
}

std::size_t http_listener::open_streams() const noexcept { return state_->streams.load(std::memory_order_relaxed); }
std::size_t http_listener::open_connections() const noexcept {
  return state_->session_count.load(std::memory_order_relaxed);
}

const storage::serial_executor& http_listener::executor() const noexcept { return state_->executor; }

void http_listener::begin_shutdown(std::function<void()> on_drained) {
  asio::dispatch(state_->executor.get(), [self = state_, on_drained = std::move(on_drained)]() mutable {
    self->begin_shutdown(std::move(on_drained));
  });
}

void http_listener::state::begin_shutdown(std::function<void()> callback) {
  stopping = true;
  on_drained = std::move(callback);
  boost::system::error_code ignored;
  acceptor.close(ignored);
  // Connections waiting for their next request are closed now; the others end
  // after the response in flight.
  for (auto& entry : sessions) {
    if (entry.between_requests) entry.stream->socket().close(ignored);
    else if (entry.streaming) entry.streaming->request_stop(body_stream::stop_reason::shutdown);
  }
  if (sessions.empty()) {
    drained();
    return;
  }
  shutdown_timer.expires_after(config.shutdown_timeout);
  shutdown_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    std::fprintf(stderr, "shutdown: closing %zu connections still busy\n", self->sessions.size());
    boost::system::error_code ignored;
    for (auto& entry : self->sessions) entry.stream->socket().close(ignored);
  });
}

}  // namespace hookstream::server
