// better-auth interoperability: sessions created by the real better-auth npm
// package (its adapter writing our database, its code signing the cookie)
// authenticate against hookstream; and every way a session can be refused.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/auth/session_cookie.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdio>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {

const std::string secret = "interop-test-secret-0123456789abcdef0123";

struct better_auth_session {
  std::string cookie;  // "better-auth.session_token=<value>"
  std::string token, user_id, org_id;
};

// Runs tests/better_auth/make_session.mjs with Node.js (installed by scripts/test).
better_auth_session create_session_with_better_auth() {
  const std::string command = "cd '" HOOKSTREAM_SOURCE_DIR "/tests/better_auth' && DATABASE_URL='" +
                              test::database_url() + "' BETTER_AUTH_SECRET='" + secret +
                              "' node make_session.mjs 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe);
  std::string output;
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe)) output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  BOOST_REQUIRE_MESSAGE(status == 0, "better-auth helper failed (is Node.js 20 installed and `npm ci` run in "
                                     "tests/better_auth?):\n" << output);
  const auto doc = boost::json::parse(output.substr(output.rfind("\n{") == std::string::npos ? 0 : output.rfind("\n{") + 1));
  // Our migrations already created every table and column better-auth wants.
  BOOST_TEST(doc.at("tablesCreated").as_array().empty());
  BOOST_TEST(doc.at("columnsAdded").as_array().empty());
  return {std::string(doc.at("cookie").as_string()), std::string(doc.at("token").as_string()),
          std::string(doc.at("userId").as_string()), std::string(doc.at("organizationId").as_string())};
}

struct session_fixture {
  test::sql_session db;
  better_auth_session session = create_session_with_better_auth();
  std::string default_env = "env_" + test::random_hex(16);
  std::string second_env = "env_" + test::random_hex(16);
  test::test_tenant other = test::make_tenant(db);  // another org, with its own env
  std::unique_ptr<test::test_server> server;

  session_fixture() {
    db.exec("INSERT INTO environments (id, org_id, name, is_default) VALUES (" + test::quote(default_env) + ", " +
            test::quote(session.org_id) + ", 'production', true), (" + test::quote(second_env) + ", " +
            test::quote(session.org_id) + ", 'staging', false)");
    test::test_tenant in_default{session.org_id, default_env, "", {"conn_a", "conn_b"}, {"dst_a", "dst_b"}};
    test::test_tenant in_second{session.org_id, second_env, "", {"conn_a", "conn_b"}, {"dst_a", "dst_b"}};
    test::insert_attempts(db, in_default, {{.event_id = "evt_default"}, {.event_id = "evt_default"}});
    test::insert_attempts(db, in_second, {{.event_id = "evt_second"}});
    test::insert_attempts(db, other, {{.event_id = "evt_other"}});
    server = std::make_unique<test::test_server>(1, [](server::server_config& c) {
      c.handler.auth.session_secrets = {secret};
      c.handler.auth.cache_ttl = 0ms;  // every request sees the database's current state
      c.handler.auth.failure_ttl = 0ms;
    });
  }
  test::http_result get(const std::vector<std::string>& headers) { return server->get("/v1/delivery-attempts", headers); }
  std::string cookie_value() const { return session.cookie.substr(session.cookie.find('=') + 1); }
};

