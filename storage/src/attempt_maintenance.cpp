#include <hookstream/storage/attempt_maintenance.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <array>
#include <atomic>
#include <string_view>
#include <thread>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {

// Only one connection at a time creates and drops partitions (session lock, so
// it spans the run's many transactions). 7286091634 is the migrations' lock,
// 7286091635 the counters' (taken inside the SQL functions).
constexpr std::string_view maintenance_lock = "7286091636";

// Folds of at least this many log rows are followed by a VACUUM of the log.
constexpr std::int64_t vacuum_after_rows = 1000;

// SQLSTATE 55P03 lock_not_available: lock_timeout expired.
bool lock_timed_out(const db_error& e) { return e.sqlstate == "55P03"; }

std::string literal(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}

std::int64_t text_integer(const query_result& r, int row, int col) {
  return r.rows() > row && !r.is_null(row, col) ? std::stoll(std::string(r.bytes(row, col))) : 0;
}

// Environments with attempts (a loose index scan over delivery_attempts_list:
// one probe per environment, not a scan of the rows) or with counters.
constexpr std::string_view environments_sql = R"sql(
WITH RECURSIVE envs AS (
  (SELECT org_id, env_id FROM delivery_attempts ORDER BY org_id, env_id LIMIT 1)
  UNION ALL
  SELECT n.org_id, n.env_id FROM envs e CROSS JOIN LATERAL (
    SELECT d.org_id, d.env_id FROM delivery_attempts d WHERE (d.org_id, d.env_id) > (e.org_id, e.env_id)
    ORDER BY d.org_id, d.env_id LIMIT 1) n)
SELECT org_id, env_id FROM envs
UNION SELECT org_id, env_id FROM attempt_counts
UNION SELECT org_id, env_id FROM attempt_count_log
UNION SELECT org_id, env_id FROM attempt_counts_daily
ORDER BY 1, 2)sql";

// The rows of one environment counted per (route, status, DLQ flag, day) and per
// (status, DLQ flag, minute) in one pass, and the same cells as the counters
// hold them (routes by day, the tenant by minute: migration 0010). A CTE prefix
// shared by the check and the recount.
constexpr std::string_view cells_sql = R"sql(
WITH grouped AS (
  SELECT connection_id, destination_id, status, coalesce(is_dlq, 0) = 1 AS in_dlq,
         (created_at AT TIME ZONE 'UTC')::date AS day, date_trunc('minute', created_at AT TIME ZONE 'UTC') AS minute,
         count(*) AS n
  FROM delivery_attempts WHERE org_id = $1 AND env_id = $2
  GROUP BY GROUPING SETS ((1, 2, 3, 4, 5), (3, 4, 6))),
actual AS (
  SELECT connection_id, destination_id, status, in_dlq, day, n FROM grouped WHERE minute IS NULL),
actual_tenant AS (SELECT status, in_dlq, minute, n FROM grouped WHERE minute IS NOT NULL),
route AS (
  SELECT connection_id, destination_id, status, in_dlq, day, sum(n) AS n FROM (
    SELECT connection_id, destination_id, status, in_dlq, day, n FROM attempt_counts_daily_by_route
    WHERE org_id = $1 AND env_id = $2
    UNION ALL
    SELECT connection_id, destination_id, status, in_dlq, minute::date, n FROM attempt_count_log
    WHERE org_id = $1 AND env_id = $2 AND connection_id IS NOT NULL) r
  GROUP BY 1, 2, 3, 4, 5),
tenant AS (
  SELECT status, in_dlq, minute, sum(n) AS n FROM (
    SELECT status, in_dlq, minute, n FROM attempt_counts_minutely WHERE org_id = $1 AND env_id = $2
    UNION ALL
    SELECT status, in_dlq, minute, n FROM attempt_count_log WHERE org_id = $1 AND env_id = $2) t
  GROUP BY 1, 2, 3),
