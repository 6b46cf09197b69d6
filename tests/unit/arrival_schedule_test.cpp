// hookstream-bench's open-loop schedules (bench/arrival_schedule.hpp).
#include "arrival_schedule.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>

using hookstream::bench::arrival_schedule;

BOOST_AUTO_TEST_SUITE(arrival_schedules)

BOOST_AUTO_TEST_CASE(uniform_slots_are_evenly_spaced_and_dealt_round_robin_to_the_threads) {
  // 1,000 req/s over 4 threads: thread 2's slots at 2, 6, 10 ... ms.
  arrival_schedule s(arrival_schedule::kind::uniform, 1000, 4, 2);
  BOOST_TEST(s.offset_ns(0) == 2e6);
  BOOST_TEST(s.offset_ns(1) == 6e6);
  BOOST_TEST(s.offset_ns(250) == 1002e6);
  BOOST_TEST(s.first_at_or_after(6e6) == 1u);
  BOOST_TEST(s.first_at_or_after(6e6 + 1) == 2u);
  BOOST_TEST(s.first_at_or_after(0) == 0u);
}

BOOST_AUTO_TEST_CASE(poisson_slots_have_the_mean_rate_and_exponential_gaps) {
  // 6,000 req/s over 2 threads: each thread's gaps average 1/3,000 s, and an
  // exponential distribution's standard deviation equals its mean (evenly
  // spaced slots would have none).
  arrival_schedule s(arrival_schedule::kind::poisson, 6000, 2, 1);
  constexpr std::uint64_t n = 200000;
  double sum = 0, sum_sq = 0, previous = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    const double at = s.offset_ns(k);
    BOOST_TEST_REQUIRE(at >= previous);
    const double gap = at - previous;
    sum += gap;
    sum_sq += gap * gap;
    previous = at;
  }
  const double mean = sum / n, sd = std::sqrt(sum_sq / n - mean * mean);
  BOOST_TEST(mean == 1e9 / 3000, boost::test_tools::tolerance(0.02));
  BOOST_TEST(sd / mean == 1.0, boost::test_tools::tolerance(0.03));
  // Slots inside [1 s, 2 s): about 3,000, counted by searching for the ends.
  const auto inside = s.first_at_or_after(2e9) - s.first_at_or_after(1e9);
  BOOST_TEST(inside > 2700u);
  BOOST_TEST(inside < 3300u);
}

BOOST_AUTO_TEST_CASE(a_poisson_slot_keeps_its_time_and_each_thread_has_its_own_draws) {
  arrival_schedule a(arrival_schedule::kind::poisson, 1000, 2, 0);
  arrival_schedule again(arrival_schedule::kind::poisson, 1000, 2, 0);
  arrival_schedule other(arrival_schedule::kind::poisson, 1000, 2, 1);
  const double tenth = a.offset_ns(10);
  a.offset_ns(5000);  // drawing further does not move earlier slots
  BOOST_TEST(a.offset_ns(10) == tenth);
  BOOST_TEST(again.offset_ns(10) == tenth);
  BOOST_TEST(other.offset_ns(10) != tenth);
}

BOOST_AUTO_TEST_SUITE_END()