void check_401(const test::http_result& r, const std::string& message_part) {
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(!r.header("www-authenticate").empty());
  BOOST_TEST(std::string(r.json().at("error").as_string()).find(message_part) != std::string::npos,
             r.json().at("error").as_string());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(session_auth, session_fixture)

BOOST_AUTO_TEST_CASE(a_real_better_auth_session_reaches_its_default_environment) {
  auto r = get({"Cookie: theme=dark; " + session.cookie + "; other=1"});
  BOOST_REQUIRE_MESSAGE(r.status == 200u, r.body);
  const auto doc = r.json();
  BOOST_TEST(doc.at("pagination").at("total").as_int64() == 2);
  for (auto& a : doc.at("delivery_attempts").as_array()) {
    BOOST_TEST(a.at("org_id").as_string() == session.org_id);
    BOOST_TEST(a.at("env_id").as_string() == default_env);
  }
  // The __Secure- name (HTTPS deployments) works the same.
  BOOST_TEST(get({"Cookie: __Secure-better-auth.session_token=" + cookie_value()}).status == 200u);
}

BOOST_AUTO_TEST_CASE(x_env_id_picks_an_environment_of_the_same_org_only) {
  auto second = get({"Cookie: " + session.cookie, "X-Env-Id: " + second_env});
  BOOST_REQUIRE(second.status == 200u);
  BOOST_TEST(second.json().at("delivery_attempts").at(0).at("event_id").as_string() == "evt_second");
  // Another org's environment: the identity is fine, the environment is not theirs.
  auto foreign = get({"Cookie: " + session.cookie, "X-Env-Id: " + other.env_id});
  BOOST_TEST(foreign.status == 403u);
  BOOST_TEST(foreign.body.find("evt_other") == std::string::npos);
  BOOST_TEST(get({"Cookie: " + session.cookie, "X-Env-Id: env_does_not_exist"}).status == 403u);
  BOOST_TEST(get({"Cookie: " + session.cookie, "X-Env-Id: ' OR 1=1 --"}).status == 403u);
}

BOOST_AUTO_TEST_CASE(tampered_foreign_and_malformed_cookies_are_401) {
  std::string tampered = cookie_value();
  tampered[3] = tampered[3] == 'a' ? 'b' : 'a';  // inside the token: the signature no longer matches
  check_401(get({"Cookie: better-auth.session_token=" + tampered}), "invalid or expired session");
  // Correctly signed, but with another secret.
  check_401(get({"Cookie: better-auth.session_token=" + auth::sign_session_cookie(session.token,
                                                                                    "some-other-secret-0123456789abcdef0")}),
            "invalid or expired session");
  // Signed with our secret, but no such session.
  check_401(get({"Cookie: better-auth.session_token=" + auth::sign_session_cookie("no-such-token", secret)}),
            "invalid or expired session");
  check_401(get({"Cookie: better-auth.session_token=garbage"}), "invalid or expired session");
  check_401(get({"Cookie: better-auth.session_token=%ZZ"}), "invalid or expired session");
  check_401(get({"Cookie: unrelated=1"}), "missing credentials");
}

BOOST_AUTO_TEST_CASE(expired_sessions_orgless_sessions_and_non_members_are_401) {
  BOOST_REQUIRE(get({"Cookie: " + session.cookie}).status == 200u);
  db.exec("DELETE FROM \"member\" WHERE \"userId\" = " + test::quote(session.user_id));
  check_401(get({"Cookie: " + session.cookie}), "not a member");
  db.exec("UPDATE \"session\" SET \"activeOrganizationId\" = NULL WHERE token = " + test::quote(session.token));
  check_401(get({"Cookie: " + session.cookie}), "no active organization");
  db.exec("UPDATE \"session\" SET \"expiresAt\" = now() - interval '1 second' WHERE token = " +
          test::quote(session.token));
  check_401(get({"Cookie: " + session.cookie}), "invalid or expired session");
}

// A session that never expires ('infinity') is cached like any other: for the
// cache's TTL, not "forever" and not "never" (its expiry once overflowed).
BOOST_AUTO_TEST_CASE(a_session_that_never_expires_is_cached_for_the_ttl) {
  db.exec("UPDATE \"session\" SET \"expiresAt\" = 'infinity' WHERE token = " + test::quote(session.token));
  test::test_server cached(1, [](server::server_config& c) {
    c.handler.auth.session_secrets = {secret};
    c.handler.auth.cache_ttl = 400ms;
  });
  BOOST_REQUIRE(cached.get("/v1/delivery-attempts", {"Cookie: " + session.cookie}).status == 200u);
  db.exec("DELETE FROM \"session\" WHERE token = " + test::quote(session.token));
  // Still trusted within the TTL (the cache answered)...
  BOOST_TEST(cached.get("/v1/delivery-attempts", {"Cookie: " + session.cookie}).status == 200u);
  std::this_thread::sleep_for(500ms);
  // ...and refused once it passed.
  BOOST_TEST(cached.get("/v1/delivery-attempts", {"Cookie: " + session.cookie}).status == 401u);
}

BOOST_AUTO_TEST_CASE(an_api_key_wins_over_a_cookie) {
  auto r = get({"Cookie: " + session.cookie, "X-API-Key: " + other.api_key});
  BOOST_REQUIRE(r.status == 200u);
  BOOST_TEST(r.json().at("delivery_attempts").at(0).at("event_id").as_string() == "evt_other");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(cookies_are_ignored_when_cookie_auth_is_off) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  test::test_server server;  // no session secrets configured
  auto r = server.get("/v1/delivery-attempts", {"Cookie: better-auth.session_token=" +
                                                 auth::sign_session_cookie("whatever", secret)});
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(std::string(r.json().at("error").as_string()).find("missing credentials") != std::string::npos);
}
