#include <hookstream/server/http_listener.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/socket.h>

#include <cerrno>

#include <array>
#include <cstdio>

namespace hookstream::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct session_entry {
  beast::tcp_stream* stream = nullptr;
  bool between_requests = true;
};
}  // namespace

struct http_listener::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, api_handler& h, listener_config c)
      : acceptor(io), handler(h), config(c), shutdown_timer(io) {}

  tcp::acceptor acceptor;
  api_handler& handler;
  listener_config config;
  std::list<session_entry> sessions;
  bool stopping = false;
  std::function<void()> on_drained;
  asio::steady_timer shutdown_timer;

  void session_ended(std::list<session_entry>::iterator it) {
    sessions.erase(it);
    if (stopping && sessions.empty()) drained();
  }
  void drained() {
    shutdown_timer.cancel();
    if (on_drained) std::exchange(on_drained, nullptr)();
  }

  static http_response protocol_error(http::status status, std::string_view message) {
    http_response res{status, 11};
    const std::string id = choose_request_id({});
    res.set(http::field::content_type, "application/json");
    res.set("X-Request-Id", id);
    res.body() = "{\"error\":\"" + std::string(message) + "\",\"status\":" +
                 std::to_string(static_cast<unsigned>(status)) + ",\"request_id\":\"" + id + "\"}";
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

  // Runs the handler; if the client goes away meanwhile (end of file or an error
  // on its socket), the handler gets terminal cancellation, so a statement it is
  // waiting for is cancelled on the server instead of running for nobody. Data
  // from the client (a pipelined request) ends the watch: it is not a disconnect.
  static asio::awaitable<http_response> answer_while_connected(state& self, tcp::socket& socket,
                                                               const http_request& request) {
    struct watch {
      asio::cancellation_signal signal;
      bool done = false;
    };
    auto w = std::make_shared<watch>();
    socket.async_wait(tcp::socket::wait_read, [w, fd = socket.native_handle()](boost::system::error_code ec) {
      if (ec || w->done) return;
      char byte;
      const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        w->signal.emit(asio::cancellation_type::terminal);
    });
    http_response response = co_await asio::co_spawn(socket.get_executor(), self.handler.handle(request),
                                                      asio::bind_cancellation_slot(w->signal.slot(),
                                                                                   asio::use_awaitable));
    w->done = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);  // ends the watch if it is still pending
    co_return response;
  }

  static asio::awaitable<void> run_session(std::shared_ptr<state> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    auto entry = self->sessions.insert(self->sessions.end(), session_entry{&stream, true});
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(self->config.header_limit));
      parser.body_limit(self->config.body_limit);
      entry->between_requests = true;
      stream.expires_after(self->config.read_timeout);
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      entry->between_requests = false;
      if (read_ec) {
        // Malformed or oversized requests get an answer; vanished peers do not.
        std::optional<http_response> answer;
        if (read_ec == http::error::header_limit)
          answer = protocol_error(http::status::request_header_fields_too_large, "request headers too large");
        else if (read_ec == http::error::body_limit)
          answer = protocol_error(http::status::payload_too_large, "request body too large");
        else if (read_ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 read_ec != http::error::end_of_stream && read_ec != http::error::partial_message)
          answer = protocol_error(http::status::bad_request, "malformed HTTP request");
        if (answer) {
          stream.expires_after(self->config.write_timeout);
          co_await http::async_write(stream, *answer, use_tuple);
          // Lingering close: the client may still be sending what we refused.
          // Closing with unread input makes the kernel send a reset, which can
          // destroy our answer before the client reads it; so stop sending,
          // drain for a moment (bounded in bytes and time), then close.
          boost::system::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
          stream.expires_after(std::chrono::seconds(1));
          std::array<char, 16 * 1024> sink;
          for (int i = 0; i < 64; ++i) {
            auto [drain_ec, drained] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
            if (drain_ec) break;
          }
        }
        break;
      }

      http_request request = parser.release();
      http_response response = co_await answer_while_connected(*self, stream.socket(), request);
      response.keep_alive(request.keep_alive() && !self->stopping);
      stream.expires_after(self->config.write_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
      if (write_ec || !response.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    self->session_ended(entry);
  }

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
      asio::co_spawn(self->acceptor.get_executor(), run_session(self, std::move(socket)), asio::detached);
    }
  }
};

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& endpoint, api_handler& handler,
                             listener_config config, bool reuse_port)
    : state_(std::make_shared<state>(io, handler, config)) {
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
}

http_listener::~http_listener() = default;

unsigned short http_listener::port() const { return state_->acceptor.local_endpoint().port(); }

void http_listener::start() {
  asio::co_spawn(state_->acceptor.get_executor(), state::accept_loop(state_), asio::detached);
}

std::size_t http_listener::open_connections() const noexcept { return state_->sessions.size(); }

void http_listener::begin_shutdown(std::function<void()> on_drained) {
  auto& s = *state_;
  s.stopping = true;
  s.on_drained = std::move(on_drained);
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  // Connections waiting for their next request are closed now; the others end
  // after the response in flight.
  for (auto& entry : s.sessions)
    if (entry.between_requests) entry.stream->socket().close(ignored);
  if (s.sessions.empty()) {
    s.drained();
    return;
  }
  s.shutdown_timer.expires_after(s.config.shutdown_timeout);
  s.shutdown_timer.async_wait([weak = std::weak_ptr<state>(state_)](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    std::fprintf(stderr, "shutdown: closing %zu connections still busy\n", self->sessions.size());
    boost::system::error_code ignored;
    for (auto& entry : self->sessions) entry.stream->socket().close(ignored);
  });
}

}  // namespace hookstream::server
