// Shared loans against a real PostgreSQL: several readers on one connection,
// their statements pipelined (connection_pool.hpp, "Shared loans";
// pg_connection.hpp, "Shared use"). Each caller gets its own answer, an error
// fails its caller alone, a caller past its deadline leaves the others
// answered, abandoned statements are cancelled when the last borrower leaves,
// and a lost connection fails every caller, whose reads then run again.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/connection_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;
using storage::errc;
using storage::loan;
using storage::result_format;

namespace {
storage::pool_config config(std::size_t size, std::size_t depth) {
  storage::pool_config c;
  c.conninfo = test::database_url();
  c.max_size = size;
  c.pipeline_depth = depth;
  return c;
}
auto soon(std::chrono::milliseconds d = 10s) { return hs_clock::now() + d; }

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// A reader of its own: a coroutine on `io` that takes a shared loan of `pool`
// and runs `body(pg_connection&)` (an awaitable<void>) on it.
template <class Body>
void spawn_reader(asio::io_context& io, storage::connection_pool& pool, Body body) {
  asio::co_spawn(
      io,
      [&pool, body = std::move(body)]() mutable -> asio::awaitable<void> {
        auto c = co_await pool.acquire(soon(), loan::shared);
        BOOST_TEST(static_cast<bool>(c));
        if (!c) co_return;
        BOOST_TEST(c->shared());
        co_await body(**c);
      },
      asio::detached);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(shared_loans)

// Four readers on a pool of one connection, depth 4: all four hold it at once,
// four statements are outstanding on it together, and each reader gets its own
// values back, statement after statement.
BOOST_AUTO_TEST_CASE(readers_share_one_connection_and_each_gets_its_own_answers) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  std::vector<int> mismatches(4, 0), answered(4, 0);
  std::vector<std::int64_t> pids(4, 0);
  std::size_t most_outstanding = 0;
  storage::pg_connection* seen = nullptr;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    for (int reader = 0; reader < 4; ++reader) {
      spawn_reader(io, pool, [&, reader](storage::pg_connection& c) -> asio::awaitable<void> {
        seen = &c;
        // The first statement runs long enough for all four to be queued behind one another.
        auto first = co_await c.execute("SELECT pg_backend_pid(), pg_sleep(0.1)", {}, result_format::binary, soon());
        if (first) pids[reader] = first->integer(0, 0);
        for (int i = 0; i < 50; ++i) {
          const std::string value = std::to_string(reader * 1000 + i);
          const std::array<storage::query_param, 1> params{std::string_view(value)};
          auto r = co_await c.execute("SELECT $1::int8 * 2", params, result_format::binary, soon());
          if (!r || r->integer(0, 0) != 2 * (reader * 1000 + i)) ++mismatches[reader];
          else ++answered[reader];
        }
      });
    }
    // Watches the connection while the first statements run.
    for (int i = 0; i < 100 && most_outstanding < 4; ++i) {
      co_await sleep_for(5ms);
      if (seen) most_outstanding = std::max(most_outstanding, seen->outstanding());
    }
  });
  BOOST_TEST(most_outstanding == 4u);
  for (int reader = 0; reader < 4; ++reader) {
    BOOST_TEST_CONTEXT("reader " << reader) {
      BOOST_TEST(mismatches[reader] == 0);
      BOOST_TEST(answered[reader] == 50);
      BOOST_TEST(pids[reader] == pids[0]);
    }
  }
  const auto s = pool.stats();
  BOOST_TEST(s.connects == 1u);
  BOOST_TEST(s.acquired == 4u);
  BOOST_TEST(s.joined == 3u);
  BOOST_TEST(s.idle == 1u);  // all gone: back among the idle connections, out of pipeline mode
}

