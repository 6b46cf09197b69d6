// Migrations and indexes: idempotent start-up, better-auth's tables as it names
// them, and an ordered index scan (no sort step) for every filter.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/test/unit_test.hpp>

using namespace hookstream;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(migrating_twice_is_a_no_op) {
  test::database_url();  // first migration happened here
  auto again = storage::migrate_database(test::database_url(), 30s);
  BOOST_REQUIRE(again);
  BOOST_TEST(*again == 0);
  test::sql_session db;
  BOOST_TEST(*db.scalar("SELECT count(*) FROM hookstream_migrations") ==
             std::to_string(storage::builtin_migrations().size()));
}

BOOST_AUTO_TEST_CASE(a_failing_migration_leaves_nothing_behind) {
  test::sql_session db;
  const std::string scratch = "hookstream_scratch_" + test::random_hex(8);
  db.exec("CREATE DATABASE " + scratch);
  const std::string url = test::database_url().substr(0, test::database_url().rfind('/') + 1) + scratch;
  const storage::migration broken[] = {
      {1, "0001_ok", "CREATE TABLE kept_if_committed (x int);"},
      {2, "0002_broken", "CREATE TABLE oops (x no_such_type);"},
  };
  boost::asio::io_context io;
  auto result = test::run_on(io, [&]() -> boost::asio::awaitable<storage::db_result<int>> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(url, storage::clock::now() + 10s));
    co_return co_await storage::apply_migrations(conn, broken, storage::clock::now() + 10s);
  });
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().message.find("0002_broken") != std::string::npos);
  {
    test::sql_session scratch_db(url);
    BOOST_TEST(*scratch_db.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'kept_if_committed'") == "0");
  }
  db.exec("DROP DATABASE " + scratch);
}

BOOST_AUTO_TEST_CASE(better_auth_tables_use_its_names) {
  test::sql_session db;
  auto columns = [&](const std::string& table) {
    auto cols = db.column("SELECT column_name FROM information_schema.columns WHERE table_name = " +
                          test::quote(table) + " ORDER BY column_name");
    std::string joined;
    for (auto& c : cols) joined += c + ",";
    return joined;
  };
  BOOST_TEST(columns("session") ==
             "activeOrganizationId,createdAt,expiresAt,id,ipAddress,token,updatedAt,userAgent,userId,");
  BOOST_TEST(columns("user") == "createdAt,email,emailVerified,id,image,name,updatedAt,");
  BOOST_TEST(columns("organization") == "createdAt,id,logo,metadata,name,slug,");
  BOOST_TEST(columns("member") == "createdAt,id,organizationId,role,userId,");
  for (const char* t : {"account", "verification", "invitation", "environments", "connections", "destinations",
                        "events", "delivery_attempts", "api_keys"})
    BOOST_TEST(!columns(t).empty(), t);
}

