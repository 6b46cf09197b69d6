// What the public headers promise about lifetimes and shutdown order, each
// exercised with requests really in flight (held on a table lock) on an
// io_context run by several threads:
//  - api_handler.hpp: the handler may be destroyed while requests are in
//    flight (they finish normally); closing the pool first answers waiting
//    requests 503 at once; stopping the io_context abandons requests and the
//    objects can then be destroyed in the documented order;
//  - http_listener.hpp: the mounted handler may go before the listener's
//    connections end;
//  - connection_pool.hpp: a loaned connection outlives the pool object; waiters
//    of a destroyed pool hear pool_closed.
#include "embedding/embedding_support.hpp"
#include "support/http_client.hpp"

#include <hookstream/server/http_listener.hpp>

#include <boost/test/unit_test.hpp>

#include <future>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;

namespace {
// Holds delivery_attempts locked until release(): listings wait on it in the
// database, with their connections busy.
struct table_lock {
  table_lock() { session.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE"); }
  ~table_lock() { release(); }
  void release() {
    if (held) session.exec("ROLLBACK");
    held = false;
  }
  // Backends of the test database waiting on a lock right now. Asked on a
  // session of its own: inside the locking transaction pg_stat_activity is
  // one snapshot, taken at its first read.
  std::vector<std::string> waiting_pids() {
    return observer.column("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                          "current_database()");
  }
  test::sql_session session;
  test::sql_session observer;
  bool held = true;
};

server::handler_config patient_settings() {
  auto c = test::handler_settings();
  c.acquire_timeout = 10s;
  c.request_timeout = 20s;
  return c;
}

std::future<server::http_response> list_for(test::threaded_io& threads, server::api_handler& api,
                                            const storage::tenant_id& tenant) {
  return asio::co_spawn(
      asio::make_strand(threads.io()),
      [&api, tenant]() -> asio::awaitable<server::http_response> {
        const auto req = test::get_request("/v1/delivery-attempts?limit=100");
        co_return co_await api.handle_for_tenant(req, tenant);
      },
      asio::use_future);
}

bool ready_within(std::future<server::http_response>& f, std::chrono::milliseconds limit) {
  return f.wait_for(limit) == std::future_status::ready;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(lifetimes)

BOOST_AUTO_TEST_CASE(the_handler_may_be_destroyed_while_requests_are_in_flight) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  const auto ids = test::insert_attempts(db, t, std::vector<test::attempt_spec>(5));
  test::threaded_io threads(3);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(2));
  auto api = std::make_unique<server::api_handler>(pool, patient_settings());

  table_lock lock;
  std::vector<std::future<server::http_response>> answers;
  for (int i = 0; i < 6; ++i) answers.push_back(list_for(threads, *api, t.id()));
  BOOST_REQUIRE(test::eventually([&] { return api->in_flight() == 6u; }));
  BOOST_REQUIRE(test::eventually([&] { return lock.waiting_pids().size() == 2u; }));  // both connections busy
  api.reset();
  lock.release();
  for (auto& f : answers) {
    BOOST_REQUIRE(ready_within(f, 10s));
    const auto res = f.get();
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(test::ids_of(res).size() == ids.size());
  }
}

BOOST_AUTO_TEST_CASE(closing_the_pool_first_answers_waiting_requests_at_once) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  test::insert_attempts(db, t, {{}});
  test::threaded_io threads(3);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(1));
  server::api_handler api(pool, patient_settings());

  table_lock lock;
  auto running = list_for(threads, api, t.id());
  BOOST_REQUIRE(test::eventually([&] { return lock.waiting_pids().size() == 1u; }));
  std::vector<std::future<server::http_response>> waiting;
  for (int i = 0; i < 4; ++i) waiting.push_back(list_for(threads, api, t.id()));
  BOOST_REQUIRE(test::eventually([&] { return api.in_flight() == 5u; }));

  pool.close();  // from this thread: posted to the pool's strand
  for (auto& f : waiting) {
    BOOST_REQUIRE(ready_within(f, 1s));  // not their 10 s acquire deadline
    const auto res = f.get();
    BOOST_TEST(res.result_int() == 503u);
    BOOST_TEST(res["Retry-After"] == "1");
    test::check_error_body(res);
  }
  BOOST_TEST(!ready_within(running, 100ms));  // its statement still waits on the lock
  lock.release();
  BOOST_REQUIRE(ready_within(running, 10s));
  BOOST_TEST(running.get().result_int() == 200u);  // a running statement finishes

  auto late = list_for(threads, api, t.id());
  BOOST_REQUIRE(ready_within(late, 1s));
  BOOST_TEST(late.get().result_int() == 503u);
  threads.join();                      // nothing left to run: the pool holds no timer, no wait
  BOOST_TEST(pool.stats().idle == 0u);  // the connection that came back was closed
}

// The abandon order: the io_context stops with requests in flight (a hard
// stop past a grace period), then handler, pool and io_context are destroyed,
// in that order. Nothing crashes or leaks (the sanitizer builds run this), and
// the database connections are closed.
BOOST_AUTO_TEST_CASE(stopping_the_io_context_with_requests_in_flight_then_destroying_everything) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  test::insert_attempts(db, t, {{}});
  auto threads = std::make_unique<test::threaded_io>(3);
  auto pool = std::make_unique<storage::connection_pool>(threads->io().get_executor(), test::pool_settings(2));
  auto api = std::make_unique<server::api_handler>(*pool, patient_settings());

  table_lock lock;
  std::vector<std::future<server::http_response>> answers;
  for (int i = 0; i < 5; ++i) answers.push_back(list_for(*threads, *api, t.id()));
  // The two pids of the check, not of a second look that may see another set.
  std::vector<std::string> pids;
  BOOST_REQUIRE(test::eventually([&] {
    pids = lock.waiting_pids();
    return pids.size() == 2u;
  }));

  threads->stop_and_join();
  api.reset();
  pool.reset();
  threads.reset();  // destroys the abandoned requests' frames, their connections with them
  for (auto& f : answers) BOOST_CHECK_THROW(f.get(), std::future_error);  // abandoned: never answered
  lock.release();
  test::sql_session admin;
  BOOST_TEST(test::eventually(
      [&] {
        return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + pids[0] + "," + pids[1] + ")") ==
               "0";
      },
      5s));
}