route_diff AS (
  SELECT connection_id, destination_id, status, in_dlq, day, coalesce(a.n, 0) - coalesce(c.n, 0) AS n
  FROM actual a FULL JOIN route c USING (connection_id, destination_id, status, in_dlq, day)
  WHERE coalesce(a.n, 0) <> coalesce(c.n, 0)),
tenant_diff AS (
  SELECT status, in_dlq, minute, coalesce(a.n, 0) - coalesce(c.n, 0) AS n
  FROM actual_tenant a FULL JOIN tenant c USING (status, in_dlq, minute)
  WHERE coalesce(a.n, 0) <> coalesce(c.n, 0)))sql";

// Each coarser layer must equal the sum of the finer one: hourly of minutely,
// daily of hourly, all time of daily (per route: all time of daily).
constexpr std::string_view rollup_diff_sql = R"sql(
rollup_diff AS (
  SELECT 1 FROM (SELECT hour, status, in_dlq, n FROM attempt_counts_hourly WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT date_trunc('hour', minute) AS hour, status, in_dlq, sum(n) AS n FROM attempt_counts_minutely
             WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3) f USING (hour, status, in_dlq)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  SELECT 1 FROM (SELECT day, status, in_dlq, n FROM attempt_counts_daily WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT hour::date AS day, status, in_dlq, sum(n) AS n FROM attempt_counts_hourly
             WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3) f USING (day, status, in_dlq)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  -- The totals layers (migration 0042): each bucket's total equals the sum of
  -- its status counters.
  SELECT 1 FROM (SELECT minute, n FROM attempt_totals_minutely WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT minute, sum(n) AS n FROM attempt_counts_minutely WHERE org_id = $1 AND env_id = $2
             GROUP BY 1) f USING (minute)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  SELECT 1 FROM (SELECT hour, n FROM attempt_totals_hourly WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT hour, sum(n) AS n FROM attempt_counts_hourly WHERE org_id = $1 AND env_id = $2
             GROUP BY 1) f USING (hour)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  SELECT 1 FROM (SELECT day, n FROM attempt_totals_daily WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT day, sum(n) AS n FROM attempt_counts_daily WHERE org_id = $1 AND env_id = $2
             GROUP BY 1) f USING (day)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  SELECT 1 FROM (SELECT status, in_dlq, n FROM attempt_counts WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT status, in_dlq, sum(n) AS n FROM attempt_counts_daily WHERE org_id = $1 AND env_id = $2
             GROUP BY 1, 2) f USING (status, in_dlq)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
  UNION ALL
  SELECT 1 FROM (SELECT connection_id, destination_id, status, in_dlq, n FROM attempt_counts_by_route
                 WHERE org_id = $1 AND env_id = $2) r
  FULL JOIN (SELECT connection_id, destination_id, status, in_dlq, sum(n) AS n FROM attempt_counts_daily_by_route
             WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3, 4) f
  USING (connection_id, destination_id, status, in_dlq)
  WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)))sql";

const std::string& check_sql() {
  static const std::string sql = std::string(cells_sql) + "," + std::string(rollup_diff_sql) + R"sql(
SELECT (SELECT coalesce(sum(n), 0) FROM actual)::int8,
       (SELECT coalesce(sum(n), 0) FROM (SELECT n FROM attempt_counts WHERE org_id = $1 AND env_id = $2
        UNION ALL SELECT n FROM attempt_count_log WHERE org_id = $1 AND env_id = $2) x)::int8,
       ((SELECT count(*) FROM route_diff) + (SELECT count(*) FROM tenant_diff) +
        (SELECT count(*) FROM rollup_diff))::int8)sql";
  return sql;
}

