// API-key authentication and the tenant boundary.
#include <hookstream/encoding/hex.hpp>
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/auth/api_key.hpp>

#include <boost/test/unit_test.hpp>

using namespace hookstream;

namespace {
struct auth_fixture {
  test::sql_session db;
  test::test_tenant tenant = test::make_tenant(db);
  test::test_server server{1};
  auth_fixture() { test::insert_attempts(db, tenant, {{}, {}, {}}); }
};

void check_unauthorized(const test::http_result& r) {
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(r.header("www-authenticate").find("Bearer") != std::string::npos);
  auto body = r.json().as_object();
  BOOST_TEST(body.at("status").as_int64() == 401);
  BOOST_TEST(std::string(body.at("request_id").as_string()) == r.header("x-request-id"));
  BOOST_TEST(r.body.find("delivery_attempts") == std::string::npos);
}
}  // namespace

BOOST_FIXTURE_TEST_SUITE(authentication, auth_fixture)

BOOST_AUTO_TEST_CASE(x_api_key_and_bearer_both_work) {
  for (const auto& header : {"X-API-Key: " + tenant.api_key, "Authorization: Bearer " + tenant.api_key,
                             "Authorization: bearer " + tenant.api_key}) {
    BOOST_TEST_CONTEXT(header) {
      auto r = server.get("/v1/delivery-attempts", {header});
      BOOST_TEST(r.status == 200u);
      BOOST_TEST(r.json().at("pagination").at("total").as_int64() == 3);
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_malformed_unknown_and_revoked_keys_are_401) {
  check_unauthorized(server.get("/v1/delivery-attempts"));
  check_unauthorized(server.get("/v1/delivery-attempts/da_x"));
  const std::string unknown = auth::generate_api_key(true);
  const std::vector<std::string> bad{
      "X-API-Key: not-a-key",
      "X-API-Key: " + tenant.api_key.substr(0, tenant.api_key.size() - 1),
      "X-API-Key: " + unknown,
      "Authorization: Bearer " + unknown,
      "Authorization: Basic dXNlcjpwYXNz",
      "Authorization: " + tenant.api_key,  // a valid key, but not as a Bearer token
      "X-API-Key: hs_live_" + std::string(64, 'G'),
  };
  std::string first_message;
  for (const auto& h : bad) {
    BOOST_TEST_CONTEXT(h) {
      auto r = server.get("/v1/delivery-attempts", {h});
      check_unauthorized(r);
      // Malformed and unknown keys are told apart by nothing.
      if (first_message.empty()) first_message = r.json().at("error").as_string();
      else BOOST_TEST(std::string(r.json().at("error").as_string()) == first_message);
    }
  }
  db.exec("UPDATE api_keys SET revoked_at = now() WHERE org_id = " + test::quote(tenant.org_id));
  auto revoked = server.get("/v1/delivery-attempts", {test::api_key_header(tenant.api_key)});
  check_unauthorized(revoked);
  BOOST_TEST(std::string(revoked.json().at("error").as_string()) == first_message);
}

BOOST_AUTO_TEST_CASE(only_the_hash_of_a_key_is_stored) {
  auto stored = db.column("SELECT encode(key_hash, 'hex') FROM api_keys WHERE org_id = " + test::quote(tenant.org_id));
  BOOST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored[0] == encoding::to_hex(auth::sha256(tenant.api_key)));
  BOOST_TEST(*db.scalar("SELECT count(*) FROM api_keys WHERE key_prefix = " + test::quote(tenant.api_key)) == "0");
}

BOOST_AUTO_TEST_CASE(a_key_never_reaches_another_tenant) {
  // Another org, and another environment of the same org.
  auto other_org = test::make_tenant(db);
  auto other_env = test::make_tenant(db, tenant.org_id);
  const auto foreign_org_ids = test::insert_attempts(db, other_org, {{.event_id = "evt_shared"}, {}});
  const auto foreign_env_ids =
      test::insert_attempts(db, other_env, {{.event_id = "evt_shared", .connection_id = tenant.connection_ids[0]}});
  const auto own = test::insert_attempts(db, tenant, {{.event_id = "evt_shared"}});

  auto mine = server.get("/v1/delivery-attempts?limit=100", {test::api_key_header(tenant.api_key)});
  BOOST_REQUIRE(mine.status == 200u);
  BOOST_TEST(mine.json().at("pagination").at("total").as_int64() == 4);
  const auto mine_doc = mine.json();
  for (auto& a : mine_doc.at("delivery_attempts").as_array()) {
    BOOST_TEST(a.at("org_id").as_string() == tenant.org_id);
    BOOST_TEST(a.at("env_id").as_string() == tenant.env_id);
  }
  // Filters naming another tenant's values find only our own rows.
  auto shared = server.get("/v1/delivery-attempts?event_id=evt_shared", {test::api_key_header(tenant.api_key)});
  BOOST_TEST(shared.json().at("pagination").at("total").as_int64() == 1);
  BOOST_TEST(shared.json().at("delivery_attempts").at(0).at("id").as_string() == own[0]);
  auto foreign_conn = server.get("/v1/delivery-attempts?connection_id=" + other_org.connection_ids[0],
                                 {test::api_key_header(tenant.api_key)});
  BOOST_TEST(foreign_conn.json().at("pagination").at("total").as_int64() == 0);
  // Single look-ups of foreign ids are 404s, shaped exactly like a missing id's.
  for (const auto& id : {foreign_org_ids[0], foreign_env_ids[0], std::string("da_") + test::random_hex(32)}) {
    auto r = server.get("/v1/delivery-attempts/" + id, {test::api_key_header(tenant.api_key)});
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(std::string(r.json().at("error").as_string()) == "no such delivery attempt");
  }
  // And the other tenants see their own.
  auto theirs = server.get("/v1/delivery-attempts", {test::api_key_header(other_env.api_key)});
  BOOST_TEST(theirs.json().at("pagination").at("total").as_int64() == 1);
  BOOST_TEST(theirs.json().at("delivery_attempts").at(0).at("id").as_string() == foreign_env_ids[0]);
}

BOOST_AUTO_TEST_SUITE_END()
