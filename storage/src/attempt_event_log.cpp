#include "attempt_sql.hpp"

#include <hookstream/storage/attempt_event_log.hpp>

#include <array>
#include <climits>
#include <cstdint>
#include <unordered_map>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {

using detail::arg;
using detail::attempt_columns;
using detail::column_count;

// Bytes an event's large fields bring, as far as the cap lets them: computed
// from the stored sizes (octet_length reads a TOAST pointer's header, not the value).
std::string row_bytes(const std::string& x, const std::string& cap) {
  std::string sum;
  for (const char* col : {"request_headers", "response_headers", "response_body", "error"})
    sum += std::string(sum.empty() ? "" : " + ") + "least(coalesce(octet_length(" + x + "." + col + "), 0), " + cap +
           ")";
  return sum;
}

// A boolean column `fits`: whether an event starts within `budget` bytes of
// large fields, counted in log order. The budget never stops the first event,
// and the events it does stop form the end of the read, so what is read stays
// one contiguous run of the log. (A window over at most one read's events,
// cut by LIMIT first: cheap here, unlike over a listing's deep pages.)
std::string fits_column(const std::string& x, const std::string& cap, const std::string& budget,
                        const std::string& order_by) {
  return "coalesce(sum(" + row_bytes(x, cap) + ") OVER (ORDER BY " + order_by +
         " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) < " + budget + " AS fits";
}

// Columns after the attempt's: fits, xid, seq, then per statement.
constexpr int fits_col = column_count;
constexpr int xid_col = column_count + 1;
constexpr int seq_col = column_count + 2;

const char* const horizon_sql = "SELECT pg_snapshot_xmin(pg_current_snapshot())";

// The horizon and the held-back check are computed once in `h`, in the same
// snapshot as the events (the check as an ordered probe of the primary key,
// which the planner cannot turn into a scan); LEFT JOIN LATERAL keeps one row (of nulls) when no
// event is there, so the horizon always comes back. The events are cut at
// `max_events` in the subquery, then weighed against the byte budget in log
// order (the listing's technique: rows past it come without large fields).
std::string read_events_sql() {
  const std::string cap = "$4::int4";
  return "SELECT " + attempt_columns(cap, "a.fits") +
         ", a.fits, a.xid, a.seq, h.xmin, h.held FROM (SELECT x.xmin, (SELECT w.xid FROM attempt_events w "
         "WHERE w.xid >= x.xmin ORDER BY w.xid LIMIT 1) IS NOT NULL AS held "
         "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) x) h "
         "LEFT JOIN LATERAL (SELECT p.*, " +
         fits_column("p", cap, "$5::int8", "p.xid, p.seq") +
         " FROM (SELECT e.* FROM attempt_events e WHERE (e.xid, e.seq) > ($1::xid8, $2::int8) AND e.xid < h.xmin "
         "ORDER BY e.xid, e.seq LIMIT $3) p) a ON true ORDER BY a.xid, a.seq";
}

// One tenant's events in (after, through], filtered like the listing, with the
// retention check in the same snapshot: when the log was pruned past `after`,
// no event is read (ON NOT h.expired) and `expired` says why.
std::string read_tenant_events_sql(const attempt_filter& f) {
  const detail::filter_sql p = detail::filter_conditions(f, "e");
  // (Built by appending: GCC 12 warns falsely (-Wrestrict) on "(" + std::string.)
  auto pair = [](int first) {
    std::string s = "(";
    s += arg(first);
    s += "::xid8, ";
    s += arg(first + 1);
    s += "::int8)";
    return s;
  };
  const std::string after = pair(p.next);
  const std::string through = pair(p.next + 2);
  const std::string limit = arg(p.next + 4);
  const std::string cap = arg(p.next + 5) + "::int4";
  const std::string budget = arg(p.next + 6) + "::int8";
  return "SELECT " + attempt_columns(cap, "a.fits") +
         ", a.fits, a.xid, a.seq, h.expired FROM (SELECT (r.pruned_xid, r.pruned_seq) > " + after +
         " AS expired FROM attempt_event_log r) h LEFT JOIN LATERAL (SELECT p.*, " +
         fits_column("p", cap, budget, "p.xid, p.seq") + " FROM (SELECT e.* FROM attempt_events e WHERE " +
         p.where + " AND (e.xid, e.seq) > " + after + " AND (e.xid, e.seq) <= " + through +
         " ORDER BY e.xid, e.seq LIMIT " + limit + ") p) a ON NOT h.expired ORDER BY a.xid, a.seq";
}