// Exclusive loans never share: with the only connection lent for sharing, an
// exclusive acquire waits (here past its deadline), and with it lent
// exclusively, a shared acquire waits too. Depth 1 shares nothing.
BOOST_AUTO_TEST_CASE(exclusive_loans_are_never_shared_and_depth_one_shares_nothing) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  storage::connection_pool unshared(io.get_executor(), config(1, 1));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    {
      auto reader = co_await pool.acquire(soon(), loan::shared);
      BOOST_REQUIRE(reader);
      auto exclusive = co_await pool.acquire(soon(100ms));
      BOOST_REQUIRE(!exclusive);
      BOOST_TEST(exclusive.error().code == make_error_code(errc::acquire_timeout));
      auto second_reader = co_await pool.acquire(soon(), loan::shared);
      BOOST_REQUIRE(second_reader);
      BOOST_TEST(&**second_reader == &**reader);
    }
    {
      auto exclusive = co_await pool.acquire(soon());
      BOOST_REQUIRE(exclusive);
      BOOST_TEST(!exclusive->shared());
      auto reader = co_await pool.acquire(soon(100ms), loan::shared);
      BOOST_REQUIRE(!reader);
      BOOST_TEST(reader.error().code == make_error_code(errc::acquire_timeout));
    }
    {
      auto reader = co_await unshared.acquire(soon(), loan::shared);
      BOOST_REQUIRE(reader);
      BOOST_TEST(!reader->shared());
      auto second_reader = co_await unshared.acquire(soon(100ms), loan::shared);
      BOOST_REQUIRE(!second_reader);
      BOOST_TEST(second_reader.error().code == make_error_code(errc::acquire_timeout));
    }
  });
  BOOST_TEST(pool.stats().joined == 1u);
  BOOST_TEST(unshared.stats().joined == 0u);
}

// A statement that fails (a division by zero, a statement that cannot be
// prepared) fails its own caller only; the others queued around it are
// answered, a statement whose prepare failed fails the same way next time (its
// name is forgotten), and the connection goes on.
BOOST_AUTO_TEST_CASE(an_error_fails_its_own_caller_alone) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  std::vector<std::string> outcomes(4);
  const char* const statements[4] = {"SELECT 1::int8 FROM pg_sleep(0.05)", "SELECT 1 / 0", "SELECT no_such_column",
                                     "SELECT 4::int8"};
  test::run_on(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 4; ++i) {
      spawn_reader(io, pool, [&, i](storage::pg_connection& c) -> asio::awaitable<void> {
        for (int round = 0; round < 2; ++round) {
          auto r = co_await c.execute(statements[i], {}, result_format::binary, soon());
          outcomes[i] += r ? "ok " + std::to_string(r->integer(0, 0)) + ";" : r.error().sqlstate + ";";
        }
      });
    }
    co_return;
  });
  BOOST_TEST(outcomes[0] == "ok 1;ok 1;");
  BOOST_TEST(outcomes[1] == "22012;22012;");  // division_by_zero
  BOOST_TEST(outcomes[2] == "42703;42703;");  // undefined_column, not "prepared statement does not exist"
  BOOST_TEST(outcomes[3] == "ok 4;ok 4;");
  BOOST_TEST(pool.stats().connects == 1u);
  BOOST_TEST(pool.stats().dropped == 0u);
}

// A statement new to the connection is prepared in its caller's unit. When
// that prepare fails (here: statement_timeout while it waits for a lock), a
// caller that sent the same statement meanwhile is not failed by it: until
// the first prepare is answered, each unit prepares the statement itself.
BOOST_AUTO_TEST_CASE(a_failed_prepare_does_not_fail_a_later_caller_of_the_same_statement) {
  test::sql_session admin;
  admin.exec("DROP TABLE IF EXISTS shared_loans_locked; CREATE TABLE shared_loans_locked (x int)");
  asio::io_context io(test::io_concurrency_hint());
  auto cfg = config(1, 4);
  cfg.statement_timeout = 300ms;
  storage::connection_pool pool(io.get_executor(), cfg);
  std::vector<std::string> outcomes(2);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    {
      auto c = co_await pool.acquire(soon(), loan::shared);  // connected before the lock
      BOOST_REQUIRE(c);
    }
    admin.exec("BEGIN; LOCK TABLE shared_loans_locked IN ACCESS EXCLUSIVE MODE");
    for (int i = 0; i < 2; ++i) {
      spawn_reader(io, pool, [&, i](storage::pg_connection& c) -> asio::awaitable<void> {
        if (i == 1) co_await sleep_for(50ms);
        auto r = co_await c.execute("SELECT count(*) FROM shared_loans_locked", {}, result_format::binary, soon());
        outcomes[i] = r ? "ok " + std::to_string(r->integer(0, 0)) : r.error().sqlstate;
      });
    }
    co_await sleep_for(450ms);
    admin.exec("COMMIT");
  });
  admin.exec("DROP TABLE shared_loans_locked");
  BOOST_TEST(outcomes[0] == "57014");  // query_canceled: statement_timeout
  BOOST_TEST(outcomes[1] == "ok 0");
}

