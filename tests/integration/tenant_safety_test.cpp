// Production hardening of the tenant boundary: the credential cache (revocation
// within its TTL, failures cached, hot keys need no look-up), per-org rate limits,
// CORS for the dashboard, and answers that reveal nothing.
#include <hookstream/encoding/hex.hpp>
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/auth/api_key.hpp>

#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {
struct safety_fixture {
  test::sql_session db;
  test::test_tenant tenant = test::make_tenant(db);
  safety_fixture() { test::insert_attempts(db, tenant, {{}, {}}); }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(tenant_safety, safety_fixture)

BOOST_AUTO_TEST_CASE(a_revoked_key_stops_working_within_the_cache_ttl) {
  test::test_server server(1, [](server::server_config& c) { c.handler.auth.cache_ttl = 400ms; });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);
  db.exec("UPDATE api_keys SET revoked_at = now() WHERE org_id = " + test::quote(tenant.org_id));
  // Within the TTL the cached outcome may still answer; past it, never.
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(server.get("/v1/delivery-attempts", key).status == 401u);
}

BOOST_AUTO_TEST_CASE(a_hot_key_needs_no_database_look_up) {
  test::test_server server(1, [](server::server_config& c) { c.handler.auth.cache_ttl = 60s; });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  BOOST_REQUIRE(server.get("/v1/delivery-attempts", key).status == 200u);
  // With api_keys locked, only a request that skips the key look-up can finish.
  test::sql_session locker;
  locker.exec("BEGIN; LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE");
  auto cached = std::async(std::launch::async, [&] { return server.get("/v1/delivery-attempts", key); });
  BOOST_TEST((cached.wait_for(3s) == std::future_status::ready));
  locker.exec("COMMIT");
  BOOST_TEST(cached.get().status == 200u);
}

BOOST_AUTO_TEST_CASE(failed_look_ups_are_cached_briefly) {
  test::test_server server(1, [](server::server_config& c) { c.handler.auth.failure_ttl = 400ms; });
  const std::string key = auth::generate_api_key(true);
  BOOST_TEST(server.get("/v1/delivery-attempts", {test::api_key_header(key)}).status == 401u);
  // The key becomes valid now; the cached failure still answers for a moment...
  db.exec("INSERT INTO api_keys (id, org_id, env_id, key_hash, key_prefix) VALUES ('key_" + test::random_hex(12) +
          "', " + test::quote(tenant.org_id) + ", " + test::quote(tenant.env_id) + ", '\\x" +
          encoding::to_hex(auth::sha256(key)) + "', 'hs_live_')");
  BOOST_TEST(server.get("/v1/delivery-attempts", {test::api_key_header(key)}).status == 401u);
  // ...and expires.
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(server.get("/v1/delivery-attempts", {test::api_key_header(key)}).status == 200u);
}

BOOST_AUTO_TEST_CASE(rate_limit_per_org_with_headers_and_429) {
  test::test_server server(2, [](server::server_config& c) {
    c.handler.rate_limit.limit = 3;
    c.handler.rate_limit.window = 60s;
  });
  const std::vector<std::string> key{test::api_key_header(tenant.api_key)};
  for (int i = 0; i < 3; ++i) {
    auto r = server.get("/v1/delivery-attempts", key);
    BOOST_TEST(r.status == 200u);  // every authenticated answer counts and says so
    BOOST_TEST(r.header("ratelimit-limit") == "3");
    BOOST_TEST(r.header("ratelimit-remaining") == std::to_string(2 - i));
    BOOST_TEST(!r.header("ratelimit-reset").empty());
    // A malformed request is refused before authentication: it costs no token.
    auto bad = server.get("/v1/delivery-attempts?limit=0", key);
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(bad.header("ratelimit-remaining").empty());
  }
  auto limited = server.get("/v1/delivery-attempts", key);
  BOOST_TEST(limited.status == 429u);
  BOOST_TEST(limited.json().at("status").as_int64() == 429);
  BOOST_TEST(std::stoi(limited.header("retry-after")) >= 1);
  BOOST_TEST(limited.header("ratelimit-remaining") == "0");
  BOOST_TEST(limited.body.find("delivery_attempts") == std::string::npos);
  // Another org has its own bucket; unauthenticated answers are not counted.
  auto other = test::make_tenant(db);
  BOOST_TEST(server.get("/v1/delivery-attempts", {test::api_key_header(other.api_key)}).status == 200u);
  BOOST_TEST(server.get("/v1/delivery-attempts").header("ratelimit-limit").empty());
}

