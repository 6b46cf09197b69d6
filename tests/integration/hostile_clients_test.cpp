// Hostile and careless clients: smuggling-shaped framing, HTTP/1.0 keep-alive,
// malformed requests while the pool is busy, random keys at full speed,
// /readyz hammering, a handler that throws, a client that hangs up.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/auth/api_key.hpp>
#include <hookstream/server/http_errors.hpp>
#include <hookstream/server/http_listener.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include <unistd.h>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// How many times `needle` occurs in `haystack`.
std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

// A metric's value from /metrics text.
double metric(const test::test_server& server, const std::string& name) {
  const auto body = server.get("/metrics").body;
  const auto pos = body.find("\n" + name + " ");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "no metric " << name);
  return std::stod(body.substr(pos + name.size() + 2));
}

std::int64_t api_key_index_scans(test::sql_session& db) {
  // Statistics reach the shared view at the end of a transaction, at most a
  // second later (PostgreSQL 15 flushes pending statistics at least that often)
  // while the backend works or when it exits. Behind a pooler (the api_pgbouncer
  // tier) the server's backends outlive every test server, and an idle backend
  // holds what it has not flushed for up to 10 s (PGSTAT_IDLE_INTERVAL): earlier
  // tests' look-ups would otherwise land inside the measured window.
  const char* pooler = std::getenv("HOOKSTREAM_TEST_POOLER_STATE_DIR");
  std::this_thread::sleep_for(pooler && *pooler ? 10500ms : 1200ms);
  return std::stoll(*db.scalar("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes "
                               "WHERE relname = 'api_keys' AND indexrelname LIKE '%key_hash%'"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_clients)

// RFC 9112 section 6.3: a request whose body length a proxy and this server
// could read differently is refused, and its connection closed, before any of
// its body is read, so a body can never be served as a second request.
BOOST_AUTO_TEST_CASE(ambiguous_framing_is_refused_and_closed) {
  test::test_server server;
  const std::string smuggled = "GET /v2/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string body_len = std::to_string(smuggled.size());
  for (const std::string te : {"xchunked", "identity", "gzip", "chunked, identity", "chunked, chunked", "gzip, x"}) {
    const auto answer = server.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n" +
                                   smuggled);
    BOOST_TEST_CONTEXT("Transfer-Encoding: " << te) {
      BOOST_TEST(answer.find("HTTP/1.1 400") == 0u);
      BOOST_TEST(answer.find("Connection: close") != std::string::npos);
      BOOST_TEST(answer.find("\"status\":400") != std::string::npos);
      BOOST_TEST(count_of(answer, "HTTP/1.1 ") == 1u);  // the body was never served
    }
  }
  const auto both = server.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + body_len +
                               "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
  BOOST_TEST(both.find("HTTP/1.1 400") == 0u);
  BOOST_TEST(count_of(both, "HTTP/1.1 ") == 1u);
  const auto two_lengths =
      server.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello");
  BOOST_TEST(two_lengths.find("HTTP/1.1 400") == 0u);
  // A properly chunked request is fine.
  const auto chunked = server.raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  BOOST_TEST(chunked.find("HTTP/1.1 200") == 0u);
}

BOOST_AUTO_TEST_CASE(host_is_required_in_http_1_1_and_http_1_0_keeps_alive) {
  test::test_server server;
  const auto no_host = server.raw("GET /healthz HTTP/1.1\r\n\r\n");
  BOOST_TEST(no_host.find("HTTP/1.1 400") == 0u);
  BOOST_TEST(no_host.find("Host") != std::string::npos);  // the message says what is missing
  const auto two_hosts = server.raw("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  BOOST_TEST(two_hosts.find("HTTP/1.1 400") == 0u);

  // HTTP/1.0 needs no Host, and keeps the connection only when asked, and then
  // says so: two requests answered on one connection.
  const auto kept = server.raw(
      "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
      "GET /healthz HTTP/1.0\r\n\r\n");
  BOOST_TEST(count_of(kept, " 200 OK") == 2u);
  const auto first_answer = kept.substr(0, kept.find("\r\n\r\n"));
  BOOST_TEST(first_answer.find("Connection: keep-alive") != std::string::npos);
  const auto closed = server.raw("GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n");
  BOOST_TEST(count_of(closed, " 200 OK") == 1u);  // without keep-alive the first answer ends it
}

// A malformed request never waits for, or holds, a database connection: with
// the only pooled connection stuck behind a lock, it still gets its 400 at
// once (not a 503 after the acquire timeout).
BOOST_AUTO_TEST_CASE(malformed_requests_never_touch_a_busy_pool) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  test::test_server server(1, [](server::server_config& c) {
    c.pool.max_size = 1;
    c.handler.acquire_timeout = 2000ms;
  });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);  // the key is now cached

  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE");
  auto stuck = std::async(std::launch::async, [&] { return server.get("/v1/delivery-attempts", key); });
  std::this_thread::sleep_for(300ms);  // the stuck request holds the only connection now

  const auto started = std::chrono::steady_clock::now();
  for (const std::string target : {"/v1/delivery-attempts?limit=0", "/v1/delivery-attempts?status=nope",
                                   "/v1/delivery-attempts?cursor=not-a-cursor", "/v1/delivery-attempts?offset=-1",
                                   "/v1/delivery-attempts?cursor=AAAA&offset=5"}) {
    auto r = server.get(target, key);
    BOOST_TEST(r.status == 400u, target);
  }
  // A well-formed cursor with a bad signature is caught for this tenant, also
  // without the database (the key is cached).
  auto forged = server.get("/v1/delivery-attempts?cursor=" + std::string(48, 'A'), key);
  BOOST_TEST(forged.status == 400u);
  BOOST_TEST((std::chrono::steady_clock::now() - started < 1500ms));
  locker.exec("ROLLBACK");
  BOOST_TEST(stuck.get().status == 200u);
}

