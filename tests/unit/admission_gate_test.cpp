// server::admission_gate on a real io_context: places handed out at once up to
// the bound, then in arrival order; deadlines and cancellation end a wait
// (without an exception) and lose no place.
#include <hookstream/server/admission_gate.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using hookstream::server::admission_gate;

namespace {

// Requests that enter one gate and keep their pass until the test drops it.
struct requests {
  asio::io_context io;
  // Keeps poll() working once all coroutines are parked.
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  admission_gate gate;
  std::vector<std::optional<admission_gate::pass>> passes;
  std::vector<int> admitted;       // in the order they got a pass
  std::vector<int> refused;        // deadline passed first, or cancelled
  explicit requests(std::size_t max_active, int count) : gate(max_active), passes(static_cast<std::size_t>(count)) {}

  asio::awaitable<void> request(int i, admission_gate::clock::duration patience) {
    auto pass = co_await gate.enter(admission_gate::clock::now() + patience);
    if (!pass) {
      refused.push_back(i);
      co_return;
    }
    admitted.push_back(i);
    passes[static_cast<std::size_t>(i)].emplace(std::move(*pass));
  }
  void start(int i, admission_gate::clock::duration patience = 10s) {
    asio::co_spawn(io, request(i, patience), asio::detached);
    io.poll();
  }
  void drop(int i) {
    passes[static_cast<std::size_t>(i)].reset();
    io.poll();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(admission_gate_suite)

BOOST_AUTO_TEST_CASE(places_go_at_once_up_to_the_bound_then_in_arrival_order) {
  requests r(2, 5);
  for (int i = 0; i < 5; ++i) r.start(i);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.active() == 2u);
  BOOST_TEST(r.gate.waiting() == 3u);
  BOOST_TEST(!r.gate.try_enter());  // full: no cutting in line either
  r.drop(1);
  r.drop(0);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.active() == 2u);  // handed over, never freed in between
  BOOST_TEST(r.gate.waiting() == 1u);
  for (int i : {2, 3, 4}) r.drop(i);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.active() == 0u);
  {
    auto now = r.gate.try_enter();
    BOOST_TEST(now.has_value());
    BOOST_TEST(r.gate.active() == 1u);
  }
  BOOST_TEST(r.gate.active() == 0u);
  BOOST_TEST(r.gate.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(a_wait_past_its_deadline_gets_nothing_and_costs_no_place) {
  requests r(1, 3);
  r.start(0);
  r.start(1, 20ms);
  r.start(2);
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (r.refused.empty() && std::chrono::steady_clock::now() < until) r.io.run_one_for(50ms);
  BOOST_TEST(r.refused == (std::vector<int>{1}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.waiting() == 1u);
  r.drop(0);  // the place skips the one that left and goes to 2
  BOOST_TEST(r.admitted == (std::vector<int>{0, 2}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.active() == 1u);
  r.drop(2);
  BOOST_TEST(r.gate.active() == 0u);
}

// One timer serves the whole queue: a later waiter with an earlier deadline
// leaves at its own deadline, not at the first waiter's, and the timer then
// runs on to the first one's.
BOOST_AUTO_TEST_CASE(deadlines_out_of_arrival_order_each_end_their_own_wait) {
  requests r(1, 4);
  r.start(0);
  r.start(1, 400ms);
  r.start(2, 30ms);
  r.start(3);
  BOOST_TEST(r.gate.waiting() == 3u);
  const auto started = std::chrono::steady_clock::now();
  while (r.refused.empty() && std::chrono::steady_clock::now() < started + 2s) r.io.run_one_for(50ms);
  BOOST_TEST(r.refused == (std::vector<int>{2}), boost::test_tools::per_element());
  BOOST_TEST((std::chrono::steady_clock::now() - started < 300ms));  // not held until 1's deadline
  while (r.refused.size() < 2 && std::chrono::steady_clock::now() < started + 2s) r.io.run_one_for(50ms);
  BOOST_TEST(r.refused == (std::vector<int>{2, 1}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.waiting() == 1u);
  r.drop(0);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 3}), boost::test_tools::per_element());
  r.drop(3);
  BOOST_TEST(r.gate.active() == 0u);
}

// A cancellation that comes after the turn changes nothing.
BOOST_AUTO_TEST_CASE(a_cancellation_after_the_turn_is_ignored) {
  requests r(1, 2);
  r.start(0);
  asio::cancellation_signal hang_up;
  asio::co_spawn(r.io, r.request(1, 10s), asio::bind_cancellation_slot(hang_up.slot(), asio::detached));
  r.io.poll();
  r.drop(0);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  hang_up.emit(asio::cancellation_type::terminal);
  r.io.poll();
  BOOST_TEST(r.refused.empty());
  BOOST_TEST(r.gate.active() == 1u);
  r.drop(1);
  BOOST_TEST(r.gate.active() == 0u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_wait_gives_up_its_turn) {
  requests r(1, 3);
  r.start(0);
  asio::cancellation_signal hang_up;
  asio::co_spawn(r.io, r.request(1, 10s), asio::bind_cancellation_slot(hang_up.slot(), asio::detached));
  r.io.poll();
  r.start(2);
  BOOST_TEST(r.gate.waiting() == 2u);
  hang_up.emit(asio::cancellation_type::terminal);
  r.io.poll();
  BOOST_TEST(r.refused == (std::vector<int>{1}), boost::test_tools::per_element());
  BOOST_TEST(r.gate.waiting() == 1u);
  r.drop(0);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 2}), boost::test_tools::per_element());
  r.drop(2);
  BOOST_TEST(r.gate.active() == 0u);
}

