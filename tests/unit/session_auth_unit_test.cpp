// Pieces of issue "dashboard sessions and tenant safety" that need no database:
// cookie signatures, the credential cache, the token buckets, secret rules.
#include <hookstream/auth/credential_cache.hpp>
#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/server/config.hpp>
#include <hookstream/server/rate_limiter.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {
const std::string secret = "unit-test-secret-0123456789abcdef0123";
// printf 'abc123token' | openssl dgst -sha256 -hmac "$secret" -binary | base64
const std::string expected_signature = "YehL++6oi7qKcGtWb6MWeSOo9Df3x96Z2+Tg6LzZkuw=";
}  // namespace

BOOST_AUTO_TEST_SUITE(session_cookie)

BOOST_AUTO_TEST_CASE(signs_like_better_auth) {
  // encodeURIComponent("<token>.<base64 signature>")
  BOOST_TEST(auth::sign_session_cookie("abc123token", secret) ==
             "abc123token.YehL%2B%2B6oi7qKcGtWb6MWeSOo9Df3x96Z2%2BTg6LzZkuw%3D");
}

BOOST_AUTO_TEST_CASE(verifies_encoded_and_raw_values) {
  BOOST_TEST(*auth::verify_session_cookie(auth::sign_session_cookie("abc123token", secret), {secret}) == "abc123token");
  BOOST_TEST(*auth::verify_session_cookie("abc123token." + expected_signature, {secret}) == "abc123token");
  // Rotation: any configured secret verifies.
  BOOST_TEST(*auth::verify_session_cookie(auth::sign_session_cookie("t", secret),
                                          {"newer-secret-0123456789abcdef012345", secret}) == "t");
}

BOOST_AUTO_TEST_CASE(rejects_everything_else) {
  const std::string good = auth::sign_session_cookie("abc123token", secret);
  BOOST_TEST(!auth::verify_session_cookie(good, {"another-secret-0123456789abcdef01234"}));
  BOOST_TEST(!auth::verify_session_cookie(good, {}));
  BOOST_TEST(!auth::verify_session_cookie("abc123tokeN." + expected_signature, {secret}));
  BOOST_TEST(!auth::verify_session_cookie("abc123token", {secret}));
  BOOST_TEST(!auth::verify_session_cookie("abc123token." + expected_signature.substr(1), {secret}));
  BOOST_TEST(!auth::verify_session_cookie("." + expected_signature, {secret}));
  BOOST_TEST(!auth::verify_session_cookie("abc123token.%ZZ", {secret}));
  BOOST_TEST(!auth::verify_session_cookie(std::string(5000, 'a'), {secret}));
}

BOOST_AUTO_TEST_CASE(finds_the_cookie_by_either_name) {
  BOOST_TEST(*auth::find_session_cookie("a=1; better-auth.session_token=xyz; b=2") == "xyz");
  BOOST_TEST(*auth::find_session_cookie("__Secure-better-auth.session_token=sec") == "sec");
}

// A plain cookie may have been planted (a sibling subdomain, plain HTTP); only
// the site itself, over HTTPS, can set a __Secure- one: it wins in any order.
BOOST_AUTO_TEST_CASE(the_secure_cookie_wins_over_the_plain_one) {
  BOOST_TEST(*auth::find_session_cookie("__Secure-better-auth.session_token=sec; better-auth.session_token=plain") ==
             "sec");
  BOOST_TEST(*auth::find_session_cookie("better-auth.session_token=plain; __Secure-better-auth.session_token=sec") ==
             "sec");
  BOOST_TEST(*auth::find_session_cookie("better-auth.session_token=first; better-auth.session_token=second") ==
             "first");
}

BOOST_AUTO_TEST_CASE(cookie_parsing_edge_cases) {
  BOOST_TEST(*auth::find_session_cookie("better-auth.session_token=\"quoted\"") == "quoted");
  BOOST_TEST(!auth::find_session_cookie("xbetter-auth.session_token=1; better-auth.session_tokenx=2"));
  BOOST_TEST(!auth::find_session_cookie(""));
}

