// The HTTP layer: routes, request ids, protocol errors, keep-alive, metrics, and
// a request stuck in the database not holding up the thread.
#include "support/http_client.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <boost/test/unit_test.hpp>

#include <future>

#include <zlib.h>

using namespace hookstream;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(health_readiness_and_metrics) {
  test::test_server server;
  auto health = server.get("/healthz");
  BOOST_TEST(health.status == 200u);
  BOOST_TEST(health.json().at("status").as_string() == "ok");
  auto ready = server.get("/readyz");
  BOOST_TEST(ready.status == 200u);
  auto metrics = server.get("/metrics");
  BOOST_TEST(metrics.status == 200u);
  BOOST_TEST(metrics.header("content-type").find("text/plain") == 0u);
  BOOST_TEST(metrics.body.find("hookstream_http_requests_total{class=\"2xx\"} 2") != std::string::npos);
  BOOST_TEST(metrics.body.find("hookstream_db_pool_idle") != std::string::npos);
  BOOST_TEST(metrics.body.find("hookstream_db_pool_acquires_total ") != std::string::npos);
  BOOST_TEST(metrics.body.find("hookstream_db_pool_waits_total ") != std::string::npos);
  BOOST_TEST(metrics.body.find("hookstream_db_pool_wait_seconds_total ") != std::string::npos);
  BOOST_TEST(metrics.body.find("hookstream_http_request_duration_seconds_bucket{le=\"+Inf\"} 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(readiness_fails_without_a_database) {
  test::test_server server(1, [](server::server_config& c) {
    c.pool.conninfo = "postgresql://postgres@127.0.0.1:1/none";
    c.handler.acquire_timeout = 500ms;
  });
  auto r = server.get("/readyz");
  BOOST_TEST(r.status == 503u);
  BOOST_TEST(r.json().at("status").as_int64() == 503);
  BOOST_TEST(server.get("/healthz").status == 200u);  // the process itself is fine
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods) {
  test::test_server server;
  auto r = server.get("/v2/nothing");
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(r.json().at("status").as_int64() == 404);
  auto post = server.raw("POST /v1/delivery-attempts HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  BOOST_TEST(post.find("HTTP/1.1 405") == 0u);
  BOOST_TEST(post.find("Allow: GET") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(request_ids_are_kept_or_made) {
  test::test_server server;
  auto kept = server.get("/v2/nothing", {"X-Request-Id: trace-abc.123"});
  BOOST_TEST(kept.header("x-request-id") == "trace-abc.123");
  BOOST_TEST(kept.json().at("request_id").as_string() == "trace-abc.123");
  auto replaced = server.get("/v2/nothing", {"X-Request-Id: bad id with spaces"});
  const auto id = replaced.header("x-request-id");
  BOOST_TEST(id.rfind("req_", 0) == 0u);
  BOOST_TEST(id.size() == 36u);
  auto made = server.get("/healthz");
  BOOST_TEST(made.header("x-request-id").rfind("req_", 0) == 0u);
  BOOST_TEST(made.header("x-request-id") != id);
}

BOOST_AUTO_TEST_CASE(malformed_and_oversized_requests_get_clear_errors) {
  test::test_server server;
  auto garbage = server.raw("THIS IS NOT HTTP\r\n\r\n");
  BOOST_TEST(garbage.find("HTTP/1.1 400") == 0u);
  auto huge = server.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  BOOST_TEST(huge.find("HTTP/1.1 431") == 0u);
  // The server is still fine.
  BOOST_TEST(server.get("/healthz").status == 200u);
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection) {
  test::test_server server;
  auto answer = server.raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::size_t count = 0;
  for (auto pos = answer.find("HTTP/1.1 200"); pos != std::string::npos; pos = answer.find("HTTP/1.1 200", pos + 1))
    ++count;
  BOOST_TEST(count == 3u);
}

// One worker thread. A listing request is stuck behind a table lock in the
// database; meanwhile other requests on the same thread (one of them also going
// to the database) complete. Then the lock goes and the stuck request finishes.
BOOST_AUTO_TEST_CASE(a_request_waiting_on_the_database_does_not_block_others) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  test::test_server server(1);

  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE connections IN ACCESS EXCLUSIVE MODE");
  auto stuck = std::async(std::launch::async, [&] {
    return server.get("/v1/delivery-attempts", {test::api_key_header(tenant.api_key)});
  });
  BOOST_TEST((stuck.wait_for(300ms) == std::future_status::timeout));
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(server.get("/healthz").status == 200u);
  BOOST_TEST(server.get("/readyz").status == 200u);  // needs the database too
  BOOST_TEST((std::chrono::steady_clock::now() - started < 1s));
  auto metrics = server.get("/metrics");
  BOOST_TEST(metrics.body.find("hookstream_http_requests_in_flight 2") != std::string::npos);  // stuck + this one
  BOOST_TEST((stuck.wait_for(0ms) == std::future_status::timeout));
  locker.exec("COMMIT");
  auto r = stuck.get();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.json().at("pagination").at("total").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(stopping_drains_a_request_in_flight) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, {{}});
  auto server = std::make_unique<test::test_server>(1);
  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE connections IN ACCESS EXCLUSIVE MODE");
  // The client thread gets the port and its connection here: it must not read
  // `server` while this thread destroys it (nothing orders the two but time).
  test::http_client client(server->port());
  auto in_flight = std::async(std::launch::async, [&] {
    auto answer = client.get("/v1/delivery-attempts", {test::api_key_header(tenant.api_key)});
    test::record_answer("/v1/delivery-attempts", answer);
    return answer;
  });
  std::this_thread::sleep_for(300ms);
  // Unlock shortly after shutdown began: the request must still get its answer.
  auto unlocker = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(300ms);
    locker.exec("COMMIT");
  });
  server.reset();  // stop + wait
  unlocker.get();
  auto r = in_flight.get();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.header("connection") == "close");
}

BOOST_AUTO_TEST_CASE(large_answers_are_gzipped_for_clients_that_accept_it) {
  test::sql_session db;
  auto tenant = test::make_tenant(db);
  test::insert_attempts(db, tenant, std::vector<test::attempt_spec>(20));
  test::test_server server;
  const auto key = test::api_key_header(tenant.api_key);
  auto plain = server.get("/v1/delivery-attempts?limit=20", {key});
  auto packed = server.get("/v1/delivery-attempts?limit=20", {key, "Accept-Encoding: gzip, br"});
  BOOST_TEST(plain.header("content-encoding").empty());
  BOOST_TEST(packed.header("content-encoding") == "gzip");
  BOOST_TEST(packed.header("vary").find("Accept-Encoding") != std::string::npos);
  BOOST_TEST(packed.body.size() < plain.body.size() / 3);
  // Same document once unpacked (gzip magic bytes, then zlib inflates it).
  BOOST_REQUIRE(packed.body.size() > 2);
  BOOST_TEST(static_cast<unsigned char>(packed.body[0]) == 0x1f);
  BOOST_TEST(static_cast<unsigned char>(packed.body[1]) == 0x8b);
  z_stream zs{};
  BOOST_REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(plain.body.size() + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(packed.body.data());
  zs.avail_in = static_cast<uInt>(packed.body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  BOOST_TEST(inflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  BOOST_TEST(out == plain.body);
  // Small answers stay as they are.
  BOOST_TEST(server.get("/healthz", {"Accept-Encoding: gzip"}).header("content-encoding").empty());
}

BOOST_AUTO_TEST_SUITE_END()
