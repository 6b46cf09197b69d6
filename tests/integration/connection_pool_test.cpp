// connection_pool against a real PostgreSQL: reuse, every limit, deadlines,
// health checks and reconnection.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;
using storage::errc;
using storage::result_format;

namespace {
storage::pool_config config(std::size_t size) {
  storage::pool_config c;
  c.conninfo = test::database_url();
  c.max_size = size;
  return c;
}
auto soon(std::chrono::milliseconds d = 10s) { return hs_clock::now() + d; }

asio::awaitable<std::int64_t> backend_pid(storage::pg_connection& conn) {
  auto r = co_await conn.execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
  co_return r ? r->integer(0, 0) : -1;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(connection_pool)

BOOST_AUTO_TEST_CASE(reuses_a_returned_connection) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(4));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    std::int64_t first_pid, second_pid;
    {
      auto c = co_await pool.acquire(soon());
      BOOST_REQUIRE(c);
      first_pid = co_await backend_pid(**c);
    }
    {
      auto c = co_await pool.acquire(soon());
      BOOST_REQUIRE(c);
      second_pid = co_await backend_pid(**c);
    }
    BOOST_TEST(first_pid == second_pid);
    BOOST_TEST(pool.stats().connects == 1u);
    // A connection given back off the pool's executor (a strand, unless the
    // io_context has hint 1) goes back through it: once the executor has run
    // what was queued before this post, it is idle.
    co_await asio::post(pool.executor().get(), asio::use_awaitable);
    BOOST_TEST(pool.stats().idle == 1u);
  });
}

// Every statement runs with the pool's settings in either statement mode: SET
// on the session with named statements (what `automatic` picks on a direct
// connection), transaction-local with unnamed ones, which leave nothing named
// and nothing set on the session.
BOOST_AUTO_TEST_CASE(statement_modes_apply_the_settings_and_unnamed_ones_leave_no_state) {
  for (auto mode : {storage::statement_mode::automatic, storage::statement_mode::named,
                    storage::statement_mode::unnamed}) {
    BOOST_TEST_CONTEXT("mode " << static_cast<int>(mode)) {
      asio::io_context io;
      auto cfg = config(1);
      cfg.statements = mode;
      cfg.statement_timeout = 4321ms;
      storage::connection_pool pool(io.get_executor(), cfg);
      test::run_on(io, [&]() -> asio::awaitable<void> {
        auto c = co_await pool.acquire(soon());
        BOOST_REQUIRE(c);
        const bool unnamed = mode == storage::statement_mode::unnamed;
        BOOST_TEST((*c)->unnamed_statements() == unnamed);
        BOOST_TEST(pool.stats().unnamed_statements == unnamed);
        auto r = co_await (*c)->execute(
            "SELECT current_setting('statement_timeout'), current_setting('jit'), "
            "current_setting('max_parallel_workers_per_gather'), "
            "(SELECT count(*) FROM pg_prepared_statements)::int8",
            {}, result_format::binary, soon());
        BOOST_REQUIRE(r);
        BOOST_TEST(r->bytes(0, 0) == "4321ms");
        BOOST_TEST(r->bytes(0, 1) == "off");
        BOOST_TEST(r->bytes(0, 2) == "0");
        BOOST_TEST(r->integer(0, 3) == (unnamed ? 0 : 1));  // this statement itself, when named
        auto session = co_await (*c)->execute_script(
            "SELECT current_setting('statement_timeout'), current_setting('jit')",
            soon());
        BOOST_REQUIRE(session);
        BOOST_TEST(session->bytes(0, 0) == (unnamed ? "0" : "4321ms"));
        BOOST_TEST(session->bytes(0, 1) == (unnamed ? "on" : "off"));
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(never_opens_more_than_max_size) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2));
  std::size_t peak = 0;
  int done = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    auto c = co_await pool.acquire(soon());
    BOOST_REQUIRE(c);
    peak = std::max(peak, pool.stats().in_use);
    co_await (*c)->execute("SELECT pg_sleep(0.1)", {}, result_format::binary, soon());
    ++done;
  };
  for (int i = 0; i < 6; ++i) asio::co_spawn(io, worker(), asio::detached);
  io.run();
  BOOST_TEST(done == 6);
  BOOST_TEST(peak == 2u);
  BOOST_TEST(pool.stats().connects == 2u);
}

BOOST_AUTO_TEST_CASE(a_full_waiter_queue_fails_fast) {
  asio::io_context io(test::io_concurrency_hint());
  auto cfg = config(1);
  cfg.max_waiters = 1;
  storage::connection_pool pool(io.get_executor(), cfg);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto held = co_await pool.acquire(soon());
    BOOST_REQUIRE(held);
    // One waiter fits in the queue...
    bool waiter_served = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto c = co_await pool.acquire(soon());
      waiter_served = bool(c);
    }, asio::detached);
    asio::steady_timer t(io, 50ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_TEST(pool.stats().waiting == 1u);
    // ...the next is refused at once.
    const auto started = hs_clock::now();
    auto refused = co_await pool.acquire(soon());
    BOOST_REQUIRE(!refused);
    BOOST_TEST(refused.error().code == make_error_code(errc::pool_exhausted));
    BOOST_TEST((hs_clock::now() - started < 50ms));
    BOOST_TEST(pool.stats().exhausted == 1u);
    held = {};  // release: the queued waiter gets it
    t.expires_after(50ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_TEST(waiter_served);
  });
}