// Corrections are log rows (migration 0041): a tenant cell's without a route,
// a route cell's as a pair at its day's midnight (+n with the route, -n
// without) that leaves the tenant's counts alone. Appended, like writers' rows:
// this REPEATABLE READ transaction never meets a concurrent update of a row it
// writes.
const std::string& correction_sql() {
  static const std::string sql = std::string(cells_sql) + R"sql(,
corrections AS (
  INSERT INTO attempt_count_log (org_id, env_id, connection_id, destination_id, status, in_dlq, minute, n)
  SELECT $1, $2, connection_id, destination_id, status, in_dlq, day::timestamp, n FROM route_diff
  UNION ALL
  SELECT $1, $2, NULL, NULL, status, in_dlq, day::timestamp, -n FROM route_diff
  UNION ALL
  SELECT $1, $2, NULL, NULL, status, in_dlq, minute, n FROM tenant_diff
  RETURNING 1)
SELECT ((SELECT count(*) FROM route_diff) + (SELECT count(*) FROM tenant_diff))::int8)sql";
  return sql;
}

// Rebuilds each coarser layer from the finer one (minute -> hour -> day -> all
// time; per route: day -> all time), and the totals layers (migration 0042)
// from the status counters of their buckets.
constexpr std::string_view rebuild_rollups_sql[] = {
    "DELETE FROM attempt_counts_hourly WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_counts_hourly SELECT org_id, env_id, date_trunc('hour', minute), status, in_dlq, sum(n) "
    "FROM attempt_counts_minutely WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3, 4, 5",
    "DELETE FROM attempt_counts_daily WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_counts_daily SELECT org_id, env_id, hour::date, status, in_dlq, sum(n) "
    "FROM attempt_counts_hourly WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3, 4, 5",
    "DELETE FROM attempt_counts WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_counts SELECT org_id, env_id, status, in_dlq, sum(n) FROM attempt_counts_daily "
    "WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3, 4",
    "DELETE FROM attempt_counts_by_route WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_counts_by_route SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, "
    "sum(n) FROM attempt_counts_daily_by_route WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3, 4, 5, 6",
    "DELETE FROM attempt_totals_minutely WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_totals_minutely SELECT org_id, env_id, minute, sum(n) FROM attempt_counts_minutely "
    "WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3 HAVING sum(n) <> 0",
    "DELETE FROM attempt_totals_hourly WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_totals_hourly SELECT org_id, env_id, hour, sum(n) FROM attempt_counts_hourly "
    "WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3 HAVING sum(n) <> 0",
    "DELETE FROM attempt_totals_daily WHERE org_id = $1 AND env_id = $2",
    "INSERT INTO attempt_totals_daily SELECT org_id, env_id, day, sum(n) FROM attempt_counts_daily "
    "WHERE org_id = $1 AND env_id = $2 GROUP BY 1, 2, 3 HAVING sum(n) <> 0",
};

struct environment {
  std::string org_id, env_id;
};

asio::awaitable<db_result<std::vector<environment>>> environments(pg_connection& conn,
                                                                  const std::optional<std::string>& env_id,
                                                                  clock::time_point deadline) {
  std::string sql(environments_sql);
  if (env_id) sql = "SELECT org_id, env_id FROM (" + sql + ") e WHERE env_id = $1";
  std::vector<query_param> params;
  if (env_id) params.emplace_back(*env_id);
  auto r = co_await conn.execute(sql, params, result_format::binary, deadline);
  if (!r) co_return r.error();
  std::vector<environment> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back({std::string(r->bytes(i, 0)), std::string(r->bytes(i, 1))});
  co_return out;
}

asio::awaitable<db_result<counter_check_row>> check_one(pg_connection& conn, const environment& env,
                                                        clock::time_point deadline) {
  const std::array<query_param, 2> params{std::string_view(env.org_id), std::string_view(env.env_id)};
  auto r = co_await conn.execute(check_sql(), params, result_format::binary, deadline);
  if (!r) co_return r.error();
  co_return counter_check_row{env.org_id, env.env_id, r->integer(0, 0), r->integer(0, 1), r->integer(0, 2)};
}