// The statement of each filter shape, rendered once per thread (no lock on the
// request path); shapes are bounded, a thread keeps up to 256 of them.
const std::string& tenant_sql_for(const attempt_filter& f) {
  thread_local std::unordered_map<std::uint32_t, std::string> cache;
  const std::uint32_t shape = detail::filter_shape(f);
  if (auto it = cache.find(shape); it != cache.end()) return it->second;
  if (cache.size() >= 256) cache.clear();  // rare: rendering again is cheap
  return cache.emplace(shape, read_tenant_events_sql(f)).first->second;
}

// Pruning, in one statement (one snapshot, one commit): the oldest
// `max_events` events, the first of them that must stay (recorded within the
// retention, or not final yet), everything before it deleted, and the last
// deleted position recorded unless another pruner already recorded a later one.
//
// The batch size is written into the statement, not passed: the sessions that
// prune force generic plans (session_settings), and a generic plan reckons
// `LIMIT $n` at a tenth of the log. For that many rows it joined the batch
// to the log by hashing the whole log (a sequential scan spilled to disk):
// 676 ms per 5,000 events on a log of 2.8M, against 21 ms for the 5,000 index
// probes it picks when it knows the batch's size. A caller uses one size, so
// this is one prepared statement per connection.
std::string prune_sql(int max_events) {
  return "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin), "
         "head AS (SELECT e.xid, e.seq, e.recorded_at FROM attempt_events e ORDER BY e.xid, e.seq LIMIT " +
         std::to_string(max_events) +
         "), first_kept AS (SELECT head.xid, head.seq FROM head, h WHERE head.recorded_at >= now() - $1::int8 * "
         "interval '1 second' OR head.xid >= h.xmin ORDER BY head.xid, head.seq LIMIT 1), "
         "doomed AS (SELECT head.xid, head.seq FROM head WHERE NOT EXISTS (SELECT 1 FROM first_kept k "
         "WHERE (head.xid, head.seq) >= (k.xid, k.seq))), "
         "gone AS (DELETE FROM attempt_events e USING doomed d WHERE e.xid = d.xid AND e.seq = d.seq "
         "RETURNING e.xid, e.seq), "
         "last AS (SELECT g.xid, g.seq FROM gone g ORDER BY g.xid DESC, g.seq DESC LIMIT 1), "
         "moved AS (UPDATE attempt_event_log r SET pruned_xid = last.xid, pruned_seq = last.seq FROM last "
         "WHERE (r.pruned_xid, r.pruned_seq) < (last.xid, last.seq) RETURNING 1) "
         "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM moved)";
}

const char* const pruned_sql = "SELECT pruned_xid, pruned_seq FROM attempt_event_log";

event_position position_at(const query_result& r, int row) {
  return {static_cast<std::uint64_t>(r.integer(row, xid_col)), r.integer(row, seq_col)};
}

// How many leading rows are events (not the null row of an empty read) that fit
// the byte budget (the first event always fits).
int fitting_events(const query_result& r) {
  int n = 0;
  while (n < r.rows() && !r.is_null(n, 0) && r.boolean(n, fits_col)) ++n;
  return n;
}

// The events of `r`'s first `n` rows, moved into `out`.
void take_events(query_result&& r, int n, std::int32_t max_field_bytes, event_rows& out) {
  out.positions.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.positions.push_back(position_at(r, i));
  out.rows = attempt_rows(std::move(r), n, false, max_field_bytes);
}

db_error wrong_shape(const char* what, const query_result& r) {
  return db_error{errc::protocol_error,
                  std::string(what) + " returned " + std::to_string(r.columns()) + " columns, " +
                      std::to_string(r.rows()) + " rows",
                  {}};
}

}  // namespace

asio::awaitable<db_result<event_position>> read_event_horizon(pg_connection& conn, clock::time_point deadline) {
  auto r = co_await conn.execute(horizon_sql, {}, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->rows() != 1 || r->columns() != 1 || r->is_null(0, 0)) co_return wrong_shape("the event horizon", *r);
  co_return event_position{static_cast<std::uint64_t>(r->integer(0, 0)), 0};
}