// The queue's price: an acquire that finds an idle connection does not count as
// a wait; one queued behind a held connection does, for as long as it queued.
BOOST_AUTO_TEST_CASE(counts_the_acquires_that_waited_and_their_time) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    {
      auto opened = co_await pool.acquire(soon());
      BOOST_REQUIRE(opened);
    }
    co_await asio::post(pool.executor().get(), asio::use_awaitable);
    const auto opening = pool.stats();  // the first acquire waited for its connect
    BOOST_TEST(opening.waited == 1u);
    auto held = co_await pool.acquire(soon());  // idle: no wait
    BOOST_REQUIRE(held);
    BOOST_TEST(pool.stats().waited == opening.waited);
    BOOST_TEST(pool.stats().wait_ns == opening.wait_ns);
    asio::steady_timer t(io, 120ms);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await t.async_wait(asio::use_awaitable);
      held = {};
    }, asio::detached);
    auto queued = co_await pool.acquire(soon());
    BOOST_REQUIRE(queued);
    const auto after = pool.stats();
    BOOST_TEST(after.waited == opening.waited + 1);
    const auto waited_ms = (after.wait_ns - opening.wait_ns) / 1'000'000;
    BOOST_TEST(waited_ms >= 100u);
    BOOST_TEST(waited_ms < 2000u);
    BOOST_TEST(after.acquired == 3u);
  });
}

BOOST_AUTO_TEST_CASE(acquire_honours_its_deadline) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto held = co_await pool.acquire(soon());
    BOOST_REQUIRE(held);
    const auto started = hs_clock::now();
    auto late = co_await pool.acquire(hs_clock::now() + 150ms);
    const auto took = hs_clock::now() - started;
    BOOST_REQUIRE(!late);
    BOOST_TEST(late.error().code == make_error_code(errc::acquire_timeout));
    BOOST_TEST((took >= 140ms));
    BOOST_TEST((took < 1s));
    BOOST_TEST(pool.stats().timed_out == 1u);
  });
}

// A restart or a terminated backend leaves idle connections that the server has
// closed. They are found before lending (the server's FATAL notice and end of
// file are already in the socket), so no request is handed a dead connection.
BOOST_AUTO_TEST_CASE(an_idle_connection_the_server_killed_is_not_lent) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2));
  test::sql_session admin;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    std::int64_t pid;
    {
      auto c = co_await pool.acquire(soon());
      BOOST_REQUIRE(c);
      pid = co_await backend_pid(**c);
    }
    admin.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
    // pg_terminate_backend with a timeout returns once the backend is gone; give
    // the kernel a moment to deliver the end of file.
    asio::steady_timer t(io, 20ms);
    co_await t.async_wait(asio::use_awaitable);
    auto c = co_await pool.acquire(soon());
    BOOST_REQUIRE(c);
    auto r = co_await (*c)->execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    BOOST_TEST(r->integer(0, 0) != pid);
    BOOST_TEST(pool.stats().stale == 1u);
    BOOST_TEST(pool.stats().connects == 2u);
  });
}

