// storage::detail::operation_deadline: a deadline belongs to one operation only.
#include <hookstream/storage/detail/operation_deadline.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

using hookstream::storage::detail::operation_deadline;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using deadline_clock = operation_deadline::clock;

BOOST_AUTO_TEST_SUITE(deadlines)

BOOST_AUTO_TEST_CASE(an_operation_past_its_deadline_expires_once) {
  asio::io_context io;
  int expiries = 0;
  operation_deadline d(io.get_executor(), [&] { ++expiries; });
  d.arm(deadline_clock::now() + 5ms);
  io.run();
  BOOST_TEST(expiries == 1);
  BOOST_TEST(d.expired());
  d.arm(deadline_clock::now() + 1h);
  BOOST_TEST(!d.expired());  // a new operation starts afresh
  d.disarm();
  io.restart();
  io.run();
  BOOST_TEST(expiries == 1);
}

BOOST_AUTO_TEST_CASE(a_disarmed_deadline_never_fires) {
  asio::io_context io;
  int expiries = 0;
  operation_deadline d(io.get_executor(), [&] { ++expiries; });
  d.arm(deadline_clock::now() + 20ms);
  BOOST_TEST(d.disarm() == 1u);  // still pending: cancelled for real
  io.run();
  BOOST_TEST(expiries == 0);
  BOOST_TEST(!d.expired());
}

// The race of the issue: operation 1's deadline passes just as it ends, so its
// expiry handler is already queued when it disarms (cancel() finds nothing), and
// operation 2 is armed before that handler runs. The handler must not time out
// operation 2. Asio's scheduler runs the reactor (which queues expired timers)
// before a handler posted after arming, so the race forms on the first try here;
// the loop only guards against a scheduler that orders it differently, and the
// test insists that the race was really forced.
BOOST_AUTO_TEST_CASE(a_stale_expiry_never_touches_the_next_operation) {
  int forced = 0;
  for (int attempt = 0; attempt < 20 && forced < 3; ++attempt) {
    asio::io_context io;
    int expiries = 0;
    operation_deadline d(io.get_executor(), [&] { ++expiries; });
    d.arm(deadline_clock::now() - 1ms);         // operation 1, already late
    std::this_thread::sleep_for(2ms);           // its timer has surely fired
    bool race_formed = false;
    asio::post(io, [&] {
      // Operation 1 ends; its expiry handler may already sit in the queue.
      race_formed = d.disarm() == 0;
      d.arm(deadline_clock::now() + 1h);       // operation 2
    });
    io.run_one();  // the reactor queues operation 1's expiry, then our handler runs
    io.run_one();  // operation 1's stale expiry handler, if it was queued
    if (!race_formed) continue;
    ++forced;
    BOOST_TEST(expiries == 0);
    BOOST_TEST(!d.expired());
    d.disarm();
    io.run();
  }
  BOOST_TEST(forced >= 1);
}

BOOST_AUTO_TEST_CASE(a_handler_queued_when_the_owner_is_destroyed_does_nothing) {
  asio::io_context io;
  int expiries = 0;
  {
    operation_deadline d(io.get_executor(), [&] { ++expiries; });
    d.arm(deadline_clock::now() - 1ms);
    std::this_thread::sleep_for(2ms);
    asio::post(io, [] {});
    io.run_one();  // expiry queued behind the posted handler, not run yet
  }
  io.run();
  BOOST_TEST(expiries == 0);
}

BOOST_AUTO_TEST_SUITE_END()
