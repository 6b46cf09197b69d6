// Migrations and indexes: idempotent start-up, better-auth's tables as it names
// them, and an ordered index scan (no sort step) for every filter.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/migrations.hpp>
#include <hookstream/storage/route_name_cache.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {
// The Citus layout (storage/citus/distribute.sql): distributed tables (by
// org_id) and reference tables, as that file names them.
struct citus_layout {
  std::set<std::string> distributed, reference;
};
citus_layout read_citus_layout() {
  std::ifstream in(std::string(HOOKSTREAM_SOURCE_DIR) + "/storage/citus/distribute.sql");
  BOOST_REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string sql = text.str();
  citus_layout layout;
  const std::regex distributed(R"re(create_distributed_table\('"?([a-z_]+)"?', 'org_id')re");
  const std::regex reference(R"re(create_reference_table\('"?([a-z_]+)"?'\))re");
  for (std::sregex_iterator it(sql.begin(), sql.end(), distributed), end; it != end; ++it) {
    BOOST_TEST_INFO("named twice: " << (*it)[1]);
    BOOST_TEST(layout.distributed.insert((*it)[1]).second);
  }
  for (std::sregex_iterator it(sql.begin(), sql.end(), reference), end; it != end; ++it) {
    BOOST_TEST_INFO("named twice: " << (*it)[1]);
    BOOST_TEST(layout.reference.insert((*it)[1]).second);
  }
  return layout;
}

