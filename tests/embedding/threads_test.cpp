// hookstream on one io_context run by four threads, the way gateways run it:
// the pool and handler get a strand (serial_executor.hpp), callers come from
// strands and plain handlers of their own, and every answer must be what the
// single-threaded server would give. scripts/test --tsan runs these with
// ThreadSanitizer.
#include "embedding/embedding_support.hpp"
#include "support/http_client.hpp"

#include <hookstream/server/http_listener.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using hs_clock = storage::clock;

namespace {
std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }
using test::stats_of;
}  // namespace

BOOST_AUTO_TEST_SUITE(four_threads)

BOOST_AUTO_TEST_CASE(the_default_io_context_gives_the_pool_a_strand) {
  test::threaded_io threads(4);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(1));
  BOOST_TEST(!pool.executor().single_threaded());
  server::api_handler api(pool, test::handler_settings());
  BOOST_TEST((api.executor().get() == pool.executor().get()));
}

// 240 requests at once from 240 gateway-style strands, through one handler
// whose pool has 3 connections: every answer is right for its caller's tenant.
BOOST_AUTO_TEST_CASE(one_handler_answers_concurrent_requests_from_many_strands) {
  test::sql_session db;
  const auto a = test::make_tenant(db);
  const auto b = test::make_tenant(db);
  const auto a_ids = test::insert_attempts(db, a, std::vector<test::attempt_spec>(30));
  const auto b_ids = test::insert_attempts(db, b, std::vector<test::attempt_spec>(20));

  test::threaded_io threads(4);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(3));
  auto config = test::handler_settings();
  config.acquire_timeout = 5s;
  // 180 key requests arrive before the first look-up has filled the credential
  // cache, and each look-up in flight holds one unit of the failed-credential
  // budget (refunded when the key proves valid): the default 100 would answer
  // some of them 429, as it would on one thread.
  config.auth_failure_limit.limit = 1000;
  server::api_handler api(pool, config);

  enum kind { a_by_key, b_by_tenant, a_single, b_single_by_a_key };
  std::vector<std::future<std::string>> answers;  // empty = right
  for (int i = 0; i < 240; ++i) {
    const kind k = static_cast<kind>(i % 4);
    answers.push_back(asio::co_spawn(
        asio::make_strand(threads.io()),
        [&, k, i]() -> asio::awaitable<std::string> {
          server::http_response res;
          if (k == a_by_key) {
            const auto req = test::get_request("/v1/delivery-attempts?limit=100", {test::api_key_header(a.api_key)});
            res = co_await api.handle(req);
            if (res.result_int() != 200 || as_set(test::ids_of(res)) != as_set(a_ids)) co_return "A's listing: " + std::to_string(res.result_int()) + " " + res.body().substr(0, 160);
          } else if (k == b_by_tenant) {
            const auto req = test::get_request("/v1/delivery-attempts?limit=100");
            res = co_await api.handle_for_tenant(req, b.id());
            if (res.result_int() != 200 || as_set(test::ids_of(res)) != as_set(b_ids)) co_return "B's listing: " + std::to_string(res.result_int()) + " " + res.body().substr(0, 160);
          } else if (k == a_single) {
            const std::string id = a_ids[static_cast<std::size_t>(i) % a_ids.size()];
            const auto req = test::get_request("/v1/delivery-attempts/" + id, {test::api_key_header(a.api_key)});
            res = co_await api.handle(req);
            if (res.result_int() != 200 ||
                std::string(test::json_of(res).at("delivery_attempt").at("id").as_string()) != id)
              co_return "A's attempt: " + std::to_string(res.result_int()) + " " + res.body().substr(0, 160);
          } else {
            const auto req = test::get_request("/v1/delivery-attempts/" + b_ids[0], {test::api_key_header(a.api_key)});
            res = co_await api.handle(req);
            if (res.result_int() != 404) co_return "B's attempt through A's key: " + std::to_string(res.result_int()) + " " + res.body().substr(0, 160);
          }
          co_return std::string();
        },
        asio::use_future));
  }
  std::map<std::string, int> wrong;
  for (auto& f : answers)
    if (auto w = f.get(); !w.empty()) ++wrong[w];
  for (const auto& [what, n] : wrong) BOOST_ERROR(n << " wrong answers: " << what);
  BOOST_TEST(api.in_flight() == 0u);
  const auto s = stats_of(pool);
  BOOST_TEST(s.connects <= 3u);
  BOOST_TEST(s.in_use == 0u);
}