asio::awaitable<db_result<std::int64_t>> recount_one(pg_connection& conn, const environment& env,
                                                     clock::time_point deadline) {
  const std::array<query_param, 2> tenant{std::string_view(env.org_id), std::string_view(env.env_id)};
  auto fail = [&](db_error e) -> asio::awaitable<db_result<std::int64_t>> {
    if (conn.is_open()) co_await conn.execute_script("ROLLBACK", deadline);
    co_return e;
  };
  // 1. Coarser counters := sums of the finer ones (milliseconds; folds wait).
  if (auto r = co_await conn.execute_script("BEGIN; SELECT pg_advisory_xact_lock(7286091635)", deadline); !r)
    co_return co_await fail(r.error());
  for (auto sql : rebuild_rollups_sql)
    if (auto r = co_await conn.execute(sql, tenant, result_format::binary, deadline); !r)
      co_return co_await fail(r.error());
  if (auto r = co_await conn.execute_script("COMMIT", deadline); !r) co_return co_await fail(r.error());

  // 2. The finest counters (routes by day, the tenant by minute): rows minus
  // counters, in one snapshot taken after the table lock (so no partition can
  // be dropped or truncated under the count).
  if (auto r = co_await conn.execute_script(
          "BEGIN ISOLATION LEVEL REPEATABLE READ; LOCK TABLE delivery_attempts IN ACCESS SHARE MODE", deadline);
      !r)
    co_return co_await fail(r.error());
  auto corrected = co_await conn.execute(correction_sql(), tenant, result_format::binary, deadline);
  if (!corrected) co_return co_await fail(corrected.error());
  if (auto r = co_await conn.execute_script("COMMIT", deadline); !r) co_return co_await fail(r.error());
  co_return corrected->integer(0, 0);
}

// The maintenance session's settings, after every (re)connect. Custom plans:
// its statements run a few times a second at most, so planning each costs
// little, and a cached generic plan of a ctid = ANY (ARRAY (...)) batch (the
// retention's here, the fold's inside its function: migration 0043) can be a
// sequential scan that compares every row with the whole array.
asio::awaitable<db_result<void>> set_session(pg_connection& conn, const maintenance_config& c,
                                             clock::time_point deadline) {
  auto r = co_await conn.execute_script("SET statement_timeout = " + std::to_string(c.statement_timeout.count()) +
                                            "; SET lock_timeout = " + std::to_string(c.lock_timeout.count()) +
                                            "; SET plan_cache_mode = force_custom_plan",
                                        deadline);
  if (!r) co_return r.error();
  co_return db_result<void>{};
}