// A caller whose deadline passes stops waiting at once, while the statement
// sent after its own is still answered to its caller; the abandoned results are
// read and dropped, and the connection is reused without a recovery.
BOOST_AUTO_TEST_CASE(a_caller_past_its_deadline_leaves_the_others_answered) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  std::optional<storage::db_error> impatient_error;
  std::optional<std::int64_t> patient_answer;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto impatient = co_await pool.acquire(soon(), loan::shared);
    auto patient = co_await pool.acquire(soon(), loan::shared);
    BOOST_REQUIRE(impatient);
    BOOST_REQUIRE(patient);
    asio::co_spawn(
        io,
        [&, c = std::move(*impatient)]() mutable -> asio::awaitable<void> {
          auto r = co_await c->execute("SELECT 1::int8 FROM pg_sleep(0.4)", {}, result_format::binary, soon(100ms));
          if (!r) impatient_error = r.error();
          c = {};
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&, c = std::move(*patient)]() mutable -> asio::awaitable<void> {
          co_await sleep_for(20ms);  // sent after the impatient one
          auto r = co_await c->execute("SELECT 2::int8", {}, result_format::binary, soon());
          if (r) patient_answer = r->integer(0, 0);
          c = {};
        },
        asio::detached);
    co_return;
  });
  BOOST_REQUIRE(impatient_error);
  BOOST_TEST(impatient_error->code == make_error_code(errc::query_timeout));
  BOOST_REQUIRE(patient_answer);
  BOOST_TEST(*patient_answer == 2);
  const auto s = pool.stats();
  BOOST_TEST(s.recoveries == 0u);
  BOOST_TEST(s.idle == 1u);
  BOOST_TEST(s.connects == 1u);
}

// When the last borrower leaves with abandoned statements still outstanding,
// they are cancelled on the server, each in turn (one cancel request stops
// only the statement running when it lands; the second one here would
// otherwise sleep on past the pool's cancel_timeout), and the connection is
// recovered, then reused.
BOOST_AUTO_TEST_CASE(abandoned_statements_are_cancelled_when_the_last_borrower_leaves) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  test::sql_session admin;
  std::int64_t pid = 0;
  std::vector<std::string> outcomes(2);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    {
      auto c = co_await pool.acquire(soon(), loan::shared);
      BOOST_REQUIRE(c);
      auto p = co_await (*c)->execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
      BOOST_REQUIRE(p);
      pid = p->integer(0, 0);
    }
    for (int i = 0; i < 2; ++i) {
      spawn_reader(io, pool, [&, i](storage::pg_connection& c) -> asio::awaitable<void> {
        auto r = co_await c.execute("SELECT 1::int8 FROM pg_sleep(30)", {}, result_format::binary, soon(200ms));
        outcomes[i] = r ? "answered" : r.error().code.message();
        if (i == 1) outcomes[i] += " outstanding " + std::to_string(c.outstanding());
      });
    }
    co_return;
  });
  BOOST_TEST(outcomes[0] == make_error_code(errc::query_timeout).message());
  BOOST_TEST(outcomes[1] == make_error_code(errc::query_timeout).message() + " outstanding 2");
  const auto s = pool.stats();
  BOOST_TEST(s.recoveries == 1u);
  BOOST_TEST(s.recovered == 1u);
  BOOST_TEST(s.connects == 1u);
  // Nothing of it runs on the server any more, and the connection is reused.
  BOOST_TEST(admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' "
                          "AND pid <> pg_backend_pid()").value_or("none") == "0");
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto c = co_await pool.acquire(soon(), loan::shared);
    BOOST_REQUIRE(c);
    auto r = co_await (*c)->execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
    BOOST_REQUIRE(r);
    BOOST_TEST(r->integer(0, 0) == pid);
  });
}

