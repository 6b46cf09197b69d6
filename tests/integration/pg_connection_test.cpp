// pg_connection against a real PostgreSQL: decoding, errors, deadlines, and the
// property everything rests on: waiting for the database never blocks the thread.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;
using storage::errc;
using storage::query_param;
using storage::result_format;

namespace {
auto soon(std::chrono::milliseconds d = 10s) { return hs_clock::now() + d; }

// What the server says the backend `pid` is doing right now ("" once it is gone).
std::string backend_state(test::sql_session& admin, int pid) {
  return admin.scalar("SELECT state || ':' || left(query, 40) FROM pg_stat_activity WHERE pid = " +
                      std::to_string(pid)).value_or("");
}

// Polls (blocking: test-side only) until the backend no longer runs `needle`.
bool statement_ends_within(test::sql_session& admin, int pid, const std::string& needle,
                           std::chrono::milliseconds limit) {
  const auto until = hs_clock::now() + limit;
  do {
    const auto s = backend_state(admin, pid);
    if (!(s.starts_with("active:") && s.find(needle) != std::string::npos)) return true;
    std::this_thread::sleep_for(10ms);
  } while (hs_clock::now() < until);
  return false;
}

std::string with_host(const std::string& url, const std::string& from, const std::string& to) {
  auto at = url.find("@" + from);
  BOOST_REQUIRE(at != std::string::npos);
  return url.substr(0, at + 1) + to + url.substr(at + 1 + from.size());
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pg_connection)

BOOST_AUTO_TEST_CASE(decodes_binary_values_and_nulls) {
  asio::io_context io(test::io_concurrency_hint());
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
  asio::io_context io(test::io_concurrency_hint());
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
  asio::io_context io(test::io_concurrency_hint());
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
  asio::io_context io(test::io_concurrency_hint());
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

// Unnamed statements with a prelude (the mode for a pooler in transaction
// mode): the prelude's transaction-local settings hold for the statement, in
// one round trip, and nothing is left on the session afterwards.
BOOST_AUTO_TEST_CASE(unnamed_statements_carry_transaction_local_settings_and_leave_none) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    conn.use_unnamed_statements(
        "SELECT set_config('statement_timeout', '4321', true), set_config('jit', 'off', true)");
    const std::array<query_param, 1> params{std::string_view("x")};
    for (int i = 0; i < 3; ++i) {
      auto r = co_await conn.execute(
          "SELECT current_setting('statement_timeout'), current_setting('jit'), $1::text, "
          "(SELECT count(*) FROM pg_prepared_statements)::int8",
          params, result_format::binary, soon());
      BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      BOOST_TEST(r->bytes(0, 0) == "4321ms");
      BOOST_TEST(r->bytes(0, 1) == "off");
      BOOST_TEST(r->bytes(0, 2) == "x");
      BOOST_TEST(r->integer(0, 3) == 0);  // nothing named on the server
      BOOST_TEST(conn.usable());
    }
    BOOST_TEST(conn.prepared_statements() == 0u);
    // The simple protocol runs without the prelude: the session's own settings.
    auto session = co_await conn.execute_script("SELECT current_setting('statement_timeout'), current_setting('jit')",
                                                soon());
    BOOST_REQUIRE(session);
    BOOST_TEST(session->bytes(0, 0) == "0");
    BOOST_TEST(session->bytes(0, 1) == "on");
  });
}

// The prelude's statement_timeout stops a slow statement (57014), and the
// connection stays usable; an error in the statement or in the prelude is the
// call's error.
BOOST_AUTO_TEST_CASE(unnamed_statements_honour_the_prelude_timeout_and_report_errors) {
  asio::io_context io;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    conn.use_unnamed_statements("SELECT set_config('statement_timeout', '100', true)");
    const auto started = hs_clock::now();
    auto slow = co_await conn.execute("SELECT pg_sleep(5)", {}, result_format::binary, soon());
    BOOST_REQUIRE(!slow);
    BOOST_TEST(slow.error().code == make_error_code(errc::query_timeout));
    BOOST_TEST((hs_clock::now() - started < 2s));
    BOOST_TEST(conn.usable());
    auto bad = co_await conn.execute("SELECT no_such_column", {}, result_format::binary, soon());
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().sqlstate == "42703");
    BOOST_TEST(conn.usable());
    conn.use_unnamed_statements("SELECT set_config('no_such_setting_without_a_dot', '1', true)");
    auto refused = co_await conn.execute("SELECT 1", {}, result_format::binary, soon());
    BOOST_REQUIRE(!refused);
    BOOST_TEST(refused.error().code == make_error_code(errc::query_failed));
    BOOST_TEST(conn.usable());
    conn.use_unnamed_statements("");
    auto plain = co_await conn.execute("SELECT 7::int8", {}, result_format::binary, soon());
    BOOST_REQUIRE(plain);
    BOOST_TEST(plain->integer(0, 0) == 7);
  });
}