asio::awaitable<db_result<bool>> writers_in_progress(pg_connection& conn, clock::time_point deadline) {
  static const char* const sql =
      "SELECT EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) a WHERE a.backend_xid IS NOT NULL "
      "AND a.pid <> pg_backend_pid() AND a.datid = (SELECT d.oid FROM pg_database d "
      "WHERE d.datname = current_database()))";
  auto r = co_await conn.execute(sql, {}, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->rows() != 1 || r->columns() != 1 || r->is_null(0, 0)) co_return wrong_shape("the open writers", *r);
  co_return r->boolean(0, 0);
}

asio::awaitable<db_result<event_batch>> read_events(pg_connection& conn, event_position after,
                                                    const event_read_limits& limits, clock::time_point deadline) {
  static const std::string sql = read_events_sql();
  const std::string xid = std::to_string(after.xid), seq = std::to_string(after.seq);
  const std::string limit = std::to_string(limits.max_events), cap = std::to_string(limits.max_field_bytes),
                    budget = std::to_string(limits.max_bytes);
  const std::array<query_param, 5> params{xid, seq, limit, cap, budget};
  auto r = co_await conn.execute(sql, params, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->columns() != column_count + 5 || r->rows() < 1) co_return wrong_shape("the event log read", *r);

  event_batch batch;
  const event_position xmin{static_cast<std::uint64_t>(r->integer(0, column_count + 3)), 0};
  batch.held_back = r->boolean(0, column_count + 4);
  const int events = r->is_null(0, 0) ? 0 : r->rows();
  const int taken = fitting_events(*r);
  batch.more = events == limits.max_events || taken < events;
  take_events(std::move(*r), taken, limits.max_field_bytes, batch);
  // A full read ends at its last event; otherwise everything below xmin is read.
  if (batch.more) batch.horizon = batch.positions.back();
  else batch.horizon = std::max(after, xmin);
  co_return batch;
}

asio::awaitable<db_result<tenant_event_page>> read_tenant_events(pg_connection& conn, const tenant_id& tenant,
                                                                 const attempt_filter& filter, event_position after,
                                                                 event_position through,
                                                                 const event_read_limits& limits,
                                                                 clock::time_point deadline) {
  std::vector<std::string> values = detail::filter_params(tenant, filter);
  values.push_back(std::to_string(after.xid));
  values.push_back(std::to_string(after.seq));
  values.push_back(std::to_string(through.xid));
  values.push_back(std::to_string(through.seq));
  values.push_back(std::to_string(limits.max_events));
  values.push_back(std::to_string(limits.max_field_bytes));
  values.push_back(std::to_string(limits.max_bytes));
  const std::vector<query_param> params(values.begin(), values.end());
  auto r = co_await conn.execute(tenant_sql_for(filter), params, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->columns() != column_count + 4 || r->rows() < 1) co_return wrong_shape("the tenant's event read", *r);

  tenant_event_page page;
  page.expired = r->boolean(0, column_count + 3);
  const int events = r->is_null(0, 0) ? 0 : r->rows();
  const int taken = fitting_events(*r);
  page.complete = !page.expired && events < limits.max_events && taken == events;
  take_events(std::move(*r), taken, limits.max_field_bytes, page);
  co_return page;
}

asio::awaitable<db_result<event_position>> read_pruned_position(pg_connection& conn, clock::time_point deadline) {
  auto r = co_await conn.execute(pruned_sql, {}, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->rows() != 1 || r->columns() != 2) co_return wrong_shape("the event log's state", *r);
  co_return event_position{static_cast<std::uint64_t>(r->integer(0, 0)), r->integer(0, 1)};
}

asio::awaitable<db_result<std::int64_t>> prune_events(pg_connection& conn, std::chrono::seconds retention,
                                                      int max_events, clock::time_point deadline) {
  const std::string seconds = std::to_string(retention.count());
  const std::array<query_param, 1> params{seconds};
  auto r = co_await conn.execute(prune_sql(max_events), params, result_format::binary, deadline);
  if (!r) co_return r.error();
  if (r->rows() != 1 || r->columns() != 2) co_return wrong_shape("pruning the event log", *r);
  co_return r->integer(0, 0);
}

}  // namespace hookstream::storage
