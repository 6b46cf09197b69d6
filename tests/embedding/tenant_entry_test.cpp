// api_handler::handle_for_tenant, for gateways that authenticate callers
// themselves: everything `handle` does for that tenant (validation, rate limits,
// errors, JSON, cursors, the tenant boundary) except the credential step.
#include "embedding/embedding_support.hpp"
#include "support/test_server.hpp"

#include <hookstream/server/metrics.hpp>
#include <hookstream/server/rate_limiter.hpp>

#include <boost/test/unit_test.hpp>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
struct tenant_fixture {
  test::sql_session db;
  test::test_tenant a = test::make_tenant(db);
  test::test_tenant b = test::make_tenant(db);
  std::vector<std::string> a_ids, b_ids;
  test::threaded_io threads{2};
  storage::connection_pool pool{threads.io().get_executor(), test::pool_settings(2)};
  std::unique_ptr<server::api_handler> api;

  explicit tenant_fixture(server::handler_config config = test::handler_settings()) {
    std::vector<test::attempt_spec> rows(7);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i].status = i % 2 ? "failed" : "success";
      rows[i].created_at = "2026-11-28 08:39:5" + std::to_string(i) + ".000+00";
    }
    a_ids = test::insert_attempts(db, a, rows);
    b_ids = test::insert_attempts(db, b, {{}, {}});
    api = std::make_unique<server::api_handler>(pool, std::move(config));
  }

  server::http_response by_key(const std::string& target, const test::test_tenant& t,
                               std::vector<std::string> headers = {}) {
    headers.push_back(test::api_key_header(t.api_key));
    const auto req = test::get_request(target, headers);
    return threads.run([&]() -> asio::awaitable<server::http_response> { co_return co_await api->handle(req); });
  }
  server::http_response by_tenant(const std::string& target, const storage::tenant_id& tenant,
                                  const std::vector<std::string>& headers = {}) {
    const auto req = test::get_request(target, headers);
    return threads.run(
        [&]() -> asio::awaitable<server::http_response> { co_return co_await api->handle_for_tenant(req, tenant); });
  }
};

server::handler_config limited_to(std::uint32_t per_minute) {
  auto c = test::handler_settings();
  c.org_limiter = std::make_shared<server::rate_limiter>(
      server::rate_limit_config{.limit = per_minute, .window = std::chrono::seconds(60)});
  return c;
}
}  // namespace

BOOST_FIXTURE_TEST_SUITE(tenant_entry, tenant_fixture)

// Same request id, same tenant: the same status and the same bytes, whether
// hookstream checked the key or the gateway named the tenant. Cursors too.
BOOST_AUTO_TEST_CASE(answers_exactly_as_handle_does_for_the_same_tenant) {
  const auto first = by_key("/v1/delivery-attempts?limit=3", a);
  BOOST_REQUIRE(first.result_int() == 200u);
  const std::string next(test::json_of(first).at("pagination").at("next_cursor").as_string());
  const std::vector<std::string> targets{
      "/v1/delivery-attempts",
      "/v1/delivery-attempts?limit=3",
      "/v1/delivery-attempts?status=failed&limit=2",
      "/v1/delivery-attempts?limit=3&cursor=" + next,
      "/v1/delivery-attempts?offset=5",
      "/v1/delivery-attempts/" + a_ids[2],
      "/v1/delivery-attempts/da_does_not_exist",
      "/v1/delivery-attempts/" + b_ids[0],  // another tenant's: 404 like a missing one
      "/v1/delivery-attempts?limit=0",
      "/v1/delivery-attempts?status=lost",
      "/v1/delivery-attempts?cursor=not-a-cursor",
      "/v1/delivery-attempts?cursor=" + next + "&offset=3",
      "/v1/delivery-attempts?cursor=" + next + "&status=failed",  // made for other filters
      "/v1/nothing-here",
  };
  for (const auto& target : targets) {
    BOOST_TEST_CONTEXT(target) {
      const std::vector<std::string> id{"X-Request-Id: same-request-id"};
      const auto k = by_key(target, a, id);
      const auto g = by_tenant(target, a.id(), id);
      BOOST_TEST(g.result_int() == k.result_int());
      BOOST_TEST(g.body() == k.body());
      BOOST_TEST(g["X-Request-Id"] == "same-request-id");
      BOOST_TEST(g["Content-Type"] == k["Content-Type"]);
      if (g.result_int() >= 400) test::check_error_body(g);
      // Authenticated answers carry the org's RateLimit headers on both paths.
      BOOST_TEST(g["RateLimit-Limit"] == k["RateLimit-Limit"]);
    }
  }
  // The page after `next`, reached from the gateway's side, continues the walk.
  const auto second = by_tenant("/v1/delivery-attempts?limit=3&cursor=" + next, a.id());
  auto walked = test::ids_of(first);
  for (auto& id : test::ids_of(second)) walked.push_back(id);
  const auto whole = by_key("/v1/delivery-attempts?limit=6", a);
  BOOST_TEST(walked == test::ids_of(whole));
}

