// route_name_cache against a real PostgreSQL: names come from their tables for
// the page's tenant only, a hot page costs no look-up, changes show within the
// TTL, a page that asks renews its routes past half their TTL, and the cache
// stays within its capacity (its tenants' numbers too, never given twice).
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_event_log.hpp>
#include <hookstream/storage/route_name_cache.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

auto soon() { return storage::clock::now() + 10s; }

// Reads the tenant's first page and names it with `cache`; returns
// "connection name|destination name" per row ("-" for null).
std::vector<std::string> named_page(storage::route_name_cache& cache, const test::test_tenant& t) {
  asio::io_context io(test::io_concurrency_hint());
  return test::run_on(io, [&]() -> asio::awaitable<std::vector<std::string>> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    storage::page_request req;
    auto page = co_await storage::list_attempts(conn, t.id(), req, soon());
    BOOST_REQUIRE(page);
    auto named = co_await cache.resolve(conn, t.id(), page->rows, soon());
    BOOST_REQUIRE(named);
    std::vector<std::string> out;
    for (int i = 0; i < page->rows.size(); ++i) {
      const auto a = page->rows[i];
      out.push_back(std::string(a.connection_name.value_or("-")) + "|" +
                    std::string(a.destination_name.value_or("-")));
    }
    co_return out;
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(route_name_cache)

BOOST_AUTO_TEST_CASE(names_come_from_the_tenants_own_routes_and_a_hot_page_asks_nothing) {
  test::sql_session db;
  auto mine = test::make_tenant(db);
  auto other = test::make_tenant(db);
  // The other tenant has a connection with the very id my attempts point at,
  // under another name, and one id only it knows.
  db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES ('conn_shared_" + mine.env_id + "', " +
          test::quote(other.org_id) + ", " + test::quote(other.env_id) + ", 'Theirs')");
  db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES ('conn_shared_" + mine.env_id + "_mine', " +
          test::quote(mine.org_id) + ", " + test::quote(mine.env_id) + ", 'Mine')");
  test::insert_attempts(db, mine,
                        {{.connection_id = "conn_shared_" + mine.env_id + "_mine", .created_at = "2026-11-28 10:00+00"},
                         {.connection_id = "conn_shared_" + mine.env_id, .created_at = "2026-11-28 09:00+00"},
                         {.created_at = "2026-11-28 08:00+00"}});

  storage::route_name_cache cache;
  const auto first = named_page(cache, mine);
  BOOST_TEST(first == (std::vector<std::string>{"Mine|Destination A", "-|Destination A",
                                                "Connection A|Destination A"}),
             boost::test_tools::per_element());
  BOOST_TEST(cache.queries() == 1u);  // one query named the whole page

  const auto again = named_page(cache, mine);
  BOOST_TEST(again == first, boost::test_tools::per_element());
  BOOST_TEST(cache.queries() == 1u);  // all from the cache
}

// The live tail names rows of every tenant at once: rows of two tenants whose
// connections share an id each get their own tenant's name, the first time
// (from the database) and the second (from the cache, and from what earlier
// rows of the same batch found).
BOOST_AUTO_TEST_CASE(rows_of_several_tenants_are_named_each_within_their_own_tenant) {
  test::sql_session db;
  const auto a = test::make_tenant(db), b = test::make_tenant(db);
  const std::string shared = "conn_same_" + a.env_id;
  for (const auto* t : {&a, &b})
    db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES (" + test::quote(shared) + ", " +
            test::quote(t->org_id) + ", " + test::quote(t->env_id) + ", " + test::quote("Named in " + t->env_id) + ")");
  storage::route_name_cache cache;
  asio::io_context io(test::io_concurrency_hint());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    const auto start = co_await storage::read_event_horizon(conn, soon());
    BOOST_REQUIRE(start);
    for (int i = 0; i < 6; ++i) test::insert_attempts(db, i % 2 ? b : a, {{.connection_id = shared}});
    for (int round = 0; round < 2; ++round) {
      // The log shows an event once no older transaction of the cluster is
      // open (attempt_event_log.hpp): another test's open transaction, in
      // another database of the same cluster, holds the six back for a while.
      auto read = co_await storage::read_events(conn, *start, {}, soon());
      asio::steady_timer pause(io);
      const auto until = storage::clock::now() + 8s;
      while (read && read->rows.size() < 6 && storage::clock::now() < until) {
        pause.expires_after(20ms);
        co_await pause.async_wait(asio::use_awaitable);
        read = co_await storage::read_events(conn, *start, {}, soon());
      }
      BOOST_REQUIRE(read);
      BOOST_REQUIRE_EQUAL(read->rows.size(), 6);
      BOOST_REQUIRE(co_await cache.resolve_each_tenant(conn, read->rows, soon()));
      for (int i = 0; i < 6; ++i) {
        const auto row = read->rows[i];
        BOOST_TEST(std::string(row.connection_name.value_or("-")) == "Named in " + std::string(row.env_id),
                   "round " << round << ", row " << i);
      }
    }
  });
  BOOST_TEST(cache.queries() == 2u);  // one per tenant, the first round only
}