// Every filter shape must be served by an index in the listing's order: with
// LIMIT on top, the scan stops after one page whatever the tenant's size.
BOOST_AUTO_TEST_CASE(every_filter_is_served_by_an_index_without_a_sort) {
  // A database of its own, so the planner's statistics describe only this data:
  // every filter value matches thousands of rows, the case where a sort would
  // hurt (a filter matching a few rows may rightly be read and sorted).
  test::sql_session admin;
  const std::string scratch = "hookstream_explain_" + test::random_hex(8);
  admin.exec("CREATE DATABASE " + scratch);
  const std::string url = test::database_url().substr(0, test::database_url().rfind('/') + 1) + scratch;
  BOOST_REQUIRE(storage::migrate_database(url, 60s));
  auto db_owner = std::make_unique<test::sql_session>(url);
  auto& db = *db_owner;
  auto t = test::make_tenant(db);
  // 40,000 attempts a minute apart, from 20 days before the start of this UTC
  // month on: they fill the history partition and this month's, and the page
  // anchor (the month's first instant) has thousands of rows on each side, so
  // pages cross the partition boundary. Next month's partition stays empty.
  db.exec(
      "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
      "request_method, status, created_at, is_dlq) "
      "SELECT 'da_' || md5(g::text || " + test::quote(t.org_id) + "), " + test::quote(t.org_id) + ", " +
      test::quote(t.env_id) + ", 'evt_' || (g % 5), 'conn_' || (g % 5), 'dst_' || (g % 5), 'https://x', "
      "'POST', (ARRAY['success','failed','pending','retrying'])[1 + g % 4], "
      "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '20 days' + g * interval '1 minute', "
      "(g % 5 = 0)::int FROM generate_series(1, 40000) g");
  db.exec("VACUUM ANALYZE delivery_attempts");
  const auto month_start = db.scalar(
      "SELECT (extract(epoch FROM date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') * 1000000)::int8");
  BOOST_REQUIRE(month_start);
  // A sequential scan of an empty partition reads nothing and is fine; one of a
  // partition with rows is not.
  const auto filled = db.column(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'delivery_attempts'::regclass AND c.reltuples > 0");
  BOOST_REQUIRE_EQUAL(filled.size(), 2u);

  struct shape {
    const char* name;
    storage::attempt_filter filter;
  };
  std::vector<shape> shapes(8);
  shapes[0].name = "unfiltered";
  shapes[1].name = "event";
  shapes[1].filter.event_id = "evt_3";
  shapes[2].name = "connection";
  shapes[2].filter.connection_id = "conn_3";
  shapes[3].name = "destination";
  shapes[3].filter.destination_id = "dst_3";
  shapes[4].name = "status";
  shapes[4].filter.status = "failed";
  shapes[5].name = "dlq";
  shapes[5].filter.in_dlq = true;
  shapes[6].name = "status+connection";  // "+" marks a combination
  shapes[6].filter.status = "failed";
  shapes[6].filter.connection_id = "conn_3";
  shapes[7].name = "not dlq";
  shapes[7].filter.in_dlq = false;

  // As on the server's connections (connection_pool's session set-up).
  db.exec("SET max_parallel_workers_per_gather = 0");
  const storage::page_mode modes[] = {storage::page_mode::offset, storage::page_mode::after,
                                      storage::page_mode::before, storage::page_mode::deep_offset};
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    for (auto page_mode : modes) {
    for (auto& s : shapes) {
      storage::page_request req;
      req.filter = s.filter;
      req.limit = 50;
      req.mode = page_mode;
      req.anchor = {std::stoll(*month_start), "da_" + std::string(32, '8')};
      req.offset = page_mode == storage::page_mode::deep_offset ? 1000 : 0;
      const auto params = storage::list_attempts_params(t.id(), req);
      std::string args;
      for (auto& p : params) args += (args.empty() ? "" : ", ") + test::quote(p);
      const std::string stmt = "explain_" + test::random_hex(8);
      db.exec(std::string("SET plan_cache_mode = ") + mode + "; PREPARE " + stmt + " AS " +
              storage::list_attempts_sql(s.filter, page_mode));
      const auto plan_lines = db.column("EXPLAIN EXECUTE " + stmt + "(" + args + ")");
      db.exec("DEALLOCATE " + stmt + "; RESET plan_cache_mode");
      std::string plan;
      for (auto& l : plan_lines) plan += l + "\n";
      BOOST_TEST_CONTEXT(mode << " / mode " << static_cast<int>(page_mode) << " / " << s.name << ":\n" << plan) {
        // One filter (or none): its index hands rows over in listing order.
        if (std::string(s.name).find('+') == std::string::npos) BOOST_TEST(plan.find("Sort") == std::string::npos);
        // For one filter, neither the page (aliases i, d), nor the has-more probe
        // (alias e), nor a count scans the table. (A combination that matches
        // few rows of this small table may rightly be scanned and sorted.)
        if (std::string(s.name).find('+') == std::string::npos)
          for (const auto& partition : filled) BOOST_TEST(plan.find("Seq Scan on " + partition + " ") == std::string::npos);
        // Deep offsets skip rows in the index alone, never through the heap.
        if (page_mode == storage::page_mode::deep_offset && std::string(s.name).find("dlq") == std::string::npos &&
            std::string(s.name).find('+') == std::string::npos)
          BOOST_TEST(plan.find("Index Only Scan using delivery_attempts_") != std::string::npos);
        // The page itself comes from an ordered index scan (a bitmap or sequential
        // scan would need the sort we just ruled out).
        if (std::string(s.name).find('+') == std::string::npos)
          BOOST_TEST((plan.find("Index Scan using delivery_attempts_") != std::string::npos ||
                      plan.find("Index Scan Backward using delivery_attempts_") != std::string::npos));
        // Keyset pages seek to their anchor through the index (an Index Cond on
        // the row comparison), not by filtering rows one by one.
        const bool keyset = page_mode == storage::page_mode::after || page_mode == storage::page_mode::before;
        if (keyset && std::string(s.name).find('+') == std::string::npos)
          BOOST_TEST(plan.find("(ROW(created_at, id) ") != std::string::npos);
      }
    }
    }
  }
  db_owner.reset();
  admin.exec("DROP DATABASE " + scratch);
}

// A cursor carries at most 128 bytes of its anchor's id: the schema refuses
// longer attempt ids, so no walk can be misled by a cut id.
BOOST_AUTO_TEST_CASE(attempt_ids_are_at_most_128_bytes) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  BOOST_CHECK_NO_THROW(test::insert_attempts(db, t, {{.id = "da_" + std::string(125, 'a')}}));
  BOOST_CHECK_THROW(test::insert_attempts(db, t, {{.id = "da_" + std::string(126, 'a')}}), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
