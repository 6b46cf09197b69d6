#include "support/test_server.hpp"

#include "support/http_client.hpp"
#include "support/test_database.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <hookstream/encoding/base64.hpp>
#include <hookstream/encoding/utf8.hpp>

#include <boost/json/serialize.hpp>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/time.h>

namespace hookstream::test {
namespace asio = boost::asio;
namespace http = boost::beast::http;

boost::json::value http_result::json() const { return boost::json::parse(body); }

// With HOOKSTREAM_RECORD_RESPONSES=<file>, every answer get() receives is
// appended to <file> as one JSON line (the file is emptied at the first answer
// of the process): the OpenAPI contract test validates them all against the
// document (tests/openapi/validate.mjs). Bodies that are not UTF-8 (gzip) are
// recorded in base64.
void record_answer(const std::string& target, const http_result& r) {
  static const char* path = std::getenv("HOOKSTREAM_RECORD_RESPONSES");
  if (!path || !*path) return;
  static std::mutex m;
  static bool truncated = false;
  boost::json::object line{{"method", "GET"}, {"target", target}, {"status", r.status}};
  boost::json::object headers;
  for (const auto& [name, value] : r.headers) headers[name] = value;
  line["headers"] = std::move(headers);
  // Bodies past 256 KiB (the heavy-page tests' megabytes) are left out: the
  // shapes they hold are the ones small pages show, and copying them here
  // would inflate the memory those tests measure.
  constexpr std::size_t max_recorded_body = 256 * 1024;
  if (r.body.size() > max_recorded_body) line["body_omitted_bytes"] = r.body.size();
  else if (encoding::is_valid_utf8(r.body)) line["body"] = r.body;
  else line["body_base64"] = encoding::base64_encode(r.body);
  const std::string text = boost::json::serialize(line) + "\n";
  std::lock_guard lock(m);
  std::ofstream out(path, truncated ? std::ios::app : std::ios::trunc);
  truncated = true;
  out << text;
}

test_server::test_server(unsigned threads, const std::function<void(server::server_config&)>& tweak) {
  server::server_config cfg;
  cfg.database_url = database_url();
  // The API tier behind pgbouncer (ctest's api_pgbouncer): the server goes
  // through the pooler, everything else in the test straight to PostgreSQL.
  if (const char* dir = std::getenv("HOOKSTREAM_TEST_POOLER_STATE_DIR"); dir && *dir) {
    std::ifstream in(std::string(dir) + "/database_url");
    std::getline(in, cfg.database_url);
    if (cfg.database_url.empty()) throw std::runtime_error("no pgbouncer URL in " + std::string(dir));
    // The live tail's listener LISTENs and prepares its statements once: it
    // needs a session of its own, straight to PostgreSQL, as in production
    // (--maintenance-database-url).
    cfg.maintenance_database_url = database_url();
  }
  cfg.port = 0;
  cfg.threads = threads;
  cfg.pool.conninfo = cfg.database_url;
  cfg.pool.max_size = cfg.pool_size;
  cfg.listener.shutdown_timeout = std::chrono::milliseconds(2000);
  cfg.handler.cursor_secret = "test-cursor-secret-0123456789abcdef";
  if (tweak) tweak(cfg);
  server_ = std::make_unique<server::server>(cfg);
  server_->start();
  port_ = server_->port();
}

test_server::~test_server() {
  server_->stop();
  server_->wait();
}

http_result test_server::get(const std::string& target, const std::vector<std::string>& headers) const {
  http_client client(port_);  // one connection per call
  http_result out = client.get(target, headers);
  record_answer(target, out);
  return out;
}

std::string test_server::raw(const std::string& bytes) const {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_});
  // The server may answer and stop reading before all of a refused request is
  // sent (e.g. 431): a failed write is expected then; the answer still counts.
  // The sending side stays open: the server takes a hang-up while a request is
  // in flight for a client that went away. Reads end when the server closes
  // the connection, or after 5 s without it.
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(bytes), ec);
  const timeval five_seconds{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
  std::string answer;
  asio::read(socket, asio::dynamic_buffer(answer), ec);
  return answer;
}

}  // namespace hookstream::test