// Partitions ahead and retention; the caller holds the maintenance lock.
asio::awaitable<db_result<void>> partitions_and_retention(pg_connection& conn, const maintenance_config& c,
                                                          maintenance_report& report, clock::time_point deadline) {
  const std::string ahead = std::to_string(c.partitions_ahead.count()) + " hours";
  auto made = co_await conn.execute_script(
      "SELECT hookstream_create_attempt_partitions(now() + interval " + literal(ahead) + ")", deadline);
  if (made) {
    report.partitions_created = static_cast<int>(text_integer(*made, 0, 0));
  } else if (lock_timed_out(made.error())) {
    report.notes.push_back("creating partitions: delivery_attempts stayed locked; retried next run");
  } else {
    co_return made.error();
  }
  if (c.retention_days <= 0) co_return db_result<void>{};

  // Partitions wholly older than the cutoff are dropped; the one holding the
  // cutoff loses its older rows in batches.
  auto cutoff = co_await conn.execute_script(
      "SELECT (now() - interval " + literal(std::to_string(c.retention_days) + " days") + ")::text", deadline);
  if (!cutoff) co_return cutoff.error();
  const std::string at(cutoff->bytes(0, 0));
  auto parts = co_await conn.execute_script(
      "SELECT i.inhrelid::regclass::text, b.hi IS NOT NULL AND b.hi <= " + literal(at) +
          "::timestamptz FROM pg_inherits i CROSS JOIN LATERAL hookstream_attempt_partition_bounds(i.inhrelid) b "
          "WHERE i.inhparent = 'delivery_attempts'::regclass AND (b.lo IS NULL OR b.lo < " + literal(at) +
          "::timestamptz) ORDER BY b.lo NULLS FIRST",
      deadline);
  if (!parts) co_return parts.error();
  for (int i = 0; i < parts->rows(); ++i) {
    const std::string part(parts->bytes(i, 0));
    if (parts->bytes(i, 1) == "t") {
      auto dropped = co_await conn.execute_script(
          "SELECT hookstream_drop_attempt_partition(" + literal(part) + "::regclass)", deadline);
      if (dropped) {
        ++report.partitions_dropped;
      } else if (lock_timed_out(dropped.error())) {
        report.notes.push_back("dropping " + part + ": delivery_attempts stayed locked; retried next run");
      } else {
        co_return dropped.error();
      }
      continue;
    }
    // Old rows are found per environment through its listing index (org_id,
    // env_id, created_at ...), so each batch reads only rows it deletes: a scan
    // of the partition per batch would revisit the dead rows of earlier
    // batches. Each batch is its own statement and transaction (row locks and
    // WAL stay small), counted by the row triggers (migration 0041).
    auto tenants = co_await conn.execute_script(
        "WITH RECURSIVE envs AS ((SELECT org_id, env_id FROM " + part + " ORDER BY org_id, env_id LIMIT 1) "
        "UNION ALL SELECT n.org_id, n.env_id FROM envs e CROSS JOIN LATERAL (SELECT d.org_id, d.env_id FROM " +
            part + " d WHERE (d.org_id, d.env_id) > (e.org_id, e.env_id) ORDER BY d.org_id, d.env_id LIMIT 1) n) "
            "SELECT org_id, env_id FROM envs",
        deadline);
    if (!tenants) co_return tenants.error();
    const std::string batch = "DELETE FROM " + part + " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " + part +
                              " WHERE org_id = $1 AND env_id = $2 AND created_at < $3::timestamptz LIMIT " +
                              std::to_string(c.delete_batch) + "))";
    for (int t = 0; t < tenants->rows(); ++t) {
      const std::array<query_param, 3> params{tenants->bytes(t, 0), tenants->bytes(t, 1), std::string_view(at)};
      for (;;) {
        if (clock::now() >= deadline) {
          report.notes.push_back("retention: out of time; the rest is deleted next run");
          co_return db_result<void>{};
        }
        auto deleted = co_await conn.execute(batch, params, result_format::binary, deadline);
        if (!deleted) co_return deleted.error();
        report.rows_deleted += deleted->affected_rows();
        if (deleted->affected_rows() < c.delete_batch) break;
      }
    }
  }
  co_return db_result<void>{};
}

asio::awaitable<db_result<void>> connect(pg_connection& conn, const std::string& conninfo) {
  co_return co_await conn.connect(conninfo, clock::now() + std::chrono::seconds(10));
}