BOOST_AUTO_TEST_CASE(cors_preflight_needs_no_database_and_only_allows_configured_origins) {
  // The database is unreachable: a preflight must not care.
  test::test_server server(1, [](server::server_config& c) {
    c.pool.conninfo = "postgresql://postgres@127.0.0.1:1/none";
    c.handler.cors_origins = {"https://dashboard.example.com"};
  });
  auto ok = server.raw("OPTIONS /v1/delivery-attempts?limit=5 HTTP/1.1\r\nHost: x\r\n"
                       "Origin: https://dashboard.example.com\r\nAccess-Control-Request-Method: GET\r\n"
                       "Access-Control-Request-Headers: x-env-id\r\nConnection: close\r\n\r\n");
  BOOST_TEST(ok.find("HTTP/1.1 204") == 0u);
  BOOST_TEST(ok.find("Access-Control-Allow-Origin: https://dashboard.example.com") != std::string::npos);
  BOOST_TEST(ok.find("Access-Control-Allow-Credentials: true") != std::string::npos);
  BOOST_TEST(ok.find("Access-Control-Allow-Headers: Authorization, X-API-Key, X-Env-Id") != std::string::npos);
  auto evil = server.raw("OPTIONS /v1/delivery-attempts HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
                         "Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n");
  BOOST_TEST(evil.find("HTTP/1.1 204") == 0u);
  BOOST_TEST(evil.find("Access-Control-Allow-Origin") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(cors_on_real_answers_and_none_by_default) {
  test::test_server with_cors(1, [](server::server_config& c) { c.handler.cors_origins = {"https://dash.example"}; });
  auto r = with_cors.get("/v1/delivery-attempts", {test::api_key_header(tenant.api_key), "Origin: https://dash.example"});
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.header("access-control-allow-origin") == "https://dash.example");
  BOOST_TEST(r.header("access-control-expose-headers").find("RateLimit-Remaining") != std::string::npos);
  auto unauth = with_cors.get("/v1/delivery-attempts", {"Origin: https://dash.example"});
  BOOST_TEST(unauth.status == 401u);  // browsers can read the error too
  BOOST_TEST(unauth.header("access-control-allow-origin") == "https://dash.example");
  test::test_server without;
  auto plain = without.get("/v1/delivery-attempts", {test::api_key_header(tenant.api_key), "Origin: https://dash.example"});
  BOOST_TEST(plain.header("access-control-allow-origin").empty());
}

BOOST_AUTO_TEST_CASE(wrong_and_unknown_keys_answer_alike) {
  test::test_server server;
  std::string wrong = tenant.api_key;  // one digit off: a key of the right shape, not ours
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto a = server.get("/v1/delivery-attempts", {test::api_key_header(wrong)});
  auto b = server.get("/v1/delivery-attempts", {test::api_key_header(auth::generate_api_key(false))});
  BOOST_TEST(a.status == b.status);
  BOOST_TEST(a.header("www-authenticate") == b.header("www-authenticate"));
  BOOST_TEST(std::string(a.json().at("error").as_string()) == std::string(b.json().at("error").as_string()));
  BOOST_TEST(a.body.size() == b.body.size());
}

BOOST_AUTO_TEST_SUITE_END()
