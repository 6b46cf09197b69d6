#include "gateway_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <list>
#include <mutex>

namespace gateway {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using hookstream::server::http_request;
using hookstream::server::http_response;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto read_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(10);
}  // namespace

// One client connection; it lives on its own strand.
struct http_server::connection {
  explicit connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool waiting_for_request = true;  // on the connection's strand
};

// Shared by the accept loop and the connections, each on its own strand: the
// registry of connections is the one piece they share, under a mutex.
struct http_server::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, hookstream::server::request_handler r)
      : io(io), acceptor(asio::make_strand(io)), router(std::move(r)) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  hookstream::server::request_handler router;
  std::mutex mutex;
  std::list<std::weak_ptr<connection>> connections;
  bool stopping = false;
  std::function<void()> on_drained;

  void connection_ended(std::list<std::weak_ptr<connection>>::iterator it) {
    std::function<void()> drained;
    {
      std::lock_guard lock(mutex);
      connections.erase(it);
      if (stopping && connections.empty()) drained = std::exchange(on_drained, nullptr);
    }
    if (drained) drained();
  }

  static asio::awaitable<void> serve(std::shared_ptr<state> self, std::shared_ptr<connection> conn) {
    std::list<std::weak_ptr<connection>>::iterator entry;
    {
      std::lock_guard lock(self->mutex);
      if (self->stopping) co_return;
      entry = self->connections.insert(self->connections.end(), conn);
    }
    struct end_connection {
      state& s;
      std::list<std::weak_ptr<connection>>::iterator entry;
      ~end_connection() { s.connection_ended(entry); }
    } ender{*self, entry};

    hookstream::server::request_context context;
    boost::system::error_code ec;
    if (auto peer = conn->stream.socket().remote_endpoint(ec); !ec) context.client_address = peer.address().to_string();
    beast::flat_buffer buffer;
    for (;;) {
      // Checked here, on the connection's strand, right before it is marked
      // idle: a stop that began while the last answer was being written (kept
      // alive) ends the connection now; a later one finds it idle and closes it.
      {
        std::lock_guard lock(self->mutex);
        if (self->stopping) break;
      }
      http_request request;
      conn->waiting_for_request = true;
      conn->stream.expires_after(read_timeout);
      auto [read_ec, read] = co_await http::async_read(conn->stream, buffer, request, use_tuple);
      conn->waiting_for_request = false;
      if (read_ec) break;
      http_response response = co_await self->router(request, context);
      bool stopping;
      {
        std::lock_guard lock(self->mutex);
        stopping = self->stopping;
      }
      const bool keep_alive = request.keep_alive() && !stopping;
      response.keep_alive(keep_alive);
      conn->stream.expires_after(write_timeout);
      auto [write_ec, written] = co_await http::async_write(conn->stream, response, use_tuple);
      if (write_ec || !keep_alive) break;
    }
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<state> self) {
    for (;;) {
      // Each connection gets a strand of its own on the shared io_context.
      auto [ec, socket] = co_await self->acceptor.async_accept(asio::make_strand(self->io), use_tuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<connection>(std::move(socket));
      asio::co_spawn(conn->stream.get_executor(), serve(self, conn), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "gateway connection: %s\n", ex.what());
        }
      });
    }
  }
};

http_server::http_server(asio::io_context& io, const tcp::endpoint& endpoint,
                         hookstream::server::request_handler router)
    : state_(std::make_shared<state>(io, std::move(router))) {
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(asio::socket_base::max_listen_connections);
  port_ = a.local_endpoint().port();
}

void http_server::start() { asio::co_spawn(state_->acceptor.get_executor(), state::accept_loop(state_), asio::detached); }

void http_server::stop(std::function<void()> on_drained) {
  auto self = state_;
  asio::dispatch(self->acceptor.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::list<std::shared_ptr<connection>> open;
  {
    std::lock_guard lock(self->mutex);
    self->stopping = true;
    if (self->connections.empty()) {
      on_drained();
      return;
    }
    self->on_drained = std::move(on_drained);
    for (auto& weak : self->connections)
      if (auto conn = weak.lock()) open.push_back(std::move(conn));
  }
  // A connection's socket belongs to its strand: close idle ones there.
  for (auto& conn : open)
    asio::post(conn->stream.get_executor(), [conn] {
      if (!conn->waiting_for_request) return;
      boost::system::error_code ignored;
      conn->stream.socket().close(ignored);
    });
}

}  // namespace gateway