template <class T>
db_result<T> run_blocking(const std::string& conninfo,
                          std::function<asio::awaitable<db_result<T>>(pg_connection&)> body) {
  asio::io_context io;
  auto task = [&]() -> asio::awaitable<db_result<T>> {
    pg_connection conn(io.get_executor());
    conn.set_fallback_application_name("hookstream-maintenance");
    if (auto r = co_await connect(conn, conninfo); !r) co_return r.error();
    co_return co_await body(conn);
  };
  auto future = asio::co_spawn(io, task(), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace

asio::awaitable<db_result<std::int64_t>> fold_count_deltas(pg_connection& conn, int batch,
                                                           clock::time_point deadline) {
  const std::string b = std::to_string(batch);
  const std::array<query_param, 1> params{std::string_view(b)};
  std::int64_t total = 0;
  // Bounded: under constant writes there is always something new to fold.
  for (int round = 0; round < 50; ++round) {
    auto r = co_await conn.execute("SELECT hookstream_fold_count_deltas($1::int4)", params, result_format::binary,
                                   deadline);
    if (!r) co_return r.error();
    const std::int64_t folded = r->integer(0, 0);
    total += folded;
    if (folded < batch) break;
  }
  // Folded log rows are dead rows and dead index entries that every reader of
  // their tenant steps over until a VACUUM removes them (autovacuum may wait a
  // minute). After a large fold, vacuum now: the log is small, so this takes
  // milliseconds; SKIP_LOCKED: when another instance is vacuuming it, skip.
  if (total >= vacuum_after_rows)
    if (auto v = co_await conn.execute_script("VACUUM (SKIP_LOCKED) attempt_count_log", deadline); !v)
      co_return v.error();
  co_return total;
}

asio::awaitable<db_result<maintenance_report>> run_maintenance(pg_connection& conn, const maintenance_config& c,
                                                               clock::time_point deadline) {
  maintenance_report report;
  if (auto r = co_await set_session(conn, c, deadline); !r) co_return r.error();
  auto folded = co_await fold_count_deltas(conn, c.fold_batch, deadline);
  if (!folded) co_return folded.error();
  report.folded_deltas = *folded;

  auto locked = co_await conn.execute_script("SELECT pg_try_advisory_lock(" + std::string(maintenance_lock) + ")",
                                             deadline);
  if (!locked) co_return locked.error();
  if (locked->bytes(0, 0) != "t") {
    report.skipped_partitions = true;
    co_return report;
  }
  auto done = co_await partitions_and_retention(conn, c, report, deadline);
  if (conn.is_open())
    co_await conn.execute_script("SELECT pg_advisory_unlock(" + std::string(maintenance_lock) + ")", deadline);
  if (!done) co_return done.error();
  co_return report;
}

asio::awaitable<db_result<std::vector<counter_check_row>>> check_counters(pg_connection& conn,
                                                                          std::optional<std::string> env_id,
                                                                          clock::time_point deadline) {
  auto envs = co_await environments(conn, env_id, deadline);
  if (!envs) co_return envs.error();
  std::vector<counter_check_row> out;
  for (const auto& e : *envs) {
    auto row = co_await check_one(conn, e, deadline);
    if (!row) co_return row.error();
    out.push_back(std::move(*row));
  }
  co_return out;
}

asio::awaitable<db_result<std::vector<counter_check_row>>> recount_counters(pg_connection& conn,
                                                                            std::optional<std::string> env_id,
                                                                            clock::time_point deadline) {
  auto envs = co_await environments(conn, env_id, deadline);
  if (!envs) co_return envs.error();
  std::vector<counter_check_row> out;
  for (const auto& e : *envs) {
    auto corrected = co_await recount_one(conn, e, deadline);
    if (!corrected) co_return corrected.error();
    // Fold now, so the corrections leave the pending rows readers sum.
    if (auto f = co_await fold_count_deltas(conn, 10000, deadline); !f) co_return f.error();
    auto row = co_await check_one(conn, e, deadline);
    if (!row) co_return row.error();
    row->wrong_cells = *corrected;  // what was corrected, not what is left
    out.push_back(std::move(*row));
  }
  co_return out;
}

db_result<maintenance_report> maintain_database(const std::string& conninfo, const maintenance_config& config) {
  return run_blocking<maintenance_report>(conninfo, [&](pg_connection& conn) {
    return run_maintenance(conn, config, clock::now() + config.statement_timeout * 10);
  });
}

db_result<std::vector<counter_check_row>> check_database_counters(const std::string& conninfo,
                                                                  std::optional<std::string> env_id) {
  return run_blocking<std::vector<counter_check_row>>(conninfo, [&](pg_connection& conn) {
    return check_counters(conn, env_id, clock::now() + std::chrono::hours(24));
  });
}

db_result<std::vector<counter_check_row>> recount_database_counters(const std::string& conninfo,
                                                                    std::optional<std::string> env_id) {
  return run_blocking<std::vector<counter_check_row>>(conninfo, [&](pg_connection& conn) {
    return recount_counters(conn, env_id, clock::now() + std::chrono::hours(24));
  });
}

// --- the background runner -------------------------------------------------------

namespace {
struct maintenance_runner_state_access {
  asio::io_context* io;
  asio::steady_timer* timer;
  std::atomic<bool>* stopping;
};
}  // namespace

struct maintenance_runner::state {
  asio::io_context io;
  asio::steady_timer timer{io};
  std::atomic<bool> stopping{false};
  std::thread thread;
};

namespace {
// A free coroutine: its parameters live in the coroutine frame (a lambda's
// captures would die with the lambda object).
asio::awaitable<void> maintenance_loop(maintenance_runner_state_access s, std::string conninfo,
                                       maintenance_config config, std::chrono::milliseconds interval,
                                       std::chrono::milliseconds partition_interval,
                                       maintenance_runner::log_function log) {
  pg_connection conn(s.io->get_executor());
  // Not one of the request pool's connections: named apart in pg_stat_activity.
  conn.set_fallback_application_name("hookstream-maintenance");
  clock::time_point next_full{};  // the first pass is a full one
  // A database that stays down would otherwise log the same line every interval.
  std::string last_line;
  clock::time_point last_logged{};
  auto report = [&](const std::string& line) {
    if (line == last_line && clock::now() - last_logged < std::chrono::minutes(1)) return;
    last_line = line;
    last_logged = clock::now();
    log(line);
  };
  while (!*s.stopping) {
    const auto deadline = clock::now() + config.statement_timeout * 2;
    if (!conn.usable()) {
      if (auto r = co_await connect(conn, conninfo); !r)
        report("maintenance: cannot connect: " + r.error().message);
      else if (auto set = co_await set_session(conn, config, deadline); !set)
        report("maintenance: setting up the session: " + set.error().message);
    }
    if (conn.usable()) {
      if (clock::now() >= next_full) {
        auto r = co_await run_maintenance(conn, config, deadline);
        if (!r) {
          report("maintenance: " + r.error().message);
        } else {
          next_full = clock::now() + partition_interval;
          if (r->partitions_created || r->partitions_dropped || r->rows_deleted)
            report("maintenance: " + std::to_string(r->partitions_created) + " partitions created, " +
                std::to_string(r->partitions_dropped) + " dropped, " + std::to_string(r->rows_deleted) +
                " old attempts deleted");
          for (const auto& note : r->notes) report("maintenance: " + note);
        }
      } else if (auto r = co_await fold_count_deltas(conn, config.fold_batch, deadline); !r) {
        report("maintenance: folding counter deltas: " + r.error().message);
      }
    }
    s.timer->expires_after(interval);
    boost::system::error_code ec;
    co_await s.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}
}  // namespace

maintenance_runner::maintenance_runner(std::string conninfo, maintenance_config config,
                                       std::chrono::milliseconds interval,
                                       std::chrono::milliseconds partition_interval, log_function log)
    : state_(std::make_unique<state>()) {
  state& s = *state_;
  asio::co_spawn(s.io,
                 maintenance_loop({&s.io, &s.timer, &s.stopping}, std::move(conninfo), config, interval,
                                  partition_interval, std::move(log)),
                 asio::detached);
  s.thread = std::thread([&s] { s.io.run(); });
}

void maintenance_runner::stop() {
  if (!state_ || state_->stopping.exchange(true)) return;
  asio::post(state_->io, [s = state_.get()] { s->timer.cancel(); });
}

maintenance_runner::~maintenance_runner() {
  stop();
  if (state_ && state_->thread.joinable()) state_->thread.join();
}

}  // namespace hookstream::storage