// A client-side deadline in the middle of a pipelined unit: the statement is
// cancelled on the server, recovery reads the unit to its end and leaves
// pipeline mode, and the connection is reused.
BOOST_AUTO_TEST_CASE(an_interrupted_pipelined_statement_is_recovered) {
  asio::io_context io;
  test::sql_session admin;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    conn.use_unnamed_statements("SELECT set_config('statement_timeout', '0', true)");
    const int pid = conn.backend_pid();
    auto slow = co_await conn.execute("SELECT pg_sleep(30)", {}, result_format::binary, soon(200ms));
    BOOST_REQUIRE(!slow);
    BOOST_TEST(slow.error().code == make_error_code(errc::query_timeout));
    BOOST_TEST(conn.needs_recovery());
    BOOST_TEST(statement_ends_within(admin, pid, "pg_sleep", 3s));
    BOOST_TEST(co_await conn.recover(soon(3s)));
    BOOST_TEST(conn.usable());
    auto ok = co_await conn.execute("SELECT 1::int8", {}, result_format::binary, soon());
    BOOST_REQUIRE(ok);
    BOOST_TEST(ok->integer(0, 0) == 1);
  });
}

// A client-side deadline answers at once, stops the statement on the server, and
// the connection comes back for reuse once the cancel has landed.
BOOST_AUTO_TEST_CASE(client_deadline_cancels_the_statement_and_the_connection_recovers) {
  asio::io_context io(test::io_concurrency_hint());
  test::sql_session admin;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    const int pid = conn.backend_pid();
    const auto started = hs_clock::now();
    auto slow = co_await conn.execute("SELECT pg_sleep(30)", {}, result_format::binary, soon(200ms));
    const auto took = hs_clock::now() - started;
    BOOST_REQUIRE(!slow);
    BOOST_TEST(slow.error().code == make_error_code(errc::query_timeout));
    BOOST_TEST((took < 1s));
    BOOST_TEST(!conn.usable());  // not before recovery
    BOOST_TEST(conn.needs_recovery());
    // The statement is not left running for nobody.
    BOOST_TEST(statement_ends_within(admin, pid, "pg_sleep", 3s));
    BOOST_TEST(co_await conn.recover(soon(3s)));
    BOOST_TEST(conn.usable());
    BOOST_TEST(conn.backend_pid() == pid);
    auto ok = co_await conn.execute("SELECT 1", {}, result_format::binary, soon());
    BOOST_TEST(bool(ok));
  });
}

// Asio per-operation cancellation (what the listener emits when a client goes
// away): the caller hears errc::cancelled at once, the server stops the statement.
BOOST_AUTO_TEST_CASE(cancellation_returns_at_once_and_cancels_the_statement) {
  asio::io_context io(test::io_concurrency_hint());
  test::sql_session admin;
  storage::pg_connection conn(io.get_executor());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
  });
  const int pid = conn.backend_pid();
  asio::cancellation_signal cancel;
  std::optional<storage::db_result<storage::query_result>> outcome;
  hs_clock::time_point answered{};
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    outcome = co_await conn.execute("SELECT pg_sleep(30)", {}, result_format::binary, soon(20s));
    answered = hs_clock::now();
  }, asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  asio::steady_timer t(io, 300ms);
  hs_clock::time_point emitted{};
  t.async_wait([&](boost::system::error_code) {
    emitted = hs_clock::now();
    cancel.emit(asio::cancellation_type::terminal);
  });
  io.run();
  io.restart();
  BOOST_REQUIRE(outcome.has_value());
  BOOST_REQUIRE(!*outcome);
  BOOST_TEST(outcome->error().code == make_error_code(errc::cancelled));
  BOOST_TEST((answered - emitted < 100ms));
  BOOST_TEST(conn.needs_recovery());
  BOOST_TEST(statement_ends_within(admin, pid, "pg_sleep", 3s));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    BOOST_TEST(co_await conn.recover(soon(3s)));
    auto ok = co_await conn.execute("SELECT 2", {}, result_format::binary, soon());
    BOOST_REQUIRE(ok);
    BOOST_TEST(ok->integer(0, 0) == 2);
  });
}