// A page with many routes, interleaved and repeated, names every row with its
// own route's name, from the database and then from the cache.
BOOST_AUTO_TEST_CASE(a_page_with_many_interleaved_routes_names_every_row_right) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  constexpr int routes = 7;
  std::vector<test::attempt_spec> rows;
  std::vector<std::string> expected;
  for (int r = 0; r < routes; ++r)
    db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES ('conn_many_" + std::to_string(r) + "_" +
            t.env_id + "', " + test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'Route " +
            std::to_string(r) + "')");
  // Newest first on the page: row i uses route (i * 3) % 7 and every fifth row
  // goes back to route 0; destinations alternate.
  for (int i = 0; i < 40; ++i) {
    const int r = i % 5 == 4 ? 0 : (i * 3) % routes;
    char at[32];
    std::snprintf(at, sizeof at, "2026-11-28 08:%02d:00+00", 59 - i);
    rows.push_back({.connection_id = "conn_many_" + std::to_string(r) + "_" + t.env_id,
                    .destination_id = t.destination_ids[i % 2],
                    .created_at = at});
    expected.push_back("Route " + std::to_string(r) + "|Destination " + (i % 2 ? "B" : "A"));
  }
  test::insert_attempts(db, t, rows);
  storage::route_name_cache cache;
  BOOST_TEST(named_page(cache, t) == expected, boost::test_tools::per_element());
  BOOST_TEST(cache.queries() == 1u);
  BOOST_TEST(named_page(cache, t) == expected, boost::test_tools::per_element());
  BOOST_TEST(cache.queries() == 1u);
}

BOOST_AUTO_TEST_CASE(renames_and_deletions_show_within_the_ttl) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  test::insert_attempts(db, t, {{}});
  storage::route_name_cache cache({.capacity = 100, .ttl = 300ms});
  BOOST_TEST(named_page(cache, t).at(0) == "Connection A|Destination A");

  db.exec("UPDATE connections SET name = 'Renamed' WHERE id = " + test::quote(t.connection_ids[0]));
  db.exec("DELETE FROM destinations WHERE id = " + test::quote(t.destination_ids[0]));
  // Within the TTL the cache still answers (that is the trade)...
  BOOST_TEST(named_page(cache, t).at(0) == "Connection A|Destination A");
  std::this_thread::sleep_for(350ms);
  // ...after it, the rename shows and the deleted destination reads null.
  BOOST_TEST(named_page(cache, t).at(0) == "Renamed|-");
}

