// storage::ttl_cache: time-to-live, least-recently-used eviction, and a bound
// that holds whatever the mix of new and repeated keys.
#include <hookstream/storage/ttl_cache.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace std::chrono_literals;
using cache = hookstream::storage::ttl_cache<int>;

BOOST_AUTO_TEST_SUITE(ttl_cache)

BOOST_AUTO_TEST_CASE(entries_live_until_their_expiry) {
  cache c(4);
  const auto t0 = cache::clock::now();
  c.store("a", 1, t0, t0 + 100ms);
  BOOST_REQUIRE(c.find("a", t0 + 99ms));
  BOOST_TEST(*c.find("a", t0 + 99ms) == 1);
  BOOST_TEST(!c.find("a", t0 + 100ms));
  c.store("b", 2, t0, t0);  // already expired: not stored
  BOOST_TEST(c.size() == 1u);
  BOOST_TEST(c.hits() == 2u);
  BOOST_TEST(c.misses() == 1u);
}

BOOST_AUTO_TEST_CASE(evicts_the_least_recently_used) {
  cache c(3);
  const auto t0 = cache::clock::now(), later = t0 + 1h;
  c.store("a", 1, t0, later);
  c.store("b", 2, t0, later);
  c.store("c", 3, t0, later);
  BOOST_TEST(c.find("a", t0));  // a is now the most recently used
  c.store("d", 4, t0, later);   // evicts b
  BOOST_TEST(!c.find("b", t0));
  BOOST_TEST(c.find("a", t0));
  BOOST_TEST(c.find("c", t0));
  BOOST_TEST(c.find("d", t0));
  BOOST_TEST(c.size() == 3u);
}

BOOST_AUTO_TEST_CASE(repeated_stores_of_known_keys_stay_bounded) {
  cache c(8);
  const auto t0 = cache::clock::now();
  for (int i = 0; i < 100000; ++i) {
    const auto now = t0 + std::chrono::microseconds(i);
    c.store("key" + std::to_string(i % 5), i, now, now + 10ms);  // known keys, stored again and again
    if (i % 1000 == 0) c.store("new" + std::to_string(i), i, now, now + 10ms);
    BOOST_REQUIRE(c.size() <= 8u);
  }
  BOOST_TEST(*c.find("key4", t0 + std::chrono::microseconds(99999)) == 99999);
}

BOOST_AUTO_TEST_CASE(storing_again_refreshes_value_and_expiry) {
  cache c(2);
  const auto t0 = cache::clock::now();
  c.store("a", 1, t0, t0 + 10ms);
  c.store("a", 2, t0 + 5ms, t0 + 50ms);
  BOOST_TEST(*c.find("a", t0 + 20ms) == 2);
  cache::clock::time_point expires;
  BOOST_REQUIRE(c.find("a", t0 + 20ms, &expires));
  BOOST_TEST((expires == t0 + 50ms));  // a hit reports the refreshed expiry
  BOOST_TEST(c.size() == 1u);
  c.erase("a");
  BOOST_TEST(c.size() == 0u);
}

BOOST_AUTO_TEST_CASE(capacity_zero_stores_nothing) {
  cache c(0);
  const auto t0 = cache::clock::now();
  c.store("a", 1, t0, t0 + 1h);
  BOOST_TEST(c.size() == 0u);
  BOOST_TEST(!c.find("a", t0));
}

BOOST_AUTO_TEST_SUITE_END()