// Random well-formed keys at full speed: every miss costs a look-up only while
// the client address has budget; then 429 with Retry-After, without asking the
// database. A client with a valid (cached) key keeps being served meanwhile.
// (One worker thread: credential caches are per thread, and every client here
// shares 127.0.0.1, so a valid key not yet cached on a thread would count
// against that same, exhausted, address budget.)
BOOST_AUTO_TEST_CASE(random_keys_cannot_drive_database_look_ups) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::test_server server(1, [](server::server_config& c) {
    c.handler.auth_failure_limit = {.limit = 10, .window = 2s};  // 10 per 2 s, 5 per second sustained
  });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);

  const auto scans_before = api_key_index_scans(db);
  // The valid key into the cache again, right before the attack: behind a
  // pooler the wait above (10.5 s) outlasts the cache's TTL (5 s), and a valid
  // key that needs its look-up after the attackers have spent the address's
  // budget is refused like theirs (429) until the budget refills.
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);
  const auto lookups_before = metric(server, "hookstream_auth_lookups_total");
  std::atomic<int> refused{0}, unauthorized{0}, valid_ok{0}, valid_other{0};
  std::atomic<bool> retry_after_seen{false};
  const auto started = std::chrono::steady_clock::now();
  const auto run_for = 3s;
  std::vector<std::future<void>> attackers;
  for (int t = 0; t < 4; ++t)
    attackers.push_back(std::async(std::launch::async, [&] {
      while (std::chrono::steady_clock::now() - started < run_for) {
        auto r = server.get("/v1/delivery-attempts", {test::api_key_header(auth::generate_api_key())});
        if (r.status == 429u) {
          ++refused;
          if (!r.header("retry-after").empty() && r.json().at("status").as_int64() == 429) retry_after_seen = true;
        } else if (r.status == 401u) {
          ++unauthorized;
        }
      }
    }));
  auto honest = std::async(std::launch::async, [&] {
    while (std::chrono::steady_clock::now() - started < run_for) {
      (server.get("/v1/delivery-attempts", key).status == 200u ? valid_ok : valid_other)++;
      std::this_thread::sleep_for(20ms);
    }
  });
  for (auto& a : attackers) a.get();
  honest.get();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const auto lookups = metric(server, "hookstream_auth_lookups_total") - lookups_before;
  const auto scans = api_key_index_scans(db) - scans_before;
  // Budget: the burst of 10 plus 5 per second, plus the look-ups already in
  // flight when it ran out (at most one per attacking client).
  const double allowed = 10 + 5 * seconds + 4;
  BOOST_TEST_MESSAGE("random keys: " << unauthorized << " x 401, " << refused << " x 429, " << lookups
                                     << " look-ups (server), " << scans << " index scans (database) in " << seconds
                                     << " s");
  BOOST_TEST(lookups <= allowed);
  BOOST_TEST(scans <= allowed + 1);  // + the valid key's look-up before the attack (when its cache entry had expired)
  BOOST_TEST(refused > 100);
  BOOST_TEST(retry_after_seen.load());
  BOOST_TEST(valid_other.load() == 0);
  BOOST_TEST(valid_ok.load() > 20);
}