// A page that asks anyway renews its routes past half their TTL (and shows
// what it read); a page the cache answers whole asks nothing, however old.
BOOST_AUTO_TEST_CASE(a_page_that_asks_renews_its_routes_past_half_their_ttl) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  test::insert_attempts(db, t, {{.created_at = "2026-11-28 08:00+00"}});
  storage::route_name_cache cache({.capacity = 100, .ttl = 2000ms});
  BOOST_TEST(named_page(cache, t).at(0) == "Connection A|Destination A");
  BOOST_TEST(cache.queries() == 1u);

  std::this_thread::sleep_for(1100ms);  // past half the TTL, well before its end
  BOOST_TEST(named_page(cache, t).at(0) == "Connection A|Destination A");
  BOOST_TEST(cache.queries() == 1u);  // answered whole: no renewal, no query

  // A newer attempt on a route the cache has never seen: that page must ask,
  // and the same query renews the older row's routes.
  const std::string newcomer = "conn_new_" + t.env_id;
  db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES (" + test::quote(newcomer) + ", " +
          test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'Newcomer')");
  test::insert_attempts(db, t, {{.connection_id = newcomer, .created_at = "2026-11-28 09:00+00"}});
  db.exec("UPDATE connections SET name = 'Renamed' WHERE id = " + test::quote(t.connection_ids[0]));
  const auto asked = named_page(cache, t);
  BOOST_TEST(cache.queries() == 2u);
  BOOST_TEST(asked == (std::vector<std::string>{"Newcomer|Destination A", "Renamed|Destination A"}),
             boost::test_tools::per_element());

  // The same page right after: every name from the cache, the renewed ones too.
  BOOST_TEST(named_page(cache, t) == asked, boost::test_tools::per_element());
  BOOST_TEST(cache.queries() == 2u);
}

BOOST_AUTO_TEST_CASE(stays_within_its_capacity) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  std::vector<test::attempt_spec> rows;
  for (int i = 0; i < 30; ++i) {
    const std::string id = "conn_cap_" + std::to_string(i) + "_" + t.env_id;
    db.exec("INSERT INTO connections (id, org_id, env_id, name) VALUES (" + test::quote(id) + ", " +
            test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'C" + std::to_string(i) + "')");
    rows.push_back({.connection_id = id});
  }
  test::insert_attempts(db, t, rows);
  storage::route_name_cache cache({.capacity = 8, .ttl = 5000ms});
  const auto page = named_page(cache, t);
  BOOST_TEST(page.size() == 30u);
  for (const auto& names : page) BOOST_TEST(names.rfind("C", 0) == 0u, names);  // every row named
  BOOST_TEST(cache.size() <= 8u);
}

// The cache numbers tenants for its keys, and forgets the numbers when it has
// given `capacity` of them. A number is never given twice: here the fifth
// tenant comes right after the numbers were forgotten, while the first tenant's
// names are the most recently used in the cache. Every tenant's attempt points
// at the first tenant's connection and destination, which only the first
// tenant may see named: a number given again would lend them to the fifth.
BOOST_AUTO_TEST_CASE(tenants_forgotten_at_capacity_never_share_a_number) {
  test::sql_session db;
  std::vector<test::test_tenant> tenants;
  for (int i = 0; i < 5; ++i) tenants.push_back(test::make_tenant(db));
  for (const auto& t : tenants)
    test::insert_attempts(db, t, {{.connection_id = tenants[0].connection_ids[0],
                                   .destination_id = tenants[0].destination_ids[0]}});
  storage::route_name_cache cache({.capacity = 4, .ttl = 5000ms});
  for (int i : {0, 1, 0, 2, 0, 3, 0, 4, 0, 4, 1}) {
    const auto& t = tenants[static_cast<std::size_t>(i)];
    BOOST_TEST(named_page(cache, t).at(0) == (i == 0 ? "Connection A|Destination A" : "-|-"), "tenant " << i);
  }
  BOOST_TEST(cache.size() <= 4u);
}

BOOST_AUTO_TEST_SUITE_END()