// The storage API used directly by coroutines on plain handlers of the shared
// io_context (not strands): each call hops onto the pool's strand; connections
// are given back from whichever thread drops them.
BOOST_AUTO_TEST_CASE(the_pool_serves_coroutines_of_any_thread) {
  test::threaded_io threads(4);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(4));
  constexpr int workers = 100;
  std::vector<std::future<bool>> done;
  for (int i = 0; i < workers; ++i) {
    done.push_back(asio::co_spawn(
        threads.io(),
        [&, i]() -> asio::awaitable<bool> {
          const std::string value = std::to_string(i);
          const std::array<storage::query_param, 1> params{std::string_view(value)};
          bool right = true;
          {
            auto conn = co_await pool.acquire(hs_clock::now() + 10s);
            if (!conn) co_return false;
            auto r = co_await (*conn)->execute("SELECT $1::int", params, storage::result_format::text,
                                               hs_clock::now() + 10s);
            right = r && r->bytes(0, 0) == value;
          }  // given back from this thread
          auto again = co_await pool.with_connection(
              [&](storage::pg_connection& c) {
                return c.execute("SELECT $1::int + 1", params, storage::result_format::text, hs_clock::now() + 10s);
              },
              hs_clock::now() + 10s);
          co_return right && again && again->bytes(0, 0) == std::to_string(i + 1);
        },
        asio::use_future));
  }
  int right = 0;
  for (auto& f : done) right += f.get() ? 1 : 0;
  BOOST_TEST(right == workers);
  BOOST_TEST(test::eventually([&] { return stats_of(pool).in_use == 0; }));
  const auto s = stats_of(pool);
  BOOST_TEST(s.acquired == 2u * workers);
  BOOST_TEST(s.connects <= 4u);
  BOOST_TEST(s.idle >= 1u);
  BOOST_TEST(s.idle <= 4u);
}

// A caller on its own strand gives up on a statement that runs on the pool's
// strand: the cancellation crosses threads, the caller hears `cancelled` at once,
// the server-side statement is cancelled and the connection comes back.
BOOST_AUTO_TEST_CASE(cancellation_crosses_from_the_callers_strand_to_the_pools) {
  test::threaded_io threads(4);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(8));
  test::sql_session admin;
  constexpr int calls = 8;
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  std::vector<asio::strand<asio::io_context::executor_type>> callers;
  for (int i = 0; i < calls; ++i) {
    signals.push_back(std::make_unique<asio::cancellation_signal>());
    callers.push_back(asio::make_strand(threads.io()));
  }
  std::vector<std::future<std::pair<bool, hs_clock::duration>>> outcomes;
  const auto started = hs_clock::now();
  for (int i = 0; i < calls; ++i) {
    outcomes.push_back(asio::co_spawn(
        callers[i],
        [&]() -> asio::awaitable<std::pair<bool, hs_clock::duration>> {
          auto r = co_await pool.with_connection(
              [&](storage::pg_connection& c) {
                return c.execute("SELECT pg_sleep(30)", {}, storage::result_format::binary, hs_clock::now() + 40s);
              },
              hs_clock::now() + 10s);
          co_return std::pair{!r && r.error().code == storage::errc::cancelled, hs_clock::now() - started};
        },
        asio::bind_cancellation_slot(signals[i]->slot(), asio::use_future)));
  }
  BOOST_REQUIRE(test::eventually(
      [&] {
        return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND "
                            "state = 'active'") == std::to_string(calls);
      },
      10s));
  const auto cancelled_at = hs_clock::now();
  for (int i = 0; i < calls; ++i)
    asio::post(callers[i], [&, i] { signals[i]->emit(asio::cancellation_type::terminal); });
  for (auto& f : outcomes) {
    const auto [cancelled, at] = f.get();
    BOOST_TEST(cancelled);
    BOOST_TEST((started + at - cancelled_at < 1s));  // at once, not after 30 s
  }
  BOOST_TEST(test::eventually(
      [&] {
        return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND "
                            "state = 'active'") == "0";
      },
      5s));
  BOOST_TEST(test::eventually([&] { return stats_of(pool).recovered == calls; }, 5s));
}

// hookstream's own listener on the shared io_context: clients on 8 threads,
// keep-alive, all answers right; then a shutdown begun from a foreign thread
// drains it, the pool closes, and the io_context's threads run out of work.
BOOST_AUTO_TEST_CASE(the_listener_serves_from_four_threads_and_drains_from_any) {
  test::sql_session db;
  const auto a = test::make_tenant(db);
  const auto a_ids = test::insert_attempts(db, a, std::vector<test::attempt_spec>(12));

  test::threaded_io threads(4);
  storage::connection_pool pool(threads.io().get_executor(), test::pool_settings(3));
  server::api_handler api(pool, test::handler_settings());
  server::http_listener listener(threads.io(), {asio::ip::make_address("127.0.0.1"), 0}, api, {}, false);
  BOOST_TEST((listener.executor().get() == api.executor().get()));  // same io_context: no hop per request
  listener.start();

  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      test::http_client client(listener.port());
      for (int i = 0; i < 25; ++i) {
        auto r = client.get("/v1/delivery-attempts?limit=100", {test::api_key_header(a.api_key)});
        const bool ok = r.status == 200u && r.json().at("pagination").at("total").as_int64() == 12;
        (ok ? right : wrong)++;
      }
    });
  for (auto& t : clients) t.join();
  BOOST_TEST(right.load() == 200);
  BOOST_TEST(wrong.load() == 0);

  std::promise<void> drained;
  listener.begin_shutdown([&] {
    pool.close();
    drained.set_value();
  });
  BOOST_REQUIRE((drained.get_future().wait_for(5s) == std::future_status::ready));
  BOOST_TEST(listener.open_connections() == 0u);
  threads.join();  // returns: nothing is left to run
  BOOST_TEST(pool.stats().idle == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