BOOST_AUTO_TEST_CASE(readyz_asks_the_database_at_most_once_a_second) {
  test::test_server server(2);
  const auto started = std::chrono::steady_clock::now();
  int answered = 0;
  while (std::chrono::steady_clock::now() - started < 2500ms) {
    BOOST_TEST(server.get("/readyz").status == 200u);
    ++answered;
  }
  const auto checks = metric(server, "hookstream_readiness_checks_total");
  BOOST_TEST_MESSAGE(answered << " /readyz answers, " << checks << " database checks");
  BOOST_TEST(answered > 50);
  BOOST_TEST(checks >= 2);
  BOOST_TEST(checks <= 4);  // 2.5 s at most one per second, plus the first
}

// An exception that escapes a handler is logged and answered 500 with the
// error body; the server keeps serving.
BOOST_AUTO_TEST_CASE(an_escaping_exception_becomes_a_500_not_a_crash) {
  asio::io_context io(1);
  server::http_listener listener(
      io, {asio::ip::make_address("127.0.0.1"), 0},
      [](const server::http_request& req, const server::request_context&) -> asio::awaitable<server::http_response> {
        if (req.target() == "/alloc") throw std::bad_alloc();
        if (req.target() == "/throw") throw std::runtime_error("injected");
        co_return server::make_response(boost::beast::http::status::ok, "{}", "req_ok");
      },
      {}, false);
  listener.start();
  std::thread runner([&] { io.run(); });
  auto ask = [&](const std::string& target) {
    asio::io_context client_io;
    asio::ip::tcp::socket s(client_io);
    s.connect({asio::ip::make_address("127.0.0.1"), listener.port()});
    asio::write(s, asio::buffer("GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-" + target.substr(1) +
                                "\r\nConnection: close\r\n\r\n"));
    std::string answer;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(answer), ec);
    return answer;
  };
  for (const std::string target : {"/throw", "/alloc"}) {
    const auto answer = ask(target);
    BOOST_TEST_CONTEXT(target) {
      BOOST_TEST(answer.find("HTTP/1.1 500") == 0u);
      BOOST_TEST(answer.find("\"request_id\":\"trace-" + target.substr(1) + "\"") != std::string::npos);
      BOOST_TEST(answer.find("\"status\":500") != std::string::npos);
    }
  }
  BOOST_TEST(ask("/fine").find("HTTP/1.1 200") == 0u);
  asio::post(io, [&] { listener.begin_shutdown([] {}); });
  runner.join();
}