// A connection with as many statements outstanding as the depth takes no new
// reader, though it has room among its borrowers: abandoned statements that
// are stuck there would hold up whatever joined.
BOOST_AUTO_TEST_CASE(a_connection_with_the_depth_outstanding_takes_no_new_reader) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 2));
  test::run_on(io, [&]() -> asio::awaitable<void> {
    {
      auto stuck = co_await pool.acquire(soon(), loan::shared);
      BOOST_REQUIRE(stuck);
      for (int i = 0; i < 2; ++i) {
        auto r = co_await (*stuck)->execute("SELECT 1::int8 FROM pg_sleep(30)", {}, result_format::binary,
                                            soon(100ms));
        BOOST_REQUIRE(!r);
      }
      BOOST_TEST((*stuck)->outstanding() == 2u);
      auto reader = co_await pool.acquire(soon(100ms), loan::shared);
      BOOST_REQUIRE(!reader);
      BOOST_TEST(reader.error().code == make_error_code(errc::acquire_timeout));
    }
    // Given back: both cancelled, the connection recovered and lent again.
    auto reader = co_await pool.acquire(soon(), loan::shared);
    BOOST_REQUIRE(reader);
    auto r = co_await (*reader)->execute("SELECT 5::int8", {}, result_format::binary, soon());
    BOOST_REQUIRE(r);
    BOOST_TEST(r->integer(0, 0) == 5);
  });
  BOOST_TEST(pool.stats().recovered == 1u);
  BOOST_TEST(pool.stats().joined == 0u);
}

// The same without the pool's retry: every caller on the lost connection hears
// why it was lost (libpq's message, the one the reading caller got), not only
// that the connection was closed.
BOOST_AUTO_TEST_CASE(every_caller_on_a_lost_connection_hears_why) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(1, 4));
  test::sql_session admin;
  std::int64_t pid = 0;
  std::vector<std::optional<storage::db_error>> errors(4);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    for (int reader = 0; reader < 4; ++reader) {
      spawn_reader(io, pool, [&, reader](storage::pg_connection& c) -> asio::awaitable<void> {
        pid = c.backend_pid();
        auto r = co_await c.execute("SELECT pg_sleep(0.5)", {}, result_format::binary, soon());
        if (!r) errors[reader] = r.error();
      });
    }
    co_await sleep_for(100ms);
    admin.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
    for (int i = 0; i < 200 && !errors[3]; ++i) co_await sleep_for(5ms);
  });
  BOOST_TEST(pid != 0);
  for (int reader = 0; reader < 4; ++reader) {
    BOOST_TEST_CONTEXT("reader " << reader) {
      BOOST_REQUIRE(errors[reader].has_value());
      BOOST_TEST((errors[reader]->code == errc::connection_failed));
      BOOST_TEST(errors[reader]->message.find("the connection was closed") == std::string::npos);
      BOOST_TEST(errors[reader]->message == errors[0]->message);
    }
  }
}

// The server ends the session while four readers share it: every one hears
// `connection_failed` at once (not at its deadline), and with_connection runs
// each read once more, on a new connection.
BOOST_AUTO_TEST_CASE(a_lost_connection_fails_every_caller_and_their_reads_run_again) {
  asio::io_context io(test::io_concurrency_hint());
  storage::connection_pool pool(io.get_executor(), config(2, 4));
  test::sql_session admin;
  std::int64_t pid = 0;
  std::vector<std::string> outcomes(4);
  std::vector<int> runs(4, 0);
  test::run_on(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 4; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            auto r = co_await pool.with_connection(
                [&, i](storage::pg_connection& c) -> asio::awaitable<storage::db_result<storage::query_result>> {
                  ++runs[i];
                  if (i == 0 && runs[i] == 1) {
                    auto p = co_await c.execute("SELECT pg_backend_pid()", {}, result_format::binary, soon());
                    if (p) pid = p->integer(0, 0);
                  }
                  co_return co_await c.execute("SELECT pg_backend_pid() FROM pg_sleep(0.5)", {},
                                               result_format::binary, soon());
                },
                soon(), loan::shared);
            outcomes[i] = r ? (r->integer(0, 0) != pid ? "new" : "same") : r.error().message;
          },
          asio::detached);
    }
    // Every reader on the connection first (on a busy machine, under ctest -j,
    // the last ones can take longer than the first one's pid), then a moment
    // for their statements to leave.
    const auto all_started = [&] { return std::all_of(runs.begin(), runs.end(), [](int n) { return n > 0; }); };
    for (int i = 0; i < 400 && (pid == 0 || !all_started()); ++i) co_await sleep_for(5ms);
    co_await sleep_for(50ms);
    admin.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
  });
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST_CONTEXT("reader " << i) {
      BOOST_TEST(outcomes[i] == "new");
      BOOST_TEST(runs[i] == 2);
    }
  }
  BOOST_TEST(pool.stats().retries == 4u);
}

BOOST_AUTO_TEST_SUITE_END()