BOOST_AUTO_TEST_CASE(a_place_handed_over_as_the_deadline_passes_is_kept) {
  requests r(1, 2);
  r.start(0);
  r.start(1, 1ms);
  std::this_thread::sleep_for(10ms);  // 1's deadline has passed; the loop has not seen it yet
  r.drop(0);                           // hands the place to 1 all the same
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(r.refused.empty());
  BOOST_TEST(r.gate.active() == 1u);
  r.drop(1);
  BOOST_TEST(r.gate.active() == 0u);
}

// The totals /metrics reports: every pass given, which of them waited and for
// how long, and the waits that ended at a deadline or a hang-up.
BOOST_AUTO_TEST_CASE(the_totals_count_passes_waits_timeouts_and_hang_ups) {
  requests r(1, 5);
  r.start(0);
  r.start(1);
  r.start(2, 20ms);
  asio::cancellation_signal hang_up;
  asio::co_spawn(r.io, r.request(3, 10s), asio::bind_cancellation_slot(hang_up.slot(), asio::detached));
  r.io.poll();
  BOOST_TEST(r.gate.counts().admitted == 1u);  // 0 only: the others queue
  BOOST_TEST(r.gate.counts().waited == 0u);
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (r.refused.empty() && std::chrono::steady_clock::now() < until) r.io.run_one_for(50ms);
  hang_up.emit(asio::cancellation_type::terminal);
  r.io.poll();
  BOOST_TEST(r.refused == (std::vector<int>{2, 3}), boost::test_tools::per_element());
  std::this_thread::sleep_for(5ms);  // 1 has waited at least this long
  r.drop(0);
  BOOST_TEST(r.admitted == (std::vector<int>{0, 1}), boost::test_tools::per_element());
  r.drop(1);
  { auto now = r.gate.try_enter(); }
  const admission_gate::totals& t = r.gate.counts();
  BOOST_TEST(t.admitted == 3u);  // 0, 1 and the try_enter
  BOOST_TEST(t.waited == 1u);    // 1
  BOOST_TEST((t.wait_time >= 5ms && t.wait_time < 10s));
  BOOST_TEST(t.timed_out == 1u);  // 2
  BOOST_TEST(t.gave_up == 1u);    // 3
}

BOOST_AUTO_TEST_CASE(zero_means_no_bound) {
  requests r(0, 100);
  for (int i = 0; i < 100; ++i) r.start(i);
  BOOST_TEST(r.admitted.size() == 100u);
  BOOST_TEST(r.gate.waiting() == 0u);
  for (int i = 0; i < 100; ++i) r.drop(i);
  BOOST_TEST(r.gate.active() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
