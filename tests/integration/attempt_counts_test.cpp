// The counters behind `total` (migration 0002) against count(*): after inserts,
// bulk loads, updates of status and DLQ flag, deletes, truncation, concurrent
// writers, and the back-fill of a database that had rows before the migration.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/test/unit_test.hpp>

#include <mutex>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {

// Every filter shape over values present in the data (and one absent value).
struct filter_case {
  storage::attempt_filter filter;
  std::string where;
};

std::vector<filter_case> all_shapes(const test::test_tenant& t) {
  std::vector<filter_case> out;
  for (unsigned shape = 0; shape < 32; ++shape) {
    for (int variant = 0; variant < 2; ++variant) {
      filter_case c;
      auto add = [&](const std::string& w) { c.where += " AND " + w; };
      if (shape & 1u) {
        c.filter.event_id = variant ? "evt_1" : "evt_none";
        add("event_id = " + test::quote(*c.filter.event_id));
      }
      if (shape & 2u) {
        c.filter.connection_id = t.connection_ids[variant];
        add("connection_id = " + test::quote(*c.filter.connection_id));
      }
      if (shape & 4u) {
        c.filter.destination_id = t.destination_ids[1 - variant];
        add("destination_id = " + test::quote(*c.filter.destination_id));
      }
      if (shape & 8u) {
        c.filter.status = variant ? "failed" : "success";
        add("status = " + test::quote(*c.filter.status));
      }
      if (shape & 16u) {
        c.filter.in_dlq = variant == 1;
        add(std::string("coalesce(is_dlq, 0) = ") + (variant ? "1" : "0"));
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

// Compares the server's total SQL with count(*) for every shape.
void check_totals(test::sql_session& db, const test::test_tenant& t, const std::string& when) {
  for (const auto& c : all_shapes(t)) {
    storage::page_request req;
    req.filter = c.filter;
    auto params = storage::list_attempts_params(t.id(), req);
    params.resize(params.size() - 3);  // no paging parameters, no field cap
    std::string args;
    for (auto& p : params) args += (args.empty() ? "" : ", ") + test::quote(p);
    const std::string stmt = "total_" + test::random_hex(8);
    db.exec("PREPARE " + stmt + " AS " + storage::count_attempts_sql(c.filter));
    const auto total = db.scalar("EXECUTE " + stmt + "(" + args + ")");
    db.exec("DEALLOCATE " + stmt);
    const auto counted = db.scalar("SELECT count(*) FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) +
                                   " AND env_id = " + test::quote(t.env_id) + c.where);
    BOOST_TEST((total == counted), when << ": total for" << c.where << " is " << total.value_or("NULL") << ", count(*) " << counted.value_or("NULL"));
  }
}

std::string bulk_insert_sql(const test::test_tenant& t, int n, const std::string& tag,
                            const std::string& url = "https://x") {
  return "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
         "request_method, status, created_at, is_dlq) SELECT 'da_' || md5(" + test::quote(tag + t.org_id) + " || g), " +
         test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'evt_' || (g % 3), (ARRAY[" +
         test::quote(t.connection_ids[0]) + ", " + test::quote(t.connection_ids[1]) + "])[1 + g % 2], (ARRAY[" +
         test::quote(t.destination_ids[0]) + ", " + test::quote(t.destination_ids[1]) +
         "])[1 + (g / 2) % 2], " + test::quote(url) + ", 'POST', (ARRAY['success','failed','pending','retrying'])[1 + g % 4], "
         "now() - g * interval '1 second', CASE WHEN g % 7 = 0 THEN 1 WHEN g % 11 = 0 THEN NULL ELSE 0 END "
         "FROM generate_series(1, " + std::to_string(n) + ") g";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attempt_counts)

BOOST_AUTO_TEST_CASE(totals_equal_count_through_every_kind_of_write) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  check_totals(db, t, "empty");
  test::insert_attempts(db, t, {{.event_id = "evt_1"}, {.status = "failed", .is_dlq = 1}, {.is_dlq = std::nullopt}});
  check_totals(db, t, "single inserts");
  db.exec(bulk_insert_sql(t, 5000, "bulk"));
  check_totals(db, t, "bulk insert");
  db.exec("UPDATE delivery_attempts SET status = 'failed', is_dlq = 1, dlq_at = now() WHERE org_id = " +
          test::quote(t.org_id) + " AND status = 'retrying' AND event_id = 'evt_1'");
  check_totals(db, t, "status and DLQ updates");
  db.exec("UPDATE delivery_attempts SET is_dlq = NULL WHERE org_id = " + test::quote(t.org_id) + " AND is_dlq = 0 AND "
          "event_id = 'evt_2'");
  check_totals(db, t, "0 -> NULL (same counter)");
  db.exec("UPDATE delivery_attempts SET connection_id = " + test::quote(t.connection_ids[1]) +
          " WHERE org_id = " + test::quote(t.org_id) + " AND connection_id = " + test::quote(t.connection_ids[0]) +
          " AND status = 'pending'");
  check_totals(db, t, "moved between connections");
  db.exec("UPDATE delivery_attempts SET duration_ms = 5 WHERE org_id = " + test::quote(t.org_id));
  check_totals(db, t, "update of an uncounted column");
  db.exec("DELETE FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) + " AND status = 'success' AND "
          "event_id = 'evt_0'");
  check_totals(db, t, "deletes");
  db.exec("BEGIN; " + bulk_insert_sql(t, 100, "rolled-back") + "; ROLLBACK");
  check_totals(db, t, "rolled back insert");
  db.exec("COPY delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, status, created_at) FROM PROGRAM 'printf \"da_copy" + test::random_hex(8) + "\\t" + t.org_id + "\\t" + t.env_id +
          "\\tevt_1\\t" + t.connection_ids[0] + "\\t" + t.destination_ids[0] +
          "\\thttps://x\\tPOST\\tfailed\\t2026-11-01 00:00:00+00\\n\"'");
  check_totals(db, t, "COPY");
}

BOOST_AUTO_TEST_CASE(concurrent_writers_keep_totals_exact) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  std::vector<std::thread> writers;
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      try {
        test::sql_session own;
        // Each writer changes only its own rows (marked by URL), so the only
        // rows they contend on are the shared counters.
        const std::string mine = test::quote("https://writer/" + std::to_string(w));
        const std::string own_rows = "org_id = " + test::quote(t.org_id) + " AND request_url = " + mine;
        for (int round = 0; round < 10; ++round) {
          own.exec(bulk_insert_sql(t, 200, "w" + std::to_string(w) + "r" + std::to_string(round),
                                   "https://writer/" + std::to_string(w)));
          own.exec("UPDATE delivery_attempts SET status = 'failed', is_dlq = 1 WHERE id IN (SELECT id FROM "
                   "delivery_attempts WHERE " + own_rows + " AND status = 'pending' LIMIT 20)");
          own.exec("DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE " + own_rows +
                   " AND status = 'retrying' LIMIT 10)");
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(errors_mutex);
        errors.emplace_back(e.what());
      }
    });
  }
  for (auto& w : writers) w.join();
  // E.g. no deadlock between the counter updates of concurrent statements.
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  check_totals(db, t, "after concurrent writers");
}

BOOST_AUTO_TEST_CASE(truncate_resets_the_counters) {
  // TRUNCATE empties the table for every tenant: run it in a scratch database.
  test::sql_session admin;
  const std::string scratch = "hookstream_counts_" + test::random_hex(8);
  admin.exec("CREATE DATABASE " + scratch);
  const std::string url = test::database_url().substr(0, test::database_url().rfind('/') + 1) + scratch;
  {
    // Back-fill: rows that exist before migration 0002 are counted by it.
    boost::asio::io_context io;
    auto first_only = test::run_on(io, [&]() -> boost::asio::awaitable<storage::db_result<int>> {
      storage::pg_connection conn(io.get_executor());
      BOOST_REQUIRE(co_await conn.connect(url, storage::clock::now() + 10s));
      const auto& all = storage::builtin_migrations();
      co_return co_await storage::apply_migrations(conn, std::span(all.data(), 1), storage::clock::now() + 30s);
    });
    BOOST_REQUIRE(first_only);
    test::sql_session db(url);
    auto t = test::make_tenant(db);
    db.exec(bulk_insert_sql(t, 1000, "before-0002"));
    auto rest = storage::migrate_database(url, 30s);
    BOOST_REQUIRE(rest);
    BOOST_TEST(*rest >= 1);
    check_totals(db, t, "back-filled");
    db.exec("TRUNCATE delivery_attempts");
    check_totals(db, t, "truncated");
    BOOST_TEST(*db.scalar("SELECT count(*) FROM attempt_counts") == "0");
    db.exec(bulk_insert_sql(t, 10, "after-truncate"));
    check_totals(db, t, "refilled");
  }
  admin.exec("DROP DATABASE " + scratch);
}

BOOST_AUTO_TEST_SUITE_END()