// Credential headers mean nothing on this path: never a 401, never another
// tenant's rows. The same headers through `handle` are refused.
BOOST_AUTO_TEST_CASE(the_credential_step_is_skipped_and_only_it) {
  const std::vector<std::vector<std::string>> credentials{
      {},
      {"X-API-Key: not-a-key"},
      {test::api_key_header(b.api_key)},  // B's own key: still A's rows
      {"Authorization: Basic dXNlcjpwYXNz"},
      {"Cookie: better-auth.session_token=forged.signature"},
      {"X-Env-Id: " + b.env_id},
  };
  for (const auto& headers : credentials) {
    BOOST_TEST_CONTEXT((headers.empty() ? std::string("no credential") : headers[0])) {
      const auto g = by_tenant("/v1/delivery-attempts", a.id(), headers);
      BOOST_TEST(g.result_int() == 200u);
      const auto body = test::json_of(g);
      BOOST_TEST(body.at("pagination").at("total").as_int64() == 7);
      for (const auto& a_row : body.at("delivery_attempts").as_array())
        BOOST_TEST(std::string(a_row.at("org_id").as_string()) == a.org_id);
    }
  }
  const auto refused = threads.run([&]() -> asio::awaitable<server::http_response> {
    const auto req = test::get_request("/v1/delivery-attempts", {"X-API-Key: not-a-key"});
    co_return co_await api->handle(req);
  });
  BOOST_TEST(refused.result_int() == 401u);
}

BOOST_AUTO_TEST_CASE(validation_comes_first_as_on_the_key_path) {
  // A 400 needs neither a tenant lookup nor a connection: with the pool closed
  // (every database step would be a 503), bad requests are still 400.
  pool.close();
  for (const std::string& target : std::vector<std::string>{"/v1/delivery-attempts?limit=101", "/v1/delivery-attempts?is_dlq=2"}) {
    BOOST_TEST_CONTEXT(target) {
      const auto g = by_tenant(target, a.id());
      BOOST_TEST(g.result_int() == 400u);
      test::check_error_body(g);
    }
  }
  BOOST_TEST(by_tenant("/v1/delivery-attempts", a.id()).result_int() == 503u);
}

BOOST_AUTO_TEST_CASE(a_cursor_is_bound_to_its_tenant) {
  const auto page = by_tenant("/v1/delivery-attempts?limit=2", a.id());
  const std::string next(test::json_of(page).at("pagination").at("next_cursor").as_string());
  const auto foreign = by_tenant("/v1/delivery-attempts?limit=2&cursor=" + next, b.id());
  BOOST_TEST(foreign.result_int() == 400u);
  test::check_error_body(foreign);
  // And B's rows never show through A.
  const auto listing = test::ids_of(by_tenant("/v1/delivery-attempts?limit=100", a.id()));
  for (const auto& id : b_ids) BOOST_TEST((std::find(listing.begin(), listing.end(), id) == listing.end()));
}

BOOST_AUTO_TEST_CASE(an_empty_tenant_is_a_500_not_a_listing) {
  for (const storage::tenant_id& bad : {storage::tenant_id{"", a.env_id}, storage::tenant_id{a.org_id, ""}}) {
    const auto g = by_tenant("/v1/delivery-attempts", bad);
    BOOST_TEST(g.result_int() == 500u);
    test::check_error_body(g);
    BOOST_TEST(g.body().find("delivery_attempts") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(requests_count_in_the_metrics) {
  server::metrics_registry registry;
  auto& metrics = registry.add_worker();
  api = std::make_unique<server::api_handler>(pool, test::handler_settings(), &metrics, &registry);
  for (int i = 0; i < 3; ++i) BOOST_TEST(by_tenant("/v1/delivery-attempts", a.id()).result_int() == 200u);
  BOOST_TEST(by_tenant("/v1/delivery-attempts?limit=0", a.id()).result_int() == 400u);
  const std::string text = registry.render_prometheus();
  BOOST_TEST(text.find("hookstream_http_requests_total{class=\"2xx\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("hookstream_http_requests_total{class=\"4xx\"} 1\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tenant_entry_limits)

// The org's rate limit is one bucket, whichever way the org's requests come in.
BOOST_AUTO_TEST_CASE(the_rate_limit_is_the_orgs_on_both_paths) {
  tenant_fixture f(limited_to(3));
  std::vector<std::string> remaining;
  remaining.emplace_back(f.by_tenant("/v1/delivery-attempts", f.a.id())["RateLimit-Remaining"]);
  remaining.emplace_back(f.by_key("/v1/delivery-attempts", f.a)["RateLimit-Remaining"]);
  remaining.emplace_back(f.by_tenant("/v1/delivery-attempts", f.a.id())["RateLimit-Remaining"]);
  BOOST_TEST(remaining == (std::vector<std::string>{"2", "1", "0"}), boost::test_tools::per_element());
  for (const bool through_gateway : {true, false}) {
    const auto refused = through_gateway ? f.by_tenant("/v1/delivery-attempts", f.a.id())
                                         : f.by_key("/v1/delivery-attempts", f.a);
    BOOST_TEST(refused.result_int() == 429u);
    BOOST_TEST(!std::string(refused["Retry-After"]).empty());
    BOOST_TEST(refused["RateLimit-Limit"] == "3");
    BOOST_TEST(refused["RateLimit-Remaining"] == "0");
    test::check_error_body(refused);
  }
  BOOST_TEST(f.by_tenant("/v1/delivery-attempts", f.b.id()).result_int() == 200u);  // another org's bucket
}

BOOST_AUTO_TEST_SUITE_END()