// The same abandon order with requests waiting for a place at the admission
// gate (2 places, 5 requests): the gate holds those requests' coroutines, which
// hold the handler's state, which holds the gate; the io_context's end ends
// them too, so all five are abandoned, none left hanging.
BOOST_AUTO_TEST_CASE(stopping_the_io_context_with_requests_waiting_for_a_place_then_destroying_everything) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  test::insert_attempts(db, t, {{}});
  auto threads = std::make_unique<test::threaded_io>(3);
  auto pool = std::make_unique<storage::connection_pool>(threads->io().get_executor(), test::pool_settings(2));
  auto settings = patient_settings();
  settings.active_requests_per_connection = 1;
  auto api = std::make_unique<server::api_handler>(*pool, settings);

  table_lock lock;
  std::vector<std::future<server::http_response>> answers;
  for (int i = 0; i < 5; ++i) answers.push_back(list_for(*threads, *api, t.id()));
  BOOST_REQUIRE(test::eventually([&] { return lock.waiting_pids().size() == 2u && api->in_flight() == 5u; }));

  threads->stop_and_join();
  api.reset();
  pool.reset();
  threads.reset();
  for (auto& f : answers) {
    BOOST_REQUIRE((f.wait_for(5s) == std::future_status::ready));  // not left hanging
    BOOST_CHECK_THROW(f.get(), std::future_error);                  // abandoned: never answered
  }
  lock.release();
}

BOOST_AUTO_TEST_CASE(the_listener_keeps_its_handler_alive_for_its_connections) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  test::insert_attempts(db, t, std::vector<test::attempt_spec>(3));
  test::threaded_io threads(3);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(2));
  auto api = std::make_unique<server::api_handler>(pool, patient_settings());
  server::http_listener listener(threads.io(), {asio::ip::make_address("127.0.0.1"), 0}, *api, {}, false);
  listener.start();

  table_lock lock;
  auto answer = std::async(std::launch::async, [&] {
    test::http_client client(listener.port());
    return client.get("/v1/delivery-attempts", {test::api_key_header(t.api_key)});
  });
  BOOST_REQUIRE(test::eventually([&] { return lock.waiting_pids().size() == 1u; }));
  api.reset();  // the request in flight holds the handler's state
  lock.release();
  const auto res = answer.get();
  BOOST_TEST(res.status == 200u);
  BOOST_TEST(res.json().at("pagination").at("total").as_int64() == 3);

  std::promise<void> drained;
  listener.begin_shutdown([&] {
    pool.close();
    drained.set_value();
  });
  BOOST_TEST((drained.get_future().wait_for(5s) == std::future_status::ready));
}

BOOST_AUTO_TEST_CASE(a_loaned_connection_outlives_the_pool_object) {
  test::threaded_io threads(2);
  auto pool = std::make_unique<storage::connection_pool>(threads.io().get_executor(), test::pool_settings(2));
  auto conn = threads.run([&]() -> asio::awaitable<storage::pooled_connection> {
    auto c = co_await pool->acquire(hs_clock::now() + 10s);
    BOOST_REQUIRE(c);
    co_return std::move(*c);
  });
  const int pid = conn->backend_pid();
  pool.reset();  // the loaned connection keeps the pool's state
  const bool worked = threads.run([&]() -> asio::awaitable<bool> {
    auto r = co_await conn->execute("SELECT 1", {}, storage::result_format::binary, hs_clock::now() + 10s);
    co_return static_cast<bool>(r);
  });
  BOOST_TEST(worked);
  conn = storage::pooled_connection{};  // given back to a closed pool: closed
  test::sql_session admin;
  BOOST_TEST(test::eventually(
      [&] { return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)) == "0"; }));
}

BOOST_AUTO_TEST_CASE(waiters_of_a_destroyed_pool_hear_pool_closed) {
  test::threaded_io threads(2);
  auto pool = std::make_unique<storage::connection_pool>(threads.io().get_executor(), test::pool_settings(1));
  auto held = threads.run([&]() -> asio::awaitable<storage::pooled_connection> {
    auto c = co_await pool->acquire(hs_clock::now() + 10s);
    BOOST_REQUIRE(c);
    co_return std::move(*c);
  });
  auto waiter = asio::co_spawn(
      asio::make_strand(threads.io()),
      [p = pool.get()]() -> asio::awaitable<storage::db_result<storage::pooled_connection>> {
        co_return co_await p->acquire(hs_clock::now() + 10s);
      },
      asio::use_future);
  BOOST_REQUIRE(test::eventually([&] { return test::stats_of(*pool).waiting == 1u; }));
  pool.reset();
  BOOST_REQUIRE((waiter.wait_for(1s) == std::future_status::ready));
  const auto r = waiter.get();
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == make_error_code(storage::errc::pool_closed));
}

BOOST_AUTO_TEST_SUITE_END()