BOOST_AUTO_TEST_CASE(secret_rules) {
  BOOST_TEST(!auth::check_session_secret(auth::better_auth_default_secret).empty());
  BOOST_TEST(!auth::check_session_secret("short").empty());
  BOOST_TEST(auth::check_session_secret(secret).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(credential_cache)

using clock_t_ = auth::credential_cache::clock;

BOOST_AUTO_TEST_CASE(hits_until_the_ttl_then_misses) {
  auth::credential_cache cache(10, 5000ms, 1000ms);
  const auto t0 = clock_t_::now();
  cache.store("k", storage::tenant_id{"org", "env"}, t0);
  BOOST_TEST(cache.find("k", t0 + 4999ms).has_value());
  BOOST_TEST(!cache.find("k", t0 + 5000ms).has_value());
  BOOST_TEST(cache.hits() == 1u);
  BOOST_TEST(cache.misses() == 1u);
}

BOOST_AUTO_TEST_CASE(failures_live_shorter_and_sessions_not_past_their_expiry) {
  auth::credential_cache cache(10, 5000ms, 1000ms);
  const auto t0 = clock_t_::now();
  cache.store("bad", auth::auth_failure::invalid_api_key, t0);
  BOOST_TEST(cache.find("bad", t0 + 999ms).has_value());
  BOOST_TEST(!cache.find("bad", t0 + 1001ms).has_value());
  cache.store("session", storage::tenant_id{"o", "e"}, t0, t0 + 200ms);
  BOOST_TEST(!cache.find("session", t0 + 201ms).has_value());
}

BOOST_AUTO_TEST_CASE(bounded_size_evicts_the_oldest) {
  auth::credential_cache cache(3, 5000ms, 1000ms);
  const auto t0 = clock_t_::now();
  for (int i = 0; i < 10; ++i) cache.store(std::string("k").append(std::to_string(i)), storage::tenant_id{"o", "e"}, t0 + i * 1ms);
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(!cache.find("k0", t0 + 20ms).has_value());
  BOOST_TEST(cache.find("k9", t0 + 20ms).has_value());
  // Storing the same key again does not grow it.
  for (int i = 0; i < 10; ++i) cache.store("k9", storage::tenant_id{"o", "e"}, t0 + 30ms + i * 1ms);
  BOOST_TEST(cache.size() <= 3u);
  BOOST_TEST(cache.find("k9", t0 + 50ms).has_value());
}

BOOST_AUTO_TEST_CASE(zero_ttl_disables_caching) {
  auth::credential_cache cache(10, 0ms, 0ms);
  const auto t0 = clock_t_::now();
  cache.store("k", storage::tenant_id{"o", "e"}, t0);
  BOOST_TEST(!cache.find("k", t0).has_value());
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(peek_decides_like_take_without_spending) {
  server::rate_limiter limiter({.limit = 2, .window = 10s});
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(limiter.peek("addr", t0).allowed);  // unknown: a full bucket
  for (int i = 0; i < 5; ++i) BOOST_TEST(limiter.peek("addr", t0).allowed);  // peeking spends nothing
  BOOST_TEST(limiter.take("addr", t0).allowed);
  BOOST_TEST(limiter.take("addr", t0).allowed);
  const auto refused = limiter.peek("addr", t0);
  BOOST_TEST(!refused.allowed);
  BOOST_TEST(refused.retry_after_s == 5u);  // one token per 5 s
  BOOST_TEST(limiter.peek("addr", t0 + 5s).allowed);
}

// Attempts let through together all count: spending goes into debt, and the
// next attempt waits until the debt is repaid.
BOOST_AUTO_TEST_CASE(spending_goes_into_debt) {
  server::rate_limiter limiter({.limit = 2, .window = 10s});  // one token per 5 s
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) limiter.spend("addr", t0);  // four failures in flight at once
  BOOST_TEST(!limiter.peek("addr", t0 + 5s).allowed);       // tokens -1 after 5 s
  BOOST_TEST(!limiter.peek("addr", t0 + 9s).allowed);
  BOOST_TEST(!limiter.peek("addr", t0 + 10s).allowed);     // 0 tokens: the debt is repaid, nothing more
  BOOST_TEST(limiter.peek("addr", t0 + 15s).allowed);      // one whole token
  for (int i = 0; i < 100; ++i) limiter.spend("other", t0);
  BOOST_TEST(limiter.peek("other", t0 + 15s).allowed);  // the debt is bounded by the limit (-2 + 3)
}

BOOST_AUTO_TEST_CASE(token_bucket_arithmetic) {
  server::rate_limiter limiter({.limit = 10, .window = 10s});  // one request per second
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    auto d = limiter.take("org_a", t0);
    BOOST_TEST(d.allowed);
    BOOST_TEST(d.remaining == static_cast<std::uint32_t>(9 - i));
    BOOST_TEST(d.limit == 10u);
  }
  auto refused = limiter.take("org_a", t0);
  BOOST_TEST(!refused.allowed);
  BOOST_TEST(refused.retry_after_s == 1u);
  BOOST_TEST(refused.reset_s == 10u);
  BOOST_TEST(limiter.take("org_b", t0).allowed);  // buckets are per org
  BOOST_TEST(!limiter.take("org_a", t0 + 500ms).allowed);
  BOOST_TEST(limiter.take("org_a", t0 + 1001ms).allowed);  // refilled one
  BOOST_TEST(limiter.take("org_a", t0 + 3600s).remaining == 9u);  // capped at the limit
}

BOOST_AUTO_TEST_CASE(zero_means_off_and_memory_is_bounded) {
  server::rate_limiter off({.limit = 0});
  for (int i = 0; i < 1000; ++i) BOOST_TEST(off.take("org").allowed);
  server::rate_limiter small({.limit = 5, .window = 1s, .max_tracked_keys = 64});
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) small.take("org_" + std::to_string(i), t0);
  // Still works (old buckets were dropped, not grown without bound).
  BOOST_TEST(small.take("org_new", t0).allowed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cookie_auth_config)

struct env_guard {
  env_guard() { clear(); }
  ~env_guard() { clear(); }
  static void clear() {
    ::unsetenv("BETTER_AUTH_SECRET");
    ::unsetenv("BETTER_AUTH_SECRETS");
    ::unsetenv("HOOKSTREAM_COOKIE_AUTH");
  }
};

BOOST_FIXTURE_TEST_CASE(refuses_missing_short_and_default_secrets_without_echoing_them, env_guard) {
  auto on_without = server::parse_server_config({"--database-url", "db", "--cookie-auth", "on"});
  BOOST_TEST(!on_without.config.has_value());
  BOOST_TEST(on_without.message.find("BETTER_AUTH_SECRET") != std::string::npos);

  ::setenv("BETTER_AUTH_SECRET", "tooshort-but-secret", 1);
  auto short_secret = server::parse_server_config({"--database-url", "db"});
  BOOST_TEST(!short_secret.config.has_value());
  BOOST_TEST(short_secret.message.find("tooshort-but-secret") == std::string::npos);

  ::setenv("BETTER_AUTH_SECRET", std::string(auth::better_auth_default_secret).c_str(), 1);
  auto default_secret = server::parse_server_config({"--database-url", "db"});
  BOOST_TEST(!default_secret.config.has_value());
  BOOST_TEST(default_secret.message.find(std::string(auth::better_auth_default_secret)) == std::string::npos);

  // Off means off, whatever the environment holds.
  BOOST_TEST(server::parse_server_config({"--database-url", "db", "--cookie-auth", "off"}).config.has_value());
}

BOOST_FIXTURE_TEST_CASE(auto_turns_on_with_a_good_secret_and_reads_rotation_lists, env_guard) {
  auto none = server::parse_server_config({"--database-url", "db"});
  BOOST_REQUIRE(none.config.has_value());
  BOOST_TEST(none.config->handler.auth.session_secrets.empty());

  ::setenv("BETTER_AUTH_SECRETS", "2:newest-secret-0123456789abcdef012345, 1:older-secret-0123456789abcdef0123456", 1);
  ::setenv("BETTER_AUTH_SECRET", "legacy-secret-0123456789abcdef01234567", 1);
  auto rotated = server::parse_server_config({"--database-url", "db"});
  BOOST_REQUIRE(rotated.config.has_value());
  const auto& s = rotated.config->handler.auth.session_secrets;
  BOOST_TEST(s.size() == 3u);
  BOOST_TEST(s.front() == "newest-secret-0123456789abcdef012345");

  ::setenv("BETTER_AUTH_SECRETS", "no-version-here", 1);
  BOOST_TEST(!server::parse_server_config({"--database-url", "db"}).config.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