// Every scan of a distributed table in `plan` (EXPLAIN FORMAT JSON) has a
// condition `org_id = $<org_param>`; returns the scans that do not, and counts
// those that do in `checked`.
void scans_without_org(const boost::json::value& node, const std::set<std::string>& distributed,
                       const std::string& org_param, std::vector<std::string>& missing, int& checked) {
  if (node.is_array()) {
    for (const auto& v : node.as_array()) scans_without_org(v, distributed, org_param, missing, checked);
    return;
  }
  if (!node.is_object()) return;
  const auto& o = node.as_object();
  if (auto* plan = o.if_contains("Plan")) scans_without_org(*plan, distributed, org_param, missing, checked);
  if (auto* rel = o.if_contains("Relation Name")) {
    std::string table(rel->as_string());
    // A partition of delivery_attempts is delivery_attempts for this purpose.
    if (table.starts_with("delivery_attempts_")) table = "delivery_attempts";
    if (distributed.count(table)) {
      bool found = false;
      for (const char* key : {"Index Cond", "Recheck Cond", "Filter"})
        if (auto* cond = o.if_contains(key); cond && std::string(cond->as_string()).find("org_id = " + org_param) !=
                                                         std::string::npos)
          found = true;
      if (found) ++checked;
      else missing.push_back(std::string(rel->as_string()) + " " + boost::json::serialize(node).substr(0, 300));
    }
  }
  if (auto* plans = o.if_contains("Plans")) scans_without_org(*plans, distributed, org_param, missing, checked);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(schema)

// Issue 14: a layout Citus could shard by tenant. Every table is classified in
// storage/citus/distribute.sql, and every primary and unique key of a
// distributed table (partitions included) contains org_id, which Citus needs
// to enforce it per shard.
BOOST_AUTO_TEST_CASE(every_table_is_distributed_by_org_or_a_reference_table) {
  const auto layout = read_citus_layout();
  BOOST_TEST(layout.distributed.count("delivery_attempts") == 1u);
  test::sql_session db;
  const auto tables = db.column(
      "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
      "AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1");
  BOOST_REQUIRE(!tables.empty());
  for (const auto& t : tables) {
    BOOST_TEST_INFO("table " << t);
    BOOST_TEST(layout.distributed.count(t) + layout.reference.count(t) == 1u);
  }
  for (const auto& t : layout.distributed) {
    BOOST_TEST_INFO("distributed table " << t);
    BOOST_TEST((std::find(tables.begin(), tables.end(), t) != tables.end()));
    // The table and all its partitions: every unique index has org_id as a key column.
    const auto keys = db.column(
        "SELECT i.indexrelid::regclass::text || ' ' || (SELECT string_agg(a.attname, ',' ORDER BY k.n) "
        "FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, n) "
        "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) "
        "FROM pg_index i WHERE i.indisunique AND (i.indrelid = " + test::quote(t) + "::regclass "
        "OR i.indrelid IN (SELECT relid FROM pg_partition_tree(" + test::quote(t) + "::regclass)))");
    // The counters' log is append-only and has no key at all (migration 0041).
    if (t != "attempt_count_log") BOOST_TEST(!keys.empty());
    for (const auto& k : keys) {
      BOOST_TEST_INFO("unique index " << k);
      const auto columns = k.substr(k.find(' ') + 1);
      BOOST_TEST(("," + columns + ",").find(",org_id,") != std::string::npos);
    }
  }
}

// Issue 14: every statement hookstream sends on a request reaches each
// distributed table through `org_id = $n` (the request's own org), in every
// plan node that scans one: what lets Citus route it whole to one shard.
// (Credential look-ups read reference tables only.)
BOOST_AUTO_TEST_CASE(every_request_statement_filters_distributed_tables_by_org) {
  const auto layout = read_citus_layout();
  test::sql_session db;
  auto t = test::make_tenant(db);
  struct statement {
    std::string name, sql, org_param;
    std::vector<std::string> args;
  };
  std::vector<statement> statements;
  // Bit 32: several values in each list present (3 statuses when none is);
  // bit 64: a time range (issue 12).
  for (unsigned shape = 0; shape < 128; ++shape) {
    storage::page_request req;
    const bool several = shape & 32u;
    const auto values = [&](const std::string& v) {
      std::vector<std::string> out{v};
      if (several) {
        out.push_back(v);
        out.back() += "_2";  // (not v + "_2": GCC 12 warns falsely, -Wrestrict)
      }
      return out;
    };
    if (shape & 1u) req.filter.event_id = values("evt_x");
    if (shape & 2u) req.filter.connection_id = values("conn_x");
    if (shape & 4u) req.filter.destination_id = values("dst_x");
    if (shape & 8u) req.filter.status = several ? std::vector<std::string>{"failed", "retrying"}
                                                : std::vector<std::string>{"failed"};
    if (several && (shape & 15u) == 0) req.filter.status = {"failed", "pending", "retrying"};
    if (shape & 16u) req.filter.in_dlq = true;
    if (shape & 64u) {
      req.filter.created_after = 1795000000000000LL + 1234567;
      req.filter.created_before = 1795855192929123LL;
    }
    req.anchor = {1795855192929123LL, "da_" + std::string(32, '8')};
    for (auto mode : {storage::page_mode::offset, storage::page_mode::after, storage::page_mode::before,
                      storage::page_mode::deep_offset}) {
      req.mode = mode;
      req.offset = mode == storage::page_mode::deep_offset ? 1000 : 0;
      statements.push_back({"list shape " + std::to_string(shape) + " mode " + std::to_string(static_cast<int>(mode)),
                            storage::list_attempts_sql(req.filter, mode), "$1",
                            storage::list_attempts_params(t.id(), req)});
      auto identity_args = storage::list_attempts_params(t.id(), req);
      identity_args.pop_back();  // no field cap
      statements.push_back({"identities shape " + std::to_string(shape) + " mode " +
                                std::to_string(static_cast<int>(mode)),
                            storage::list_attempt_identities_sql(req.filter, mode), "$1", identity_args});
    }
    req.mode = storage::page_mode::offset;
    auto count_args = storage::list_attempts_params(t.id(), req);
    count_args.resize(count_args.size() - 3);  // without limit, offset and the field cap
    statements.push_back({"count shape " + std::to_string(shape), storage::count_attempts_sql(req.filter), "$1",
                          count_args});
  }
  statements.push_back({"single attempt", storage::find_attempt_sql(), "$2",
                        {"da_" + std::string(32, '1'), t.org_id, t.env_id, "1024"}});
  statements.push_back({"rows by key", storage::attempts_by_key_sql(), "$1",
                        {t.org_id, t.env_id, "{\"da_" + std::string(32, '1') + "\"}",
                         "{\"2026-11-28 08:39:52.929+00\"}", "1024"}});
  statements.push_back({"route names", std::string(storage::route_names_sql()), "$1",
                        {t.org_id, t.env_id, "{\"conn_x\"}", "{\"dst_x\"}"}});

  int checked = 0;
  for (const auto& st : statements) {
    // Generic plans: what a prepared statement runs with whatever parameters.
    std::string args;
    for (auto& a : st.args) args += (args.empty() ? "" : ", ") + test::quote(a);
    const std::string name = "route_" + test::random_hex(8);
    db.exec("SET plan_cache_mode = force_generic_plan; PREPARE " + name + " AS " + st.sql);
    const auto plan = db.scalar("EXPLAIN (FORMAT JSON) EXECUTE " + name + "(" + args + ")");
    db.exec("DEALLOCATE " + name + "; RESET plan_cache_mode");
    BOOST_REQUIRE(plan);
    std::vector<std::string> missing;
    int here = 0;
    scans_without_org(boost::json::parse(*plan), layout.distributed, st.org_param, missing, here);
    BOOST_TEST_INFO(st.name);
    BOOST_TEST(here > 0);
    BOOST_TEST_INFO((missing.empty() ? std::string() : missing.front()));
    BOOST_TEST(missing.empty());
    checked += here;
  }
  BOOST_TEST_MESSAGE(statements.size() << " statements, " << checked << " scans of distributed tables, all by org_id");
}

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
  const test::scratch_database scratch("hookstream_scratch");
  const std::string& url = scratch.url();
  const storage::migration broken[] = {
      {1, "0001_ok", "CREATE TABLE kept_if_committed (x int);"},
      {2, "0002_broken", "CREATE TABLE oops (x no_such_type);"},
  };
  boost::asio::io_context io(test::io_concurrency_hint());
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
  const test::scratch_database scratch("hookstream_explain");
  const std::string& url = scratch.url();
  BOOST_REQUIRE(storage::migrate_database(url, 60s));
  test::sql_session db(url);
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
    std::string name;
    storage::attempt_filter filter;
  };
  std::vector<shape> shapes(8);
  shapes[0].name = "unfiltered";
  shapes[1].name = "event";
  shapes[1].filter.event_id = {"evt_3"};
  shapes[2].name = "connection";
  shapes[2].filter.connection_id = {"conn_3"};
  shapes[3].name = "destination";
  shapes[3].filter.destination_id = {"dst_3"};
  shapes[4].name = "status";
  shapes[4].filter.status = {"failed"};
  shapes[5].name = "dlq";
  shapes[5].filter.in_dlq = true;
  shapes[6].name = "status+connection";  // "+" marks a combination
  shapes[6].filter.status = {"failed"};
  shapes[6].filter.connection_id = {"conn_3"};
  shapes[7].name = "not dlq";
  shapes[7].filter.in_dlq = false;
  // Several values (one ordered index scan per value, merged), and every shape
  // again with a time range around the anchor (issue 12).
  const auto several = [&](const char* name, auto set) {
    shape s{name, {}};
    set(s.filter);
    shapes.push_back(std::move(s));
  };
  several("3 statuses", [](auto& f) { f.status = {"failed", "pending", "retrying"}; });
  several("2 connections", [](auto& f) { f.connection_id = {"conn_1", "conn_3"}; });
  several("2 destinations", [](auto& f) { f.destination_id = {"dst_0", "dst_4"}; });
  several("10 events", [](auto& f) {
    f.event_id = {"evt_0", "evt_1", "evt_2", "evt_3", "evt_4", "evt_5", "evt_6", "evt_7", "evt_8", "evt_9"};
  });
  several("2 statuses+connection", [](auto& f) {
    f.status = {"failed", "success"};
    f.connection_id = {"conn_2"};
  });
  several("2 statuses+2 connections", [](auto& f) {
    f.status = {"failed", "success"};
    f.connection_id = {"conn_2", "conn_4"};
  });
  const std::int64_t day = 86'400'000'000;
  for (std::size_t i = 0, unranged = shapes.size(); i < unranged; ++i) {
    shape s = shapes[i];
    s.name = shapes[i].name + " in range";
    s.filter.created_after = std::stoll(*month_start) - 10 * day + 12'345'678;
    s.filter.created_before = std::stoll(*month_start) + 5 * day - 999;
    shapes.push_back(std::move(s));
  }
  // Half-open ranges too.
  shapes.push_back(shapes[4]);
  shapes.back().name = "status after";
  shapes.back().filter.created_after = std::stoll(*month_start) - 3 * day;
  shapes.push_back(shapes[8]);
  shapes.back().name = "3 statuses before";
  shapes.back().filter.created_before = std::stoll(*month_start) + 2 * day;

  // As on the server's connections (connection_pool's session set-up).
  db.exec("SET max_parallel_workers_per_gather = 0");
  const storage::page_mode modes[] = {storage::page_mode::offset, storage::page_mode::after,
                                      storage::page_mode::before, storage::page_mode::deep_offset};
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    for (auto page_mode : modes) {
    for (auto& s : shapes)
    for (bool with_total : {true, false})
    for (bool identities : {false, true}) {
      // An event filter's offset page is read without its total first
      // (list_attempts): that statement is planned too. So is each statement's
      // form that returns row identities for the row cache.
      if (!with_total && (page_mode != storage::page_mode::offset || s.filter.event_id.empty())) continue;
      storage::page_request req;
      req.filter = s.filter;
      req.limit = 50;
      req.mode = page_mode;
      req.anchor = {std::stoll(*month_start), "da_" + std::string(32, '8')};
      req.offset = page_mode == storage::page_mode::deep_offset ? 1000 : 0;
      auto params = storage::list_attempts_params(t.id(), req);
      if (identities) params.pop_back();  // no field cap
      std::string args;
      for (auto& p : params) args += (args.empty() ? "" : ", ") + test::quote(p);
      const std::string stmt = "explain_" + test::random_hex(8);
      db.exec(std::string("SET plan_cache_mode = ") + mode + "; PREPARE " + stmt + " AS " +
              (identities ? storage::list_attempt_identities_sql(s.filter, page_mode, with_total)
                          : storage::list_attempts_sql(s.filter, page_mode, with_total)));
      const auto plan_lines = db.column("EXPLAIN EXECUTE " + stmt + "(" + args + ")");
      // Run for real: how many rows each scan of the page (alias i, one per
      // arm and partition) handed over. A scan that stops after the page
      // brings at most limit + 1 rows (the look-ahead row).
      const bool first_or_next = page_mode == storage::page_mode::offset || page_mode == storage::page_mode::after;
      std::vector<std::string> analyzed;
      if (first_or_next && std::string(mode) == "force_custom_plan")
        analyzed = db.column("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE " + stmt + "(" + args + ")");
      db.exec("DEALLOCATE " + stmt + "; RESET plan_cache_mode");
      std::string plan;
      for (auto& l : plan_lines) plan += l + "\n";
      BOOST_TEST_CONTEXT(mode << " / mode " << static_cast<int>(page_mode) << " / " << s.name
                              << (with_total ? "" : " (without its total)")
                              << (identities ? " (identities)" : "") << ":\n" << plan) {
        // One filter (or none): its index hands rows over in listing order.
        // (A Sort node, "Sort  (cost..." or "Incremental Sort  (...": the merge of
        // several values' scans names its order as "Sort Key", which is no sort.)
        if (s.name.find('+') == std::string::npos) BOOST_TEST(plan.find("Sort  (") == std::string::npos);
        // For one filter, neither the page (aliases i, d), nor the has-more probe
        // (alias e), nor a count scans the table. (A combination that matches
        // few rows of this small table may rightly be scanned and sorted.)
        // An event's attempts are counted directly (alias n: events are selective
        // by nature, a few retries each); here 10 events hold every row of the
        // table, so reading all of it for their count is the right plan.
        if (s.name.find('+') == std::string::npos)
          for (const auto& line : plan_lines)
            for (const auto& partition : filled)
              if (line.find("Seq Scan on " + partition + " ") != std::string::npos)
                BOOST_TEST((s.name.find("events") != std::string::npos &&
                            std::regex_search(line, std::regex("Seq Scan on \\S+ n(_[0-9]+)? "))),
                           line);
        // The total's pending counter rows (migration 0041's log, whose content
        // changes every fold) are found through the log's tenant index, also
        // by the generic plan the pools cache.
        BOOST_TEST(plan.find("Seq Scan on attempt_count_log") == std::string::npos);
        // Deep offsets skip rows in the index alone, never through the heap.
        if (page_mode == storage::page_mode::deep_offset && s.name.find("dlq") == std::string::npos &&
            s.name.find('+') == std::string::npos)
          BOOST_TEST(plan.find("Index Only Scan using delivery_attempts_") != std::string::npos);
        // The page itself comes from an ordered index scan (a bitmap or sequential
        // scan would need the sort we just ruled out).
        if (s.name.find('+') == std::string::npos)
          BOOST_TEST((plan.find("Index Scan using delivery_attempts_") != std::string::npos ||
                      plan.find("Index Scan Backward using delivery_attempts_") != std::string::npos));
        // Keyset pages seek to their anchor through the index (an Index Cond on
        // the row comparison), not by filtering rows one by one.
        const bool keyset = page_mode == storage::page_mode::after || page_mode == storage::page_mode::before;
        if (keyset && s.name.find('+') == std::string::npos)
          BOOST_TEST(plan.find("(ROW(created_at, id) ") != std::string::npos);
      }
      if (analyzed.empty() || s.name.find('+') != std::string::npos) continue;
      static const std::regex page_scan(R"(Index (Only )?Scan (Backward )?using \S+ on \S+ i(_[0-9]+)? .*actual rows=([0-9]+) loops=([0-9]+))");
      std::string text;
      int scans = 0;
      for (const auto& l : analyzed) {
        text += l + "\n";
        std::smatch m;
        if (!std::regex_search(l, m, page_scan)) continue;
        ++scans;
        BOOST_TEST(std::stoll(m[4]) * std::stoll(m[5]) <= req.limit + 1, s.name << " / mode " << static_cast<int>(page_mode) << ": " << l);
      }
      BOOST_TEST(scans >= 1, s.name << " / mode " << static_cast<int>(page_mode) << ": no page scan in\n" << text);
    }
    }
  }

  // The rows a cached page lacks, by key (list_attempts with a row cache): one
  // primary-key probe per row, in its own partition, also in the generic plan.
  const auto ids = db.scalar("SELECT array_agg(id ORDER BY created_at)::text FROM (SELECT id, created_at FROM "
                             "delivery_attempts ORDER BY created_at DESC LIMIT 50 OFFSET 9000) x");
  const auto times = db.scalar("SELECT array_agg(created_at ORDER BY created_at)::text FROM (SELECT created_at FROM "
                               "delivery_attempts ORDER BY created_at DESC LIMIT 50 OFFSET 9000) x");
  BOOST_REQUIRE(ids && times);
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    const std::string stmt = "by_key_" + test::random_hex(8);
    db.exec(std::string("SET plan_cache_mode = ") + mode + "; PREPARE " + stmt + " AS " +
            storage::attempts_by_key_sql());
    const std::string args = test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", " + test::quote(*ids) + ", " +
                             test::quote(*times) + ", 1024";
    const auto lines = db.column("EXPLAIN EXECUTE " + stmt + "(" + args + ")");
    const auto found = db.column("EXECUTE " + stmt + "(" + args + ")");
    db.exec("DEALLOCATE " + stmt + "; RESET plan_cache_mode");
    std::string plan;
    for (auto& l : lines) plan += l + "\n";
    BOOST_TEST_CONTEXT(mode << ", rows by key:\n" << plan) {
      for (const auto& partition : filled) BOOST_TEST(plan.find("Seq Scan on " + partition + " ") == std::string::npos);
      BOOST_TEST(plan.find("Index Scan using delivery_attempts") != std::string::npos);
      BOOST_TEST(plan.find("Nested Loop") != std::string::npos);
      BOOST_TEST(found.size() == 50u);
    }
  }
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
