// The counters behind `total` (migration 0002) against count(*): after inserts,
// bulk loads, updates of status and DLQ flag, deletes, truncation, concurrent
// writers, and the back-fill of a database that had rows before the migration.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_maintenance.hpp>
#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
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
        c.filter.event_id = {variant ? "evt_1" : "evt_none"};
        add("event_id = " + test::quote(c.filter.event_id[0]));
      }
      if (shape & 2u) {
        c.filter.connection_id = {t.connection_ids[variant]};
        add("connection_id = " + test::quote(c.filter.connection_id[0]));
      }
      if (shape & 4u) {
        c.filter.destination_id = {t.destination_ids[1 - variant]};
        add("destination_id = " + test::quote(c.filter.destination_id[0]));
      }
      if (shape & 8u) {
        c.filter.status = {variant ? "failed" : "success"};
        add("status = " + test::quote(c.filter.status[0]));
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
  // A row moved to another monthly partition (a DELETE and an INSERT
  // underneath), and writes that name a partition rather than the table.
  db.exec("UPDATE delivery_attempts SET created_at = created_at - interval '40 days' WHERE org_id = " +
          test::quote(t.org_id) + " AND status = 'failed'");
  check_totals(db, t, "moved across partitions");
  const std::string part = *db.scalar("SELECT tableoid::regclass::text FROM delivery_attempts WHERE org_id = " +
                                      test::quote(t.org_id) + " AND status = 'pending' LIMIT 1");
  db.exec("UPDATE " + part + " SET status = 'success' WHERE org_id = " + test::quote(t.org_id) +
          " AND status = 'pending' AND event_id = 'evt_2'");
  db.exec("DELETE FROM " + part + " WHERE org_id = " + test::quote(t.org_id) + " AND status = 'pending'");
  db.exec("INSERT INTO " + part + " (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, status, created_at) SELECT 'da_p' || md5(id), org_id, env_id, event_id, connection_id, "
          "destination_id, request_url, request_method, status, created_at FROM " + part + " WHERE org_id = " +
          test::quote(t.org_id) + " LIMIT 3");
  check_totals(db, t, "writes to a partition");
  // Every counter cell (minute, hour, day, route by day) too, pending and folded.
  for (int folded = 0; folded < 2; ++folded) {
    auto cells = storage::check_database_counters(test::database_url(), t.env_id);
    BOOST_REQUIRE(cells);
    BOOST_REQUIRE_EQUAL(cells->size(), 1u);
    BOOST_TEST(!cells->front().drifted(), "folded " << folded << ": " << cells->front().wrong_cells << " cells off");
    db.exec("SELECT hookstream_fold_count_deltas(100000)");
  }
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

// Issue 12: several values per field and time ranges. Random filters over rows
// spread across 70 days (many exactly on a day, hour or minute boundary, where
// the range total switches between counters by day, hour and minute and direct
// counts): the total equals count(*) with deltas pending and after compaction,
// and the page (first page at an offset, next page after an anchor) equals the
// rows PostgreSQL orders itself.
BOOST_AUTO_TEST_CASE(random_ranges_and_value_sets_match_count_and_order) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  const std::string day0 = "'2026-08-20 00:00:00+00'::timestamptz";
  db.exec(
      "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
      "request_method, status, created_at, is_dlq) SELECT 'da_' || md5(" + test::quote(t.org_id) + " || g), " +
      test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'evt_' || (g % 6), (ARRAY[" +
      test::quote(t.connection_ids[0]) + ", " + test::quote(t.connection_ids[1]) + "])[1 + g % 2], (ARRAY[" +
      test::quote(t.destination_ids[0]) + ", " + test::quote(t.destination_ids[1]) + "])[1 + (g / 3) % 2], "
      "'https://x', 'POST', (ARRAY['success','failed','pending','retrying'])[1 + (g / 2) % 4], "
      "CASE WHEN g % 17 = 0 THEN date_trunc('day', c) WHEN g % 13 = 0 THEN date_trunc('hour', c) "
      "WHEN g % 11 = 0 THEN date_trunc('minute', c) ELSE c END, "
      "CASE WHEN g % 7 = 0 THEN 1 WHEN g % 10 = 0 THEN NULL ELSE 0 END "
      "FROM generate_series(1, 8000) g, LATERAL (SELECT " + day0 +
      " + ((g * 7919) % (70 * 86400)) * interval '1 second' + (g % 1000) * interval '1 microsecond' AS c) x");
  const std::int64_t start = 1787184000LL * 1'000'000;  // 2026-08-20T00:00:00Z
  const std::int64_t span = 70LL * 86'400'000'000;
  const auto row_times = db.column("SELECT (extract(epoch FROM created_at) * 1000000)::int8 FROM delivery_attempts "
                                   "WHERE org_id = " + test::quote(t.org_id) + " ORDER BY random() LIMIT 200");
  BOOST_REQUIRE_EQUAL(row_times.size(), 200u);

  std::mt19937_64 rng(20261130);
  const auto pick = [&](std::uint64_t n) { return rng() % n; };
  // A bound: a row's own instant (exclusive!), a whole day, hour or minute, or
  // any microsecond of the span (and a little outside it).
  const auto bound = [&]() -> std::int64_t {
    const std::int64_t any = start - 86'400'000'000 + static_cast<std::int64_t>(pick(static_cast<std::uint64_t>(span) + 2 * 86'400'000'000));
    switch (pick(5)) {
      case 0: return std::stoll(row_times[pick(row_times.size())]);
      case 1: return any - any % 86'400'000'000;
      case 2: return any - any % 3'600'000'000;
      case 3: return any - any % 60'000'000;
      default: return any;
    }
  };
  const auto values = [&](std::vector<std::string> pool, std::string_view column, std::vector<std::string>& out,
                          std::string& where) {
    if (pick(2)) return;
    std::shuffle(pool.begin(), pool.end(), rng);
    out.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(1 + pick(std::min<std::size_t>(pool.size(), 4))));
    std::string in;
    for (const auto& v : out) in += (in.empty() ? "" : ", ") + test::quote(v);
    where += " AND " + std::string(column) + " IN (" + in + ")";
  };
  const auto execute = [&](const std::string& sql, std::vector<std::string> params) {
    std::string args;
    for (auto& p : params) args += (args.empty() ? "" : ", ") + test::quote(p);
    const std::string stmt = "random_" + test::random_hex(8);
    db.exec("PREPARE " + stmt + " AS " + sql);
    auto rows = db.column("EXECUTE " + stmt + "(" + args + ")");
    db.exec("DEALLOCATE " + stmt);
    return rows;
  };

  int ranged = 0, several = 0, nonempty = 0;
  for (int round = 0; round < 160; ++round) {
    storage::attempt_filter f;
    std::string where;
    // Events and routes less often: without them the total comes from the
    // tenant's counters by minute, hour and day, the most intricate case.
    if (pick(3) == 0) values({"evt_0", "evt_1", "evt_4", "evt_none"}, "event_id", f.event_id, where);
    if (pick(3) == 0)
      values({t.connection_ids[0], t.connection_ids[1], "conn_none"}, "connection_id", f.connection_id, where);
    if (pick(3) == 0) values({t.destination_ids[0], t.destination_ids[1]}, "destination_id", f.destination_id, where);
    values({"pending", "success", "failed", "retrying"}, "status", f.status, where);
    if (pick(4) == 0) {
      f.in_dlq = pick(2) == 0;
      where += std::string(" AND coalesce(is_dlq, 0) = ") + (*f.in_dlq ? "1" : "0");
    }
    const auto shape = pick(8);
    if (shape < 6) {
      std::int64_t a = bound(), b = bound();
      if (shape == 0) b = a + 1 + static_cast<std::int64_t>(pick(120'000'000));  // under two minutes
      if (shape == 1) b = a + 1 + static_cast<std::int64_t>(pick(4 * 3'600'000'000LL));  // hours
      if (a > b) std::swap(a, b);
      if (a == b) ++b;
      if (shape != 2) f.created_after = a;
      if (shape != 3) f.created_before = b;
    }
    if (f.created_after) where += " AND created_at > " + test::quote(storage::timestamp_param(*f.created_after));
    if (f.created_before) where += " AND created_at < " + test::quote(storage::timestamp_param(*f.created_before));
    ranged += f.has_range();
    several += f.status.size() > 1 || f.connection_id.size() > 1 || f.destination_id.size() > 1 || f.event_id.size() > 1;

    storage::page_request req;
    req.filter = f;
    req.limit = 1 + static_cast<int>(pick(12));
    req.offset = static_cast<std::int64_t>(pick(3) == 0 ? pick(40) : 0);
    const std::string tenant = "org_id = " + test::quote(t.org_id) + " AND env_id = " + test::quote(t.env_id);
    const std::string ordered = "SELECT id FROM delivery_attempts WHERE " + tenant + where + " ORDER BY created_at DESC, id DESC";
    BOOST_TEST_CONTEXT("round " << round << ":" << where) {
      auto params = storage::list_attempts_params(t.id(), req);
      auto count_params = params;
      count_params.resize(params.size() - 3);
      const auto counted = *db.scalar("SELECT count(*) FROM delivery_attempts WHERE " + tenant + where);
      nonempty += counted != "0";
      BOOST_TEST(execute(storage::count_attempts_sql(f), count_params).at(0) == counted, "pending deltas");
      const auto page = execute(storage::list_attempts_sql(f, storage::page_mode::offset), params);
      const auto want = db.column(ordered + " LIMIT " + std::to_string(req.limit + 1) + " OFFSET " + std::to_string(req.offset));
      BOOST_TEST(page == want, boost::test_tools::per_element());
      if (!want.empty()) {
        // The next page after one of these rows.
        const auto& anchor_id = want[pick(want.size())];
        req.mode = storage::page_mode::after;
        req.anchor = {std::stoll(*db.scalar("SELECT (extract(epoch FROM created_at) * 1000000)::int8 FROM "
                                            "delivery_attempts WHERE id = " + test::quote(anchor_id))),
                      anchor_id};
        const auto next = execute(storage::list_attempts_sql(f, storage::page_mode::after),
                                  storage::list_attempts_params(t.id(), req));
        const auto want_next = db.column(
            "SELECT id FROM delivery_attempts WHERE " + tenant + where + " AND (created_at, id) < ('" +
            storage::timestamp_param(req.anchor.created_at) + "', " + test::quote(anchor_id) +
            ") ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(req.limit + 1));
        BOOST_TEST(next == want_next, boost::test_tools::per_element());
      }
      if (round % 40 == 19) {
        db.exec("SELECT hookstream_fold_count_deltas(100000)");
        BOOST_TEST(execute(storage::count_attempts_sql(f), count_params).at(0) == counted, "after compaction");
      }
    }
  }
  // The random draw covered what it is meant to.
  BOOST_TEST(ranged > 100);
  BOOST_TEST(several > 60);
  BOOST_TEST(nonempty > 60);
}

// Every way a range's edges can fall against minutes, hours and days (each
// edge piece shorter or longer than half its bucket, bounds on and off bucket
// boundaries, both bounds in one minute, hour or day, one bound missing), on
// rows every 37 seconds over 4 days, with the deltas folded and then pending
// again.
BOOST_AUTO_TEST_CASE(range_totals_at_every_kind_of_edge) {
  test::sql_session db;
  auto t = test::make_tenant(db);
  const std::string insert =
      "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
      "request_method, status, created_at, is_dlq) SELECT 'da_' || md5(" + test::quote(t.org_id) + " || g || %), " +
      test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'evt_1', " + test::quote(t.connection_ids[0]) +
      ", " + test::quote(t.destination_ids[0]) + ", 'https://x', 'POST', (ARRAY['success','failed'])[1 + g % 2], "
      "'2026-10-01 00:00:00+00'::timestamptz + g * interval '37 seconds' + (g % 7) * interval '1 microsecond', "
      "(g % 5 = 0)::int FROM generate_series(0, 9340) g";
  const auto load = [&](const std::string& tag) {
    std::string sql = insert;
    sql.replace(sql.find('%'), 1, test::quote(tag));
    db.exec(sql);
  };
  load("a");
  db.exec("SELECT hookstream_fold_count_deltas(1000000)");
  const std::int64_t day0 = 1790812800LL * 1'000'000;  // 2026-10-01T00:00:00Z
  const std::int64_t s = 1'000'000, m = 60 * s, h = 60 * m, d = 24 * h;
  // Offsets into a day: on midnight, early (< 12 h), late (> 12 h); within the
  // hour: on the hour, early (< 30 min), late; within the minute: on it, or not.
  const std::int64_t in_day[] = {0, 3 * h, 17 * h};
  const std::int64_t in_hour[] = {0, 7 * m, 41 * m};
  const std::int64_t in_minute[] = {0, 13 * s + 5};
  std::vector<std::int64_t> instants;
  for (auto dd : in_day)
    for (auto hh : in_hour)
      for (auto mm : in_minute) instants.push_back(dd + hh + mm);
  std::vector<storage::attempt_filter> filters(2);
  filters[1].status = {"failed"};
  const std::string where[] = {"", " AND status = 'failed'"};
  int compared = 0;
  // The total of (a, b) (either may be missing: a half-open range) next to
  // count(*), in one round trip: the statement with its parameters inlined.
  const auto compare = [&](const char* phase, std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
    for (std::size_t f = 0; f < filters.size(); ++f) {
      storage::attempt_filter filter = filters[f];
      filter.created_after = a;
      filter.created_before = b;
      storage::page_request req;
      req.filter = filter;
      auto params = storage::list_attempts_params(t.id(), req);
      params.resize(params.size() - 3);
      std::string total = storage::count_attempts_sql(filter);
      for (std::size_t i = params.size(); i > 0; --i) {  // $10 before $1
        std::string slot(1, '$');
        slot += std::to_string(i);
        for (auto at = total.find(slot); at != std::string::npos; at = total.find(slot, at))
          total.replace(at, slot.size(), test::quote(params[i - 1]));
      }
      const std::string bounds =
          (a ? " AND created_at > " + test::quote(storage::timestamp_param(*a)) : std::string()) +
          (b ? " AND created_at < " + test::quote(storage::timestamp_param(*b)) : std::string());
      const auto both = db.scalar("SELECT (" + total + ") || ' ' || (SELECT count(*) FROM delivery_attempts WHERE "
                                  "org_id = " + test::quote(t.org_id) + " AND env_id = " + test::quote(t.env_id) +
                                  where[f] + bounds + ")");
      BOOST_REQUIRE(both);
      const auto space = both->find(' ');
      BOOST_TEST(both->substr(0, space) == both->substr(space + 1),
                 phase << " (" << (a ? storage::timestamp_param(*a) : "-infinity") << ", "
                       << (b ? storage::timestamp_param(*b) : "infinity") << ")" << where[f]
                       << ": total, count(*) = " << *both);
      ++compared;
    }
  };
  for (const char* phase : {"folded", "pending"}) {
    if (std::string(phase) == "pending") load("b");  // the same rows again, as deltas
    for (auto ia : instants) {
      for (auto ib : instants) {
        // Within one day (same minute, hour or day), or with whole days between.
        for (std::int64_t gap : {std::int64_t{0}, 2 * d}) {
          const std::int64_t a = day0 + d / 2 + ia, b = day0 + d / 2 + ib + gap;
          if (a < b) compare(phase, a, b);
        }
      }
      // Half-open: every edge kind on one side, nothing on the other.
      compare(phase, day0 + d / 2 + ia, std::nullopt);
      compare(phase, std::nullopt, day0 + d / 2 + ia);
    }
  }
  BOOST_TEST(compared > 1500);
}

BOOST_AUTO_TEST_CASE(truncate_resets_the_counters) {
  // TRUNCATE empties the table for every tenant: run it in a scratch database.
  const test::scratch_database scratch("hookstream_counts");
  const std::string& url = scratch.url();
  {
    // Back-fill: rows that exist before migration 0002 are counted by it.
    boost::asio::io_context io(test::io_concurrency_hint());
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
}

BOOST_AUTO_TEST_SUITE_END()
