// Fuzz target: the HTTP request path, raw bytes to answer.
//
// Input: what a client writes on a connection. It goes through Boost.Beast's
// request parser with the limits http_listener uses (listener_config's
// defaults), then api_handler::handle, for up to four pipelined requests as the
// listener serves a keep-alive connection. The handler's pool points at a
// database that refuses connections (127.0.0.1:1) and opens a connection for
// every acquire without back-off, so whatever gets past validation fails at once
// with 503 and no input waits on a timer. The loop runs the context only until
// each answer is ready: the pool's outage probe would keep it busy forever.
//
// Every answer must be well-formed: a 1xx-5xx status; X-Request-Id (the
// client's own when well-formed); no CR, LF or NUL in any header (response
// splitting); Content-Length equal to the body; and for every status >= 400 the
// JSON body {"error": "...", "status": N, "request_id": "..."} with N the HTTP
// status and the header's id. Without a database nothing is served but
// /healthz, /metrics and CORS preflights.
#include "fuzz_support.hpp"

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_listener.hpp>
#include <hookstream/server/metrics.hpp>
#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace hs = hookstream::server;
namespace st = hookstream::storage;
namespace fz = hookstream::fuzz;
using namespace std::chrono_literals;

constexpr int max_requests_per_input = 4;

// A SyncReadStream over the input: all of it at once, then end of stream (the
// client has sent everything and half-closed).
class input_stream {
 public:
  explicit input_stream(std::string_view bytes) : rest_(bytes) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (rest_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

bool well_formed_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == ':' || c == '-'))
      return false;
  return true;
}

std::string gunzip(std::string_view packed) {
  z_stream zs{};
  FUZZ_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "inflateInit2 failed");
  std::string out;
  char chunk[4096];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  zs.avail_in = static_cast<uInt>(packed.size());
  int rc = Z_OK;
  while (rc == Z_OK && out.size() < (1u << 20)) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  }
  inflateEnd(&zs);
  FUZZ_CHECK(rc == Z_STREAM_END, "a gzip body does not inflate");
  return out;
}

void check_error_body(const hs::http_response& res, std::string_view request_id) {
  const auto type = res[http::field::content_type];
  FUZZ_CHECK(type == "application/json", "an error answer is not application/json");
  std::string body = res.body();
  if (res[http::field::content_encoding] == "gzip") body = gunzip(body);
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  FUZZ_CHECK(!ec, "an error body is not JSON");
  FUZZ_CHECK(v.is_object() && v.as_object().size() == 3, "an error body is not an object of three members");
  const auto& o = v.as_object();
  const auto* error = o.if_contains("error");
  const auto* status = o.if_contains("status");
  const auto* id = o.if_contains("request_id");
  FUZZ_CHECK(error && error->is_string() && !error->as_string().empty(), "an error body without a message");
  FUZZ_CHECK(status && status->is_int64() && status->as_int64() == res.result_int(),
             "an error body whose status is not the HTTP status");
  FUZZ_CHECK(id && id->is_string() && id->as_string() == request_id,
             "an error body whose request_id is not X-Request-Id");
}

void check_response(const hs::http_request& req, const hs::http_response& res) {
  const unsigned status = res.result_int();
  FUZZ_CHECK(status >= 100 && status <= 599, "a status outside 1xx-5xx");

  for (const auto& field : res) {
    for (const char c : field.name_string()) FUZZ_CHECK(c > 0x20 && c < 0x7F && c != ':', "a bad header name");
    for (const char c : field.value()) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in a header");
  }

  const auto id_field = res.find("X-Request-Id");
  FUZZ_CHECK(id_field != res.end(), "an answer without X-Request-Id");
  const std::string_view id = id_field->value();
  FUZZ_CHECK(well_formed_request_id(id), "a malformed X-Request-Id");
  if (const auto in = req.find("X-Request-Id"); in != req.end() && well_formed_request_id(in->value()))
    FUZZ_CHECK(id == in->value(), "a well-formed incoming X-Request-Id was not kept");
  else
    FUZZ_CHECK(id.starts_with("req_") && id.size() == 4 + 32, "a generated request id is not req_<32 hex>");

  if (status != 204 && status >= 200) {
    const auto length = res[http::field::content_length];
    FUZZ_CHECK(length == std::to_string(res.body().size()), "Content-Length does not match the body");
  }

  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (status < 400) {
    // No database: only answers that need none can succeed (the OpenAPI
    // document is built from the code and served without auth).
    const bool preflight = req.method() == http::verb::options && status == 204;
    const bool no_db_path = req.method() == http::verb::get && status == 200 &&
                            (path == "/healthz" || path == "/metrics" || path == "/v1/openapi.json");
    FUZZ_CHECK(preflight || no_db_path, "a success that needs the (unreachable) database");
    return;
  }
  check_error_body(res, id);
  if (status == 401) FUZZ_CHECK(res.find(http::field::www_authenticate) != res.end(), "401 without WWW-Authenticate");
  if (status == 503 || status == 429) FUZZ_CHECK(res.find(http::field::retry_after) != res.end(), "no Retry-After");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Everything fresh per input, so an input's outcome never depends on the ones
  // before it (credential cache, pool back-off, rate buckets).
  asio::io_context io;
  st::pool_config db;
  db.conninfo = "postgresql://fuzz@127.0.0.1:1/none";
  db.max_size = 2;
  db.connect_timeout = 200ms;
  db.backoff_initial = 0ms;  // every acquire tries (and fails) at once: no waiting on a timer
  db.backoff_max = 0ms;
  st::connection_pool pool(io.get_executor(), db);

  hs::metrics_registry registry;
  hs::server_metrics& metrics = registry.add_worker();
  hs::handler_config config;
  config.acquire_timeout = 100ms;
  config.request_timeout = 200ms;
  config.cursor_secret = fz::cursor_secret;
  config.auth.session_secrets = fz::session_secrets;
  config.auth.cache_capacity = 16;
  config.cors_origins = {fz::cors_origin};
  config.gzip_min_bytes = 64;  // error bodies are short: compress them too, to fuzz that path
  hs::api_handler handler(pool, config, &metrics, &registry);

  const hs::listener_config limits;  // the listener's own header and body limits
  input_stream in(std::string_view(reinterpret_cast<const char*>(data), size));
  beast::flat_buffer buffer;
  for (int i = 0; i < max_requests_per_input; ++i) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    boost::system::error_code ec;
    http::read(in, buffer, parser, ec);
    if (ec) break;  // the listener answers 400/413/431 itself, or the client is gone
    const hs::http_request request = parser.release();

    std::optional<hs::http_response> response;
    std::exception_ptr failure;
    asio::co_spawn(io, handler.handle(request), [&](std::exception_ptr e, hs::http_response r) {
      failure = e;
      response = std::move(r);
    });
    // Run until this request is answered, not until the context is idle: with
    // the database unreachable the pool keeps a background probe scheduled
    // (back-off 0 here), so the context never runs out of work.
    // A context that ran out of work stops and must be restarted.
    while (!response && !failure)
      if (io.run_one() == 0) io.restart();
    FUZZ_CHECK(!failure, "api_handler::handle threw");
    FUZZ_CHECK(response.has_value(), "api_handler::handle did not finish");
    check_response(request, *response);
    if (!request.keep_alive()) break;
  }
  return 0;
}