BOOST_AUTO_TEST_CASE(a_connection_left_in_a_transaction_is_not_reused) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    std::int64_t pid;
    {
      auto c = co_await pool.acquire(soon());
      BOOST_REQUIRE(c);
      pid = co_await backend_pid(**c);
      BOOST_REQUIRE(co_await (*c)->execute_script("BEGIN", soon()));
    }
    auto c = co_await pool.acquire(soon());
    BOOST_REQUIRE(c);
    BOOST_TEST(co_await backend_pid(**c) != pid);
    BOOST_TEST(pool.stats().dropped == 1u);
  });
}

BOOST_AUTO_TEST_CASE(a_known_outage_fails_at_once_and_reconnects_in_the_background) {
  asio::io_context io(test::io_concurrency_hint());
  storage::pool_config cfg;
  cfg.conninfo = "postgresql://postgres@127.0.0.1:1/none";
  cfg.max_size = 4;
  cfg.backoff_initial = 100ms;
  cfg.backoff_max = 300ms;
  storage::connection_pool pool(io.get_executor(), cfg);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    const auto started = hs_clock::now();
    auto r = co_await pool.acquire(soon(5s));
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == make_error_code(errc::connection_failed));
    BOOST_TEST((hs_clock::now() - started < 2s));  // not the 5 s deadline
    BOOST_TEST(pool.stats().database_down);
    // While the outage is known, every acquire fails at once, whatever its
    // deadline, and says why...
    for (int i = 0; i < 20; ++i) {
      const auto t0 = hs_clock::now();
      auto again = co_await pool.acquire(soon(5s));
      BOOST_REQUIRE(!again);
      BOOST_TEST(again.error().code == make_error_code(errc::connection_failed));
      BOOST_TEST(again.error().message.find("last connect error") != std::string::npos);
      BOOST_TEST((hs_clock::now() - t0 < 50ms));
      asio::steady_timer t(io, 50ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    // ...while one background attempt at a time retries at the back-off's pace:
    // 1 s at 100, 200, 300, 300 ms gives about 4 attempts, never a storm.
    const auto failures = pool.stats().connect_failures;
    BOOST_TEST(failures >= 3u);
    BOOST_TEST(failures <= 8u);
    BOOST_TEST(pool.stats().refused_down == 20u);
    pool.close();
  });
}

BOOST_AUTO_TEST_CASE(with_connection_retries_read_only_work_once_when_the_server_closed_the_connection) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    int attempts = 0;
    std::int64_t first_pid = 0;
    auto r = co_await pool.with_connection(
        [&](storage::pg_connection& c) -> asio::awaitable<storage::db_result<storage::query_result>> {
          ++attempts;
          if (attempts == 1) {
            first_pid = c.backend_pid();
            // The backend ends the session before any result: what a restart does.
            co_return co_await c.execute("SELECT pg_terminate_backend(pg_backend_pid())", {},
                                         result_format::binary, soon());
          }
          co_return co_await c.execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
        },
        soon());
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    BOOST_TEST(attempts == 2);
    BOOST_TEST(r->integer(0, 0) != first_pid);
    BOOST_TEST(pool.stats().retries == 1u);
    BOOST_TEST(pool.stats().in_use == 0u);  // released as soon as the work returned
  });
}

