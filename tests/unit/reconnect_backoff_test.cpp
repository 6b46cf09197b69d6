// Exponential back-off between failed connection attempts: storage::reconnect_backoff.
#include <hookstream/storage/reconnect_backoff.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <vector>

using hookstream::storage::reconnect_backoff;
using namespace std::chrono_literals;

namespace {

using clock_type = reconnect_backoff::clock;
// A fixed, arbitrary instant: the class never reads the clock itself.
const clock_type::time_point t0 = clock_type::time_point{} + 1000h;

// Milliseconds as a plain number, for readable failure messages.
long long millis(clock_type::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(may_attempt_initially) {
  const reconnect_backoff b(100ms, 5s);
  BOOST_TEST(b.may_attempt(t0));
  BOOST_TEST(b.may_attempt(clock_type::time_point{}));
  BOOST_TEST(millis(b.delay()) == 0);
  BOOST_TEST((b.next_attempt() == clock_type::time_point::min()));
}

BOOST_AUTO_TEST_CASE(first_failure_waits_initial_delay) {
  reconnect_backoff b(100ms, 5s);
  b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 100);
  BOOST_TEST((b.next_attempt() == t0 + 100ms));
  BOOST_TEST(!b.may_attempt(t0));
  BOOST_TEST(!b.may_attempt(t0 + 99ms));
  BOOST_TEST(!b.may_attempt(t0 + 100ms - 1ns));
  BOOST_TEST(b.may_attempt(t0 + 100ms));
  BOOST_TEST(b.may_attempt(t0 + 1s));
}

BOOST_AUTO_TEST_CASE(delay_doubles_on_each_failure) {
  reconnect_backoff b(100ms, 1h);
  std::vector<long long> delays;
  auto now = t0;
  for (int i = 0; i < 6; ++i) {
    b.on_failure(now);
    delays.push_back(millis(b.delay()));
    BOOST_TEST((b.next_attempt() == now + b.delay()));
    now = b.next_attempt();
  }
  BOOST_TEST(delays == (std::vector<long long>{100, 200, 400, 800, 1600, 3200}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wait_is_measured_from_the_failure) {
  reconnect_backoff b(100ms, 5s);
  b.on_failure(t0);
  const auto later = t0 + 10s;  // the second failure happens long after the first
  b.on_failure(later);
  BOOST_TEST(millis(b.delay()) == 200);
  BOOST_TEST(!b.may_attempt(later + 199ms));
  BOOST_TEST(b.may_attempt(later + 200ms));
}

BOOST_AUTO_TEST_CASE(delay_capped_at_maximum) {
  reconnect_backoff b(100ms, 500ms);
  std::vector<long long> delays;
  for (int i = 0; i < 7; ++i) {
    b.on_failure(t0);
    delays.push_back(millis(b.delay()));
  }
  BOOST_TEST(delays == (std::vector<long long>{100, 200, 400, 500, 500, 500, 500}), boost::test_tools::per_element());
  BOOST_TEST((b.next_attempt() == t0 + 500ms));
  BOOST_TEST(!b.may_attempt(t0 + 499ms));
  BOOST_TEST(b.may_attempt(t0 + 500ms));
}

BOOST_AUTO_TEST_CASE(cap_reached_exactly_when_not_a_power_of_two) {
  reconnect_backoff b(300ms, 1s);
  std::vector<long long> delays;
  for (int i = 0; i < 4; ++i) {
    b.on_failure(t0);
    delays.push_back(millis(b.delay()));
  }
  BOOST_TEST(delays == (std::vector<long long>{300, 600, 1000, 1000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(many_failures_stay_at_the_cap) {
  reconnect_backoff b(1ms, 5s);
  for (int i = 0; i < 200; ++i) b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 5000);
  BOOST_TEST((b.next_attempt() == t0 + 5s));
}

BOOST_AUTO_TEST_CASE(maximum_below_initial_is_raised_to_initial) {
  reconnect_backoff b(200ms, 50ms);
  b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 200);
  b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 200);
}

BOOST_AUTO_TEST_CASE(success_resets) {
  reconnect_backoff b(100ms, 5s);
  b.on_failure(t0);
  b.on_failure(t0);
  b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 400);
  BOOST_TEST(!b.may_attempt(t0 + 1ms));
  b.on_success();
  BOOST_TEST(millis(b.delay()) == 0);
  BOOST_TEST(b.may_attempt(t0));
  BOOST_TEST(b.may_attempt(t0 + 1ms));
  BOOST_TEST((b.next_attempt() == clock_type::time_point::min()));
  // The next failure starts over from the initial delay.
  b.on_failure(t0 + 1s);
  BOOST_TEST(millis(b.delay()) == 100);
  BOOST_TEST((b.next_attempt() == t0 + 1s + 100ms));
}

BOOST_AUTO_TEST_CASE(success_without_failure_is_harmless) {
  reconnect_backoff b(100ms, 5s);
  b.on_success();
  BOOST_TEST(b.may_attempt(t0));
  b.on_failure(t0);
  BOOST_TEST(millis(b.delay()) == 100);
}

BOOST_AUTO_TEST_SUITE_END()