// Cancelling before the statement reaches the server sends nothing at all.
BOOST_AUTO_TEST_CASE(a_cancelled_caller_sends_nothing) {
  asio::io_context io(test::io_concurrency_hint());
  storage::pg_connection conn(io.get_executor());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
  });
  asio::cancellation_signal cancel;
  std::optional<storage::db_result<storage::query_result>> outcome;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io, 10s);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled here
    co_await asio::this_coro::throw_if_cancelled(false);
    outcome = co_await conn.execute("SELECT 1", {}, result_format::binary, soon());
  }, asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  BOOST_REQUIRE(outcome.has_value());
  BOOST_TEST(outcome->error().code == make_error_code(errc::cancelled));
  BOOST_TEST(!conn.needs_recovery());
  BOOST_TEST(conn.usable());
}

BOOST_AUTO_TEST_CASE(an_idle_connection_closed_by_the_server_is_detected_without_waiting) {
  asio::io_context io(test::io_concurrency_hint());
  test::sql_session admin;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    BOOST_TEST(conn.check_alive());
    admin.exec("SELECT pg_terminate_backend(" + std::to_string(conn.backend_pid()) + ", 5000)");
    const auto until = hs_clock::now() + 2s;
    while (conn.check_alive() && hs_clock::now() < until) std::this_thread::sleep_for(5ms);
    BOOST_TEST(!conn.is_open());
  });
}

BOOST_AUTO_TEST_CASE(a_server_side_shutdown_of_the_session_is_a_connection_failure) {
  asio::io_context io(test::io_concurrency_hint());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    const auto before = conn.results_received();
    // FATAL 57P01 (admin shutdown) before any result: what a restart looks like.
    auto r = co_await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())", {}, result_format::binary,
                                   soon());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == make_error_code(errc::connection_failed));
    BOOST_TEST(conn.results_received() == before);
    BOOST_TEST(!conn.is_open());
  });
}

// DATABASE_URL with a host name: resolved off the event loop, then connected to
// through hostaddr (libpq's own look-up would block the thread).
BOOST_AUTO_TEST_CASE(a_host_name_is_resolved_and_connected_to) {
  asio::io_context io(test::io_concurrency_hint());
  const std::string url = test::database_url();
  const std::string by_name = url.find("@127.0.0.1") != std::string::npos
                                  ? with_host(url, "127.0.0.1", "localhost")
                                  : url;
  BOOST_REQUIRE(by_name.find("@localhost") != std::string::npos);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    auto opened = co_await conn.connect(by_name, soon());
    BOOST_REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    auto r = co_await conn.execute("SELECT 1", {}, result_format::binary, soon());
    BOOST_TEST(bool(r));
    storage::pg_connection nowhere(io.get_executor());
    auto failed = co_await nowhere.connect("postgresql://postgres@no-such-host.invalid/x", soon(5s));
    BOOST_REQUIRE(!failed);
    BOOST_TEST(failed.error().code == make_error_code(errc::connection_failed));
    BOOST_TEST(failed.error().message.find("no-such-host.invalid") != std::string::npos);
  });
}

// With sslmode=require in the URL (the TLS fixture), the session is encrypted;
// without it, it is not. Either way large results arrive whole: with TLS they span
// many records, and the bytes OpenSSL decrypted ahead of libpq must be read
// before waiting on the socket again, or the read stalls until the deadline.
BOOST_AUTO_TEST_CASE(large_results_arrive_whole_with_or_without_tls) {
  asio::io_context io(test::io_concurrency_hint());
  const bool tls_expected = test::database_url().find("sslmode=require") != std::string::npos;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    BOOST_TEST(conn.tls_in_use() == tls_expected);
    auto ssl = co_await conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {},
                                     result_format::binary, soon());
    BOOST_REQUIRE(ssl);
    BOOST_TEST(ssl->boolean(0, 0) == tls_expected);
    for (int round = 0; round < 20; ++round) {
      const std::string rows = std::to_string(50 + round * 37);
      const std::array<query_param, 1> p{std::string_view(rows)};
      const auto started = hs_clock::now();
      auto r = co_await conn.execute(
          "SELECT i, repeat(md5(i::text), 1 + (i * 7) % 300) FROM generate_series(1, $1::int4) i", p,
          result_format::binary, soon(10s));
      BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      BOOST_TEST(r->rows() == std::stoi(rows));
      for (int i = 0; i < r->rows(); i += 17) BOOST_TEST(r->bytes(i, 1).size() == 32u * (1 + ((i + 1) * 7) % 300));
      BOOST_TEST((hs_clock::now() - started < 2s));  // no stall waiting for bytes already here
    }
  });
}

BOOST_AUTO_TEST_CASE(connecting_to_nothing_fails_cleanly) {
  asio::io_context io(test::io_concurrency_hint());
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
  asio::io_context io(test::io_concurrency_hint());
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