BOOST_AUTO_TEST_CASE(with_connection_does_not_retry_once_a_result_arrived_or_on_server_errors) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    int attempts = 0;
    auto after_result = co_await pool.with_connection(
        [&](storage::pg_connection& c) -> asio::awaitable<storage::db_result<storage::query_result>> {
          ++attempts;
          auto first = co_await c.execute("SELECT 1", {}, result_format::binary, soon());
          if (!first) co_return first;
          co_return co_await c.execute("SELECT pg_terminate_backend(pg_backend_pid())", {}, result_format::binary,
                                       soon());
        },
        soon());
    BOOST_REQUIRE(!after_result);
    BOOST_TEST(after_result.error().code == make_error_code(errc::connection_failed));
    BOOST_TEST(attempts == 1);

    attempts = 0;
    auto bad_sql = co_await pool.with_connection(
        [&](storage::pg_connection& c) -> asio::awaitable<storage::db_result<storage::query_result>> {
          ++attempts;
          co_return co_await c.execute("SELECT no_such_column", {}, result_format::binary, soon());
        },
        soon());
    BOOST_REQUIRE(!bad_sql);
    BOOST_TEST(bad_sql.error().code == make_error_code(errc::query_failed));
    BOOST_TEST(attempts == 1);
    BOOST_TEST(pool.stats().retries == 0u);
  });
}

// A cancelled request's connection is not replaced while its statement may still
// run: it counts toward max_size until the cancel lands, then it is reused.
BOOST_AUTO_TEST_CASE(a_cancelled_statement_keeps_its_place_in_the_pool_until_the_cancel_lands) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1));
  test::sql_session admin;
  asio::cancellation_signal cancel;
  std::optional<storage::db_error> outcome;
  std::int64_t pid = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto r = co_await pool.with_connection(
        [&](storage::pg_connection& c) -> asio::awaitable<storage::db_result<storage::query_result>> {
          pid = c.backend_pid();
          co_return co_await c.execute("SELECT pg_sleep(30)", {}, result_format::binary, soon(20s));
        },
        soon());
    if (!r) outcome = r.error();
  }, asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io, 300ms);
    co_await t.async_wait(asio::use_awaitable);
    cancel.emit(asio::cancellation_type::terminal);
    t.expires_after(20ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_REQUIRE(outcome.has_value());  // answered at once, not when the statement ends
    BOOST_TEST(outcome->code == make_error_code(errc::cancelled));
    const auto s = pool.stats();
    BOOST_TEST(s.recovering + s.idle == 1u);
    BOOST_TEST(s.recoveries == 1u);
    auto c = co_await pool.acquire(soon(3s));
    BOOST_REQUIRE(c);
    BOOST_TEST((*c)->backend_pid() == pid);  // the same connection, recovered
    BOOST_TEST(pool.stats().connects == 1u);
    BOOST_TEST(pool.stats().recovered == 1u);
    BOOST_TEST(admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND "
                            "state = 'active'")
                   .value_or("?") == "0");
  });
}

BOOST_AUTO_TEST_CASE(acquire_honours_cancellation) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto held = co_await pool.acquire(soon());
    BOOST_REQUIRE(held);
    asio::cancellation_signal cancel;
    std::optional<storage::db_error> error;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto c = co_await pool.acquire(soon(10s));
      if (!c) error = c.error();
    }, asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    asio::steady_timer t(io, 50ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_TEST(pool.stats().waiting == 1u);
    cancel.emit(asio::cancellation_type::terminal);
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->code == make_error_code(errc::cancelled));
    BOOST_TEST(pool.stats().waiting == 0u);
  });
}

BOOST_AUTO_TEST_CASE(close_fails_waiters) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto held = co_await pool.acquire(soon());
    BOOST_REQUIRE(held);
    std::optional<storage::db_error> waiter_error;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto c = co_await pool.acquire(soon());
      if (!c) waiter_error = c.error();
    }, asio::detached);
    asio::steady_timer t(io, 20ms);
    co_await t.async_wait(asio::use_awaitable);
    pool.close();
    t.expires_after(20ms);
    co_await t.async_wait(asio::use_awaitable);
    BOOST_REQUIRE(waiter_error);
    BOOST_TEST(waiter_error->code == make_error_code(errc::pool_closed));
  });
}

BOOST_AUTO_TEST_SUITE_END()