// Captures what this process writes to stderr (the server's log) meanwhile.
class stderr_capture {
 public:
  stderr_capture() : saved_(::dup(2)) {
    std::FILE* f = std::tmpfile();
    BOOST_REQUIRE(f);
    file_ = f;
    std::fflush(stderr);
    ::dup2(::fileno(file_), 2);
  }
  ~stderr_capture() { restore(); }
  std::string text() {
    restore();
    std::string out;
    std::rewind(file_);
    char buf[4096];
    while (const auto n = std::fread(buf, 1, sizeof buf, file_)) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  int saved_;
  std::FILE* file_ = nullptr;
};

// A client that hangs up while its request waits on the database cancels it
// (the server logs the request as abandoned while the lock still holds it,
// not once the database answers), and the pooled connection serves the next
// request. Also when it hangs up right after sending, before the listener
// watches its socket (armed only for requests still running after 50 ms).
BOOST_AUTO_TEST_CASE(a_client_that_hangs_up_frees_its_connection) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  test::test_server server(1, [](server::server_config& c) { c.pool.max_size = 1; });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);

  for (const auto hang_up_after : {300ms, 0ms}) {
    BOOST_TEST_CONTEXT("hung up " << hang_up_after.count() << " ms after sending") {
      const std::string request_id = "hang-up-after-" + std::to_string(hang_up_after.count());
      test::sql_session locker;
      locker.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE");
      stderr_capture log;
      {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
        asio::write(s, asio::buffer("GET /v1/delivery-attempts HTTP/1.1\r\nHost: x\r\nX-API-Key: " +
                                    tenant.api_key + "\r\nX-Request-Id: " + request_id + "\r\n\r\n"));
        std::this_thread::sleep_for(hang_up_after);
      }  // hangs up
      std::this_thread::sleep_for(300ms);
      const std::string logged = log.text();
      BOOST_TEST(logged.find("request " + request_id + ": the client closed the connection; its request was "
                             "abandoned") != std::string::npos,
                 logged);
      locker.exec("ROLLBACK");
      BOOST_TEST(server.get("/v1/delivery-attempts", key).status == 200u);
    }
  }
}

namespace {
// A GET of the listing on a socket of its own, left unanswered until read.
struct pending_listing {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  pending_listing(unsigned short port, const std::string& api_key, const std::string& request_id) {
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(socket, asio::buffer("GET /v1/delivery-attempts HTTP/1.1\r\nHost: x\r\nX-API-Key: " + api_key +
                                     "\r\nX-Request-Id: " + request_id + "\r\n\r\n"));
  }
  // The status of the answer (reads its head only).
  unsigned status() {
    asio::streambuf in;
    asio::read_until(socket, in, "\r\n");
    std::string line(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
    return static_cast<unsigned>(std::stoul(line.substr(9, 3)));
  }
};
}  // namespace

// http_listener waits for an API request's place before it calls the handler
// (api_handler::admission). A client that hangs up meanwhile is found gone
// when its turn comes: the request is dropped there, logged, and its place
// goes to the next one; the handler never sees it.
BOOST_AUTO_TEST_CASE(a_client_that_hangs_up_while_it_waits_for_its_place_is_dropped_at_its_turn) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  test::test_server server(1, [](server::server_config& c) {
    c.pool.max_size = 1;
    c.handler.active_requests_per_connection = 1;  // one place
  });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);  // the key is cached

  stderr_capture log;
  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE");
  pending_listing first(server.port(), tenant.api_key, "holds-the-place");
  std::this_thread::sleep_for(200ms);
  {
    pending_listing second(server.port(), tenant.api_key, "leaves-in-line");
    std::this_thread::sleep_for(200ms);
    metric(server, "hookstream_api_requests_waiting");  // (the gauges are published as a request ends)
    BOOST_TEST(metric(server, "hookstream_api_requests_waiting") == 1.0);
  }  // hangs up, still in line
  std::this_thread::sleep_for(100ms);
  locker.exec("ROLLBACK");
  BOOST_TEST(first.status() == 200u);
  // The place was handed to the request that left, which gave it back at once.
  BOOST_TEST(server.get("/v1/delivery-attempts", key).status == 200u);
  metric(server, "hookstream_api_requests_active");
  BOOST_TEST(metric(server, "hookstream_api_requests_waiting") == 0.0);
  // Four passes (the first look-up, the two pending listings, the last one);
  // one of them after a turn in the queue, which left by neither deadline nor
  // cancellation (the hang-up was found at its turn).
  BOOST_TEST(metric(server, "hookstream_api_admissions_total") == 4.0);
  BOOST_TEST(metric(server, "hookstream_api_admission_waits_total") == 1.0);
  BOOST_TEST(metric(server, "hookstream_api_admission_wait_seconds_total") >= 0.1);
  BOOST_TEST(metric(server, "hookstream_api_admission_timeouts_total") == 0.0);
  const std::string text = log.text();
  BOOST_TEST_INFO(text);
  BOOST_TEST(count_of(text, "request leaves-in-line: the client closed the connection while it waited its turn") == 1u);
  BOOST_TEST(count_of(text, "holds-the-place") == 0u);
}

