// pg_connection against a real PostgreSQL: decoding, errors, deadlines, and the
// property everything rests on: waiting for the database never blocks the thread.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <array>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;
using storage::errc;
using storage::query_param;
using storage::result_format;

namespace {
auto soon(std::chrono::milliseconds d = 10s) { return hs_clock::now() + d; }
}  // namespace

BOOST_AUTO_TEST_SUITE(pg_connection)

BOOST_AUTO_TEST_CASE(decodes_binary_values_and_nulls) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    auto opened = co_await conn.connect(test::database_url(), soon());
    BOOST_REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    const std::array<query_param, 2> params{std::string_view("hello"), std::nullopt};
    auto r = co_await conn.execute(
        "SELECT $1::text, $2::text, 42::int4, (-7)::int2, 9000000000::int8, "
        "'2026-11-28 08:39:52.929123+00'::timestamptz, '\\x00ff41'::bytea, true",
        params, result_format::binary, soon());
    BOOST_REQUIRE(r);
    BOOST_TEST(r->rows() == 1);
    BOOST_TEST(r->bytes(0, 0) == "hello");
    BOOST_TEST(r->is_null(0, 1));
    BOOST_TEST(r->integer(0, 2) == 42);
    BOOST_TEST(r->integer(0, 3) == -7);
    BOOST_TEST(r->integer(0, 4) == 9000000000LL);
    BOOST_TEST(r->timestamp(0, 5) == 1795855192929123LL);
    BOOST_TEST(r->bytes(0, 6) == std::string_view("\0\xff" "A", 3));
    BOOST_TEST(r->boolean(0, 7));
  });
}

BOOST_AUTO_TEST_CASE(prepares_each_statement_once) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    for (int i = 0; i < 3; ++i) {
      const std::string v = std::to_string(i);
      const std::array<query_param, 1> p{std::string_view(v)};
      auto r = co_await conn.execute("SELECT $1::int4 + 1", p, result_format::binary, soon());
      BOOST_REQUIRE(r);
      BOOST_TEST(r->integer(0, 0) == i + 1);
    }
    BOOST_TEST(conn.prepared_statements() == 1u);
  });
}

BOOST_AUTO_TEST_CASE(server_errors_keep_the_connection_usable) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    auto bad = co_await conn.execute("SELECT no_such_column FROM pg_class", {}, result_format::binary, soon());
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().code == make_error_code(errc::query_failed));
    BOOST_TEST(bad.error().sqlstate == "42703");
    BOOST_TEST(bad.error().message.find("no_such_column") != std::string::npos);
    BOOST_TEST(conn.usable());
    auto ok = co_await conn.execute("SELECT 1", {}, result_format::binary, soon());
    BOOST_TEST(bool(ok));
  });
}

BOOST_AUTO_TEST_CASE(statement_timeout_is_a_query_timeout_and_the_connection_survives) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    BOOST_REQUIRE(co_await conn.execute_script("SET statement_timeout = 100", soon()));
    auto slow = co_await conn.execute("SELECT pg_sleep(5)", {}, result_format::binary, soon());
    BOOST_REQUIRE(!slow);
    BOOST_TEST(slow.error().code == make_error_code(errc::query_timeout));
    BOOST_TEST(conn.usable());
  });
}

BOOST_AUTO_TEST_CASE(client_deadline_abandons_the_connection) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    const auto started = hs_clock::now();
    auto slow = co_await conn.execute("SELECT pg_sleep(5)", {}, result_format::binary, soon(200ms));
    const auto took = hs_clock::now() - started;
    BOOST_REQUIRE(!slow);
    BOOST_TEST(slow.error().code == make_error_code(errc::query_timeout));
    BOOST_TEST(!conn.usable());  // protocol state unknown: must not be reused
    BOOST_TEST(took < 3s);
  });
}

BOOST_AUTO_TEST_CASE(connecting_to_nothing_fails_cleanly) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    // Port 1 on loopback: nothing listens there.
    auto r = co_await conn.connect("postgresql://postgres@127.0.0.1:1/none", soon(5s));
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == make_error_code(errc::connection_failed));
    BOOST_TEST(!r.error().message.empty());
    BOOST_TEST(!conn.usable());
  });
}

// The acceptance test for "no libpq call blocks the event loop": one thread, one
// io_context. A query sleeps one second in the database while, on the same
// thread, another connection completes many queries and a timer keeps ticking.
BOOST_AUTO_TEST_CASE(a_slow_query_does_not_block_other_work_on_the_thread) {
  asio::io_context io;
  hs_clock::time_point slow_done{}, fast_done{};
  int fast_queries = 0, ticks = 0;
  bool slow_ok = false;

  auto slow = [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    auto r = co_await conn.execute("SELECT pg_sleep(1)", {}, result_format::binary, soon());
    slow_ok = bool(r);
    slow_done = hs_clock::now();
  };
  auto fast = [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    // Give the slow query a head start so it is surely in flight.
    asio::steady_timer t(io, 100ms);
    co_await t.async_wait(asio::use_awaitable);
    for (int i = 0; i < 50; ++i) {
      auto r = co_await conn.execute("SELECT count(*) FROM pg_class", {}, result_format::binary, soon());
      if (r) ++fast_queries;
    }
    fast_done = hs_clock::now();
  };
  auto ticker = [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io);
    for (int i = 0; i < 40; ++i) {
      t.expires_after(20ms);
      co_await t.async_wait(asio::use_awaitable);
      ++ticks;
    }
  };
  const auto started = hs_clock::now();
  asio::co_spawn(io, slow(), asio::detached);
  asio::co_spawn(io, fast(), asio::detached);
  asio::co_spawn(io, ticker(), asio::detached);
  io.run();

  BOOST_TEST(slow_ok);
  BOOST_TEST(fast_queries == 50);
  BOOST_TEST(ticks == 40);
  // All 50 fast queries finished while the slow one was still sleeping.
  BOOST_TEST((fast_done < slow_done));
  // And everything ran concurrently: about one second in all, not one plus the rest.
  BOOST_TEST((hs_clock::now() - started < 1900ms));
}

BOOST_AUTO_TEST_SUITE_END()