// The wait for a place counts against the request's deadline: a request that
// waited out most of its request_timeout in line does not get a fresh budget
// when its turn comes.
BOOST_AUTO_TEST_CASE(the_wait_for_a_place_counts_against_the_request_deadline) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  test::test_server server(1, [](server::server_config& c) {
    c.pool.max_size = 1;
    c.handler.active_requests_per_connection = 1;
    c.handler.request_timeout = 1000ms;
    c.handler.acquire_timeout = 3000ms;  // longer than the request's budget: the budget decides
  });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);

  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE");
  pending_listing first(server.port(), tenant.api_key, "first");  // holds the place until its deadline
  std::this_thread::sleep_for(100ms);
  const auto sent = std::chrono::steady_clock::now();
  pending_listing second(server.port(), tenant.api_key, "second");
  BOOST_TEST(first.status() == 504u);
  const unsigned status = second.status();
  const auto waited = std::chrono::steady_clock::now() - sent;
  locker.exec("ROLLBACK");
  BOOST_TEST_MESSAGE("the second request: " << status << " after "
                                            << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                                            << " ms");
  BOOST_TEST((status == 503u || status == 504u));
  BOOST_TEST((waited < 1700ms));  // its own 1 s from when it was read, not 1 s from its turn (~0.9 s later)
}

// An answer the client does not take in time is not left half-written in
// silence: the connection is closed and the log names the request.
BOOST_AUTO_TEST_CASE(an_answer_not_delivered_is_logged_with_its_request_id) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  std::vector<test::attempt_spec> rows(100);
  test::insert_attempts(db, tenant, rows);
  db.exec("UPDATE delivery_attempts SET response_body = convert_to(repeat(md5(id), 1900), 'UTF8') WHERE org_id = " +
          test::quote(tenant.org_id));  // ~60 KB each: a page of about 6 MB, more than socket buffers hold
  test::test_server server(1, [](server::server_config& c) {
    c.listener.write_timeout = 300ms;
    c.handler.listing_field_bytes = 64 * 1024;
    c.handler.max_page_bytes = 16 * 1024 * 1024;
  });
  stderr_capture log;
  {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.open(asio::ip::tcp::v4());
    s.set_option(asio::socket_base::receive_buffer_size(4096));  // and then never read
    s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    asio::write(s, asio::buffer("GET /v1/delivery-attempts?limit=100 HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-reader-1"
                                "\r\nX-API-Key: " + tenant.api_key + "\r\n\r\n"));
    std::this_thread::sleep_for(1500ms);
  }
  const std::string text = log.text();
  BOOST_TEST_MESSAGE("server log: " << text);
  BOOST_TEST(text.find("request slow-reader-1: answer 200 not delivered") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
