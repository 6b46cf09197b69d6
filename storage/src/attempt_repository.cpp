#include "attempt_sql.hpp"
#include "range_edges.hpp"

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/attempt_row_cache.hpp>

#include <hookstream/storage/civil_time.hpp>
#include <hookstream/storage/text_hash.hpp>
#include <hookstream/encoding/utf8.hpp>

#include <array>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace hookstream::storage {
namespace asio = boost::asio;

// SQL pieces shared with the event log's statements (attempt_sql.hpp).
namespace detail {
// Output columns, in the order of the public API (names excepted: see
// route_name_cache). `cap` is a parameter: the large fields are cut before they
// leave the database, so a row brings at most four caps of large values.
// octet_length() reads the stored size (no detoasting, no character walk):
// values within the cap, nearly all of them, pass through untouched. left()
// counts characters, so a cut text value may still exceed the cap in bytes;
// attempt_rows cuts the rest on a character boundary. substring() on bytea
// counts bytes and reads only the slice it needs from a TOASTed value. With a
// `guard` (a boolean column), rows where it is false get null large fields.
std::string attempt_columns(const std::string& cap, const std::string& guard) {
  auto large = [&](const char* col, bool bytes) {
    const std::string x = std::string("a.") + col;
    return "CASE " + (guard.empty() ? std::string() : "WHEN NOT " + guard + " THEN NULL ") + "WHEN octet_length(" +
           x + ") <= " + cap + " THEN " + x + " ELSE " +
           (bytes ? "substring(" + x + " FROM 1 FOR " + cap + ")" : "left(" + x + ", " + cap + ")") + " END AS " +
           col;
  };
  return "a.id, a.org_id, a.env_id, a.event_id, a.connection_id, a.destination_id, a.request_url, "
         "a.request_method, " + large("request_headers", false) + ", a.request_body_size, a.response_status, " +
         large("response_headers", false) + ", " + large("response_body", true) + ", a.duration_ms, a.status, " +
         large("error", false) + ", a.created_at, a.attempt_number, a.next_retry_at, a.is_dlq, a.dlq_at, a.trigger_type";
}

std::string arg(int n) {
  std::string s(1, '$');  // (not "$" + ...: GCC 12 warns falsely, -Wrestrict)
  s += std::to_string(n);
  return s;
}

// "YYYY-MM-DD", then with `time` " HH:MM:SS[.ffffff]" (the fraction only when
// not zero: nearly every edge is a whole minute), then with `zone` "+00".
// Written by hand: snprintf cost the server more than all the rest of a range
// total's parameters, and the database parses a shorter text faster.
std::string datetime_text(unix_micros t, bool time, bool zone) {
  if (t == std::numeric_limits<unix_micros>::min()) return "-infinity";
  if (t == std::numeric_limits<unix_micros>::max()) return "infinity";
  const civil_time c = to_civil(t);
  char buf[40];
  char* p = buf;
  auto put = [&](unsigned v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += digits;
  };
  put(static_cast<unsigned>(c.year), 4);
  *p++ = '-';
  put(c.month, 2);
  *p++ = '-';
  put(c.day, 2);
  if (time) {
    *p++ = ' ';
    put(c.hour, 2);
    *p++ = ':';
    put(c.minute, 2);
    *p++ = ':';
    put(c.second, 2);
    if (c.micros != 0) {
      *p++ = '.';
      put(c.micros, 6);
    }
  }
  if (zone) {
    *p++ = '+';
    *p++ = '0';
    *p++ = '0';
  }
  return std::string(buf, p);
}
}  // namespace detail

namespace {
using detail::arg;
using detail::attempt_columns;
using detail::column_count;

// A filter's shape: what the SQL depends on (the values are parameters).
// Per list field (event, connection, destination, status): 0 absent, 1 one
// value, else several. The first field with several values "leads": the page
// is one ordered index scan per value of it, merged (arms), so its exact count
// is part of the shape; other fields with several values match with = ANY, so
// for them only "several" is.
struct shape_key {
  std::uint8_t values[4] = {0, 0, 0, 0};
  bool dlq = false, range = false;

  // The tenant's range total (no event or route filter) reads the counter
  // ranges the server computes (range_edges.hpp), as parameters.
  bool reads_range_edges() const noexcept { return range && !values[0] && !values[1] && !values[2]; }
  // The total counts the filter's rows one by one (an event filter), instead of
  // summing counters.
  bool counts_rows() const noexcept { return values[0] > 0; }

  int lead() const noexcept {
    for (int f = 0; f < 4; ++f)
      if (values[f] >= 2) return f;
    return -1;
  }
  std::uint32_t code() const noexcept {
    std::uint32_t c = 0;
    for (auto v : values) c = c << 4 | v;
    return c << 2 | (dlq ? 2u : 0u) | (range ? 1u : 0u);
  }
};

shape_key key_of(const attempt_filter& f) noexcept {
  shape_key k;
  const std::vector<std::string>* lists[] = {&f.event_id, &f.connection_id, &f.destination_id, &f.status};
  bool led = false;
  for (int i = 0; i < 4; ++i) {
    const auto n = static_cast<std::uint8_t>(std::min<std::size_t>(lists[i]->size(), max_filter_values));
    k.values[i] = n >= 2 && led ? 2 : n;
    led = led || n >= 2;
  }
  k.dlq = f.in_dlq.has_value();
  k.range = f.has_range();
  return k;
}

constexpr const char* field_columns[4] = {"event_id", "connection_id", "destination_id", "status"};

// Parameter numbers of a shape: $1 org, $2 env, then one per present field (a
// text value, or a text[] of several), the DLQ flag, the range's two bounds,
// for the listing's statements the range total's edges (range_edge_params),
// then the paging parameters.
struct param_slots {
  int field[4] = {0, 0, 0, 0};
  int dlq = 0, after = 0, before = 0;
  int edges = 0;  // the first of range_edge_param_count, or 0
  int next = 3;   // first paging parameter
};

// `with_total`: the slots of the listing and count statements, which carry
// the total's parameters; without, the filter's alone (filter_conditions).
param_slots slots_of(const shape_key& k, bool with_total) {
  param_slots p;
  for (int f = 0; f < 4; ++f)
    if (k.values[f]) p.field[f] = p.next++;
  if (k.dlq) p.dlq = p.next++;
  if (k.range) {
    p.after = p.next++;
    p.before = p.next++;
  }
  if (with_total && k.reads_range_edges()) {
    p.edges = p.next;
    p.next += detail::range_edge_param_count;
  }
  return p;
}

// The SQL builder for one shape.
class shape_sql_builder {
 public:
  explicit shape_sql_builder(const shape_key& k, bool with_total = true)
      : k_(k), p_(slots_of(k, with_total)), lead_(k.lead()) {}

  int arms() const { return lead_ < 0 ? 1 : k_.values[lead_]; }
  // Whether the page's source is a union of arms (a leading field), not the table.
  bool arms_led() const { return lead_ >= 0; }
  const param_slots& slots() const { return p_; }
  std::string after() const { return arg(p_.after) + "::timestamptz"; }
  std::string before() const { return arg(p_.before) + "::timestamptz"; }

  // Conditions on delivery_attempts alias `x`, for arm `arm` (1-based) of the
  // leading field; arm 0: the leading field matches any of its values. With
  // `range`, the range's bounds too.
  std::string where(const std::string& x, int arm, bool range = true) const {
    std::string w = x + ".org_id = $1 AND " + x + ".env_id = $2";
    for (int f = 0; f < 4; ++f) {
      if (!k_.values[f]) continue;
      const std::string col = x + "." + field_columns[f];
      if (k_.values[f] == 1) w += " AND " + col + " = " + arg(p_.field[f]);
      else if (f == lead_ && arm > 0) w += " AND " + col + " = (" + arg(p_.field[f]) + "::text[])[" + std::to_string(arm) + "]";
      else w += " AND " + col + " = ANY(" + arg(p_.field[f]) + "::text[])";
    }
    // Must match the expression of index delivery_attempts_by_dlq exactly.
    if (k_.dlq) w += " AND coalesce(" + x + ".is_dlq, 0) = " + arg(p_.dlq);
    if (range && k_.range) w += " AND " + x + ".created_at > " + after() + " AND " + x + ".created_at < " + before();
    return w;
  }

  // Rows of the page's source, as `FROM <this> i`: the table, or with a leading
  // field the arms (one per value, each ordered and cut at `arm_limit` rows) in
  // a UNION ALL that the planner merges (Merge Append) in the listing order.
  // An arm needs its own ORDER BY: a UNION ALL member with a WHERE clause stays
  // a subquery, planned on its own, and only an ordered subquery gives the
  // merge ordered input. `extra` is a condition on alias i (the keyset seek).
  std::string source(const std::string& columns, const std::string& extra, const std::string& order,
                     const std::string& arm_limit) const {
    if (lead_ < 0) return "delivery_attempts";
    std::string u = "(";
    for (int a = 1; a <= arms(); ++a) {
      if (a > 1) u += " UNION ALL ";
      u += "(SELECT " + columns + " FROM delivery_attempts i WHERE " + where("i", a) + extra +
           " ORDER BY i.created_at " + order + ", i.id " + order + " LIMIT " + arm_limit + ")";
    }
    return u + ")";
  }
  // The page's filter on `FROM source i` (arms filter inside themselves).
  std::string outer_where(const std::string& extra) const {
    if (lead_ < 0) return " WHERE " + where("i", 0) + extra;
    return "";
  }

  // The exact total, as a scalar subquery in the page's snapshot.
  std::string total() const {
    const bool by_event = k_.counts_rows();
    const bool by_route = k_.values[1] > 0 || k_.values[2] > 0;
    // Selective by nature: count the event's rows through its index.
    if (by_event) return "(SELECT count(*) FROM delivery_attempts n WHERE " + where("n", 0) + ")";
    if (!k_.range) return counters(by_route);
    return by_route ? route_range_total() : tenant_range_total();
  }

 private:
  // Conditions on a counter table alias k (status, DLQ, routes).
  std::string counter_where(bool by_route) const {
    std::string w = "k.org_id = $1 AND k.env_id = $2";
    for (int f = 1; f < 4; ++f) {
      if (!k_.values[f] || (f < 3 && !by_route)) continue;
      const std::string col = std::string("k.") + field_columns[f];
      w += k_.values[f] == 1 ? " AND " + col + " = " + arg(p_.field[f])
                             : " AND " + col + " = ANY(" + arg(p_.field[f]) + "::text[])";
    }
    if (k_.dlq) w += " AND k.in_dlq = (" + arg(p_.dlq) + "::int4 = 1)";
    return w;
  }
  // Folded all-time counters plus the log rows writers appended since the last
  // compaction (migration 0041), or with `days` (a condition on k.day) the
  // daily counters of those days and, with `minutes` (the same days as a
  // condition on k.minute), their pending log rows. A route filter's `=` skips
  // the log's tenant-only rows (NULL route).
  std::string counters(bool by_route, const std::string& days = "", const std::string& minutes = "") const {
    const std::string where = counter_where(by_route);
    const std::string folded = by_route ? (days.empty() ? "attempt_counts_by_route" : "attempt_counts_daily_by_route")
                                        : (days.empty() ? "attempt_counts" : "attempt_counts_daily");
    return "(SELECT coalesce(sum(k.n), 0)::int8 FROM (SELECT k.n FROM " + folded + " k WHERE " + where + days +
           " UNION ALL SELECT k.n FROM attempt_count_log k WHERE " + where + minutes + ") k)";
  }
  std::string direct_count(const std::string& bounds) const {
    return "SELECT count(*) AS n FROM delivery_attempts x WHERE " + where("x", 0, false) + bounds;
  }
  // Routes keep daily counters: whole days inside the range from them, the two
  // partial edge days counted through the route's index.
  std::string route_range_total() const {
    const std::string a = after(), b = before();
    const std::string first_midnight = "(date_trunc('day', " + a + " AT TIME ZONE 'UTC') + interval '1 day')";
    const std::string last_midnight = "date_trunc('day', " + b + " AT TIME ZONE 'UTC')";
    const std::string days = " AND k.day >= " + first_midnight + "::date AND k.day < " + last_midnight + "::date";
    const std::string minutes = " AND k.minute >= " + first_midnight + " AND k.minute < " + last_midnight;
    return "(SELECT coalesce(sum(t.n), 0)::int8 FROM (" +
           direct_count(" AND x.created_at > " + a + " AND x.created_at < least(" + b + ", " + first_midnight +
                        " AT TIME ZONE 'UTC')") +
           " UNION ALL " +
           direct_count(" AND x.created_at >= (greatest(" + last_midnight + ", " + first_midnight +
                        ") AT TIME ZONE 'UTC') AND x.created_at < " + b) +
           " UNION ALL SELECT " + counters(true, days, minutes) + ") t)";
  }
  // The tenant's counters by day, hour and minute (migration 0010), read in
  // the signed ranges of range_edges.hpp: the two partial edge minutes counted
  // through the tenant's index, whole minutes, hours and days from the
  // counters, and the log rows not yet folded. Every bound is a parameter the
  // server computed: the bounds spelled in SQL cost the database more than the
  // scans, even computed once in a chain of one-row subqueries (the total
  // alone: 26,000 statements per second that way, 31,000 this way; pgbench, 4
  // clients, 2M rows, generic plans). Plain parameters also let PostgreSQL
  // prune the partitions of delivery_attempts that the partial minutes cannot
  // touch when the executor starts.
  std::string tenant_range_total() const {
    const auto e = [&](int i) { return arg(p_.edges + i); };
    const std::string k = counter_where(false);
    // Without a status or DLQ filter, the totals of every status (migration
    // 0042): one row per bucket instead of one per status and DLQ flag.
    const bool any_status = k_.values[3] == 0 && !k_.dlq;
    const char* minutely = any_status ? "attempt_totals_minutely" : "attempt_counts_minutely";
    const char* hourly = any_status ? "attempt_totals_hourly" : "attempt_counts_hourly";
    const char* daily = any_status ? "attempt_totals_daily" : "attempt_counts_daily";
    // A signed range of one layer; `first` is its sign's parameter, or with
    // `sign = false` its lower bound's.
    auto piece = [&](const char* table, const char* col, const char* type, int first, bool sign) {
      const int lo = sign ? first + 1 : first;
      return std::string(" UNION ALL SELECT ") + (sign ? e(first) + "::int8 * " : std::string()) + "k.n FROM " +
             table + " k WHERE " + k + " AND k." + col + " >= " + e(lo) + "::" + type + " AND k." + col + " < " +
             e(lo + 1) + "::" + type;
    };
    return "(SELECT coalesce(sum(t.n), 0)::int8 FROM (" +
           direct_count(" AND x.created_at > " + after() + " AND x.created_at < " + e(0) + "::timestamptz") +
           " UNION ALL " +
           direct_count(" AND x.created_at >= " + e(1) + "::timestamptz AND x.created_at < " + before()) +
           piece(minutely, "minute", "timestamp", 4, true) + piece(minutely, "minute", "timestamp", 7, true) +
           piece(hourly, "hour", "timestamp", 10, true) + piece(hourly, "hour", "timestamp", 13, true) +
           piece(daily, "day", "date", 16, false) + piece("attempt_count_log", "minute", "timestamp", 2, false) +
           ") t)";
  }

  shape_key k_;
  param_slots p_;
  int lead_;
};

std::string order_by(const std::string& alias, const std::string& order) {
  return " ORDER BY " + alias + ".created_at " + order + ", " + alias + ".id " + order;
}

// The system columns that name a row version (attempt_row_cache's key), as the
// page's inner row source exposes them to the outer SELECT.
std::string version_columns(const std::string& x) {
  return x + ".tableoid AS row_table, " + x + ".ctid AS row_ctid, " + x + ".xmin AS row_xmin";
}

// What a listing statement returns per row: the whole attempt (its columns,
// then the version columns) or only the row's identity (id, created_at and the
// version columns), for a page whose rows the row cache may hold.
enum class page_columns { whole, identities };

std::string render_list(const shape_key& key, page_mode mode, bool with_total = true,
                        page_columns what = page_columns::whole) {
  const shape_sql_builder s(key);
  const param_slots& p = s.slots();
  const std::string limit = arg(p.next);
  // (An event filter's offset pages are first read without it: see
  // list_attempts and shape_sql::offset_page_alone.)
  const std::string total = with_total ? s.total() : "0::int8";
  const std::string anchor = "(" + arg(p.next + 1) + "::timestamptz, " + arg(p.next + 2) + ")";
  const bool keyset = mode == page_mode::after || mode == page_mode::before;
  const std::string columns =
      what == page_columns::whole
          ? attempt_columns(arg(p.next + (keyset ? 3 : 2)) + "::int4") + ", a.row_table, a.row_ctid, a.row_xmin"
          : "a.id, a.created_at, a.row_table, a.row_ctid, a.row_xmin";
  // The rows of `FROM <source> i`, with their version columns (an arm adds them itself).
  const std::string rows = s.arms_led() ? "*" : "i.*, " + version_columns("i");
  const std::string arm_rows = "i.*, " + version_columns("i");
  // An arm brings at most what the page may skip and show.
  const std::string arm_reach = limit + "::int8 + " + arg(p.next + 1) + "::int8";
  std::string inner;
  std::string order = "DESC";
  std::string extra_column;
  switch (mode) {
    case page_mode::offset:
      inner = "SELECT " + rows + " FROM " + s.source(arm_rows, "", "DESC", arm_reach) + " i" + s.outer_where("") +
              order_by("i", "DESC") + " LIMIT " + limit + " OFFSET " + arg(p.next + 1);
      break;
    case page_mode::deep_offset:
      // Skip through the index alone (index-only scan of the ordering keys), then
      // fetch just the page's rows by primary key. The LATERAL subquery with
      // OFFSET 0 cannot be flattened into a plain join, so even a generic plan
      // (which cannot see the LIMIT and guesses thousands of rows) stays a nested
      // loop of primary-key look-ups that keeps the order (k's): no hash join
      // over the whole table, no sort. The look-up names the whole primary key
      // (org_id, id, created_at): created_at also prunes it to one partition.
      return "SELECT " + columns + ", " + total + " AS total FROM (SELECT i.id, i.created_at FROM " +
             s.source("i.id, i.created_at", "", "DESC", arm_reach) + " i" + s.outer_where("") +
             order_by("i", "DESC") + " LIMIT " + limit + " OFFSET " + arg(p.next + 1) +
             ") k CROSS JOIN LATERAL (SELECT d.*, " + version_columns("d") +
             " FROM delivery_attempts d WHERE d.org_id = $1 AND d.id = k.id "
             "AND d.created_at = k.created_at OFFSET 0) a "
             "ORDER BY k.created_at DESC, k.id DESC";
    case page_mode::after: {
      // Both keys in one direction: the row comparison is an index condition of
      // the (..., created_at DESC, id DESC) indexes, so a page one million rows
      // deep starts right at its anchor.
      const std::string seek = " AND (i.created_at, i.id) < " + anchor;
      inner = "SELECT " + rows + " FROM " + s.source(arm_rows, seek, "DESC", limit) + " i" + s.outer_where(seek) +
              order_by("i", "DESC") + " LIMIT " + limit;
      break;
    }
    case page_mode::before: {
      // Read upwards from the anchor (the caller reverses the rows), and say
      // whether anything follows the page: the anchor or rows older than it.
      const std::string seek = " AND (i.created_at, i.id) > " + anchor;
      inner = "SELECT " + rows + " FROM " + s.source(arm_rows, seek, "ASC", limit) + " i" + s.outer_where(seek) +
              order_by("i", "ASC") + " LIMIT " + limit;
      order = "ASC";
      // A scalar subquery with ORDER BY/LIMIT rather than EXISTS: the planner
      // keeps the ordered index probe instead of hoping a scan hits a row early.
      const std::string probe = " AND (i.created_at, i.id) <= " + anchor;
      extra_column = ", (SELECT i.id FROM " + s.source("i.id, i.created_at", probe, "DESC", "1") + " i" +
                     s.outer_where(probe) + order_by("i", "DESC") + " LIMIT 1) IS NOT NULL AS has_after";
      break;
    }
  }
  // The page is cut in a subquery so deep offsets skip rows without reading
  // their large values; the outer ORDER BY repeats the subquery's order, which
  // the planner sees is already satisfied (no sort step). The total is an
  // uncorrelated subquery: computed once, in the same snapshot as the page.
  return "SELECT " + columns + ", " + total + " AS total" + extra_column + " FROM (" + inner + ") a" +
         order_by("a", order);
}

std::string render_bare(const shape_key& key, page_mode mode) {
  const shape_sql_builder s(key);
  const param_slots& p = s.slots();
  const std::string limit = arg(p.next);
  const std::string anchor = "(" + arg(p.next + 1) + "::timestamptz, " + arg(p.next + 2) + ")";
  switch (mode) {
    case page_mode::offset:
    case page_mode::deep_offset: {
      const std::string reach = limit + "::int8 + " + arg(p.next + 1) + "::int8";
      return "SELECT * FROM " + s.source("*", "", "DESC", reach) + " i" + s.outer_where("") + order_by("i", "DESC") +
             " LIMIT " + limit + " OFFSET " + arg(p.next + 1);
    }
    case page_mode::after: {
      const std::string seek = " AND (i.created_at, i.id) < " + anchor;
      return "SELECT * FROM " + s.source("*", seek, "DESC", limit) + " i" + s.outer_where(seek) +
             order_by("i", "DESC") + " LIMIT " + limit;
    }
    case page_mode::before: {
      const std::string seek = " AND (i.created_at, i.id) > " + anchor;
      return "SELECT * FROM " + s.source("*", seek, "ASC", limit) + " i" + s.outer_where(seek) +
             order_by("i", "ASC") + " LIMIT " + limit;
    }
  }
  return {};
}

// The statements of one shape, rendered once per thread (no lock on the request
// path). Shapes are bounded (4 fields of 0-10 values, DLQ, range); a thread
// keeps the most recent ones, up to max_cached_shapes.
struct shape_sql {
  std::string list[4];  // by page_mode
  std::string identities[4];  // the same, returning row identities (page_columns::identities)
  std::string count;
  // Only for filters with event ids: the offset page with 0 in place of its total.
  // An event's attempts are counted row by row (shape_sql_builder::total), and
  // nearly every event's attempts fit on one page, so list_attempts reads the
  // page alone first: a page without its look-ahead row holds the filter's last
  // rows, and offset + rows is the total, in the page's snapshot. Only a full
  // page (or an empty one past offset 0) runs list[offset], page and count in
  // one statement. (A count in the same statement, even in a CASE branch that
  // is not taken, has its plan set up at every execution: pgbench ran the page
  // at 30,700-34,200 tps with it, 38,400-39,700 without.)
  std::string offset_page_alone;
  std::string offset_page_alone_identities;
};
constexpr std::size_t max_cached_shapes = 256;

const shape_sql& sql_for(const attempt_filter& f) {
  thread_local std::unordered_map<std::uint32_t, shape_sql> cache;
  const shape_key key = key_of(f);
  if (auto it = cache.find(key.code()); it != cache.end()) return it->second;
  if (cache.size() >= max_cached_shapes) cache.clear();  // rare: rendering again is cheap
  shape_sql s;
  for (auto m : {page_mode::offset, page_mode::after, page_mode::before, page_mode::deep_offset}) {
    s.list[static_cast<int>(m)] = render_list(key, m);
    s.identities[static_cast<int>(m)] = render_list(key, m, true, page_columns::identities);
  }
  s.count = "SELECT " + shape_sql_builder(key).total();
  if (key.counts_rows()) {
    s.offset_page_alone = render_list(key, page_mode::offset, false);
    s.offset_page_alone_identities = render_list(key, page_mode::offset, false, page_columns::identities);
  }
  return cache.emplace(key.code(), std::move(s)).first->second;
}
}  // namespace

namespace detail {
std::uint32_t filter_shape(const attempt_filter& f) noexcept { return key_of(f).code(); }

filter_sql filter_conditions(const attempt_filter& f, const std::string& x) {
  const shape_sql_builder s(key_of(f), false);
  return {s.where(x, 0), s.slots().next};
}

std::vector<std::string> filter_params(const tenant_id& tenant, const attempt_filter& f) {
  std::vector<std::string> p{tenant.org_id, tenant.env_id};
  for (const auto* list : {&f.event_id, &f.connection_id, &f.destination_id, &f.status}) {
    if (list->size() == 1) p.push_back(list->front());
    else if (list->size() > 1) p.push_back(text_array_literal(*list));
  }
  if (f.in_dlq) p.push_back(*f.in_dlq ? "1" : "0");
  if (f.has_range()) {
    p.push_back(f.created_after ? timestamp_param(*f.created_after) : "-infinity");
    p.push_back(f.created_before ? timestamp_param(*f.created_before) : "infinity");
  }
  return p;
}
}  // namespace detail

bool attempt_filter::valid() const noexcept {
  for (const auto* list : {&event_id, &connection_id, &destination_id, &status}) {
    if (list->size() > max_filter_values) return false;
    for (std::size_t i = 0; i < list->size(); ++i)
      for (std::size_t j = i + 1; j < list->size(); ++j)
        if ((*list)[i] == (*list)[j]) return false;
  }
  return !(created_after && created_before && *created_after >= *created_before);
}

std::string timestamp_param(unix_micros t) { return detail::datetime_text(t, true, true); }

std::string text_array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string count_attempts_sql(const attempt_filter& f) { return "SELECT " + shape_sql_builder(key_of(f)).total(); }

std::string bare_page_sql(const attempt_filter& f, page_mode mode) { return render_bare(key_of(f), mode); }

std::string list_attempts_sql(const attempt_filter& f, page_mode mode, bool with_total) {
  return render_list(key_of(f), mode, with_total);
}

std::string list_attempt_identities_sql(const attempt_filter& f, page_mode mode, bool with_total) {
  return render_list(key_of(f), mode, with_total, page_columns::identities);
}

const std::string& attempts_by_key_sql() {
  // A nested loop of primary-key look-ups (org_id, id, created_at), each pruned
  // to its partition, as in the deep-offset page (see render_list).
  static const std::string sql = "SELECT " + attempt_columns("$5::int4") +
                                 ", a.row_table, a.row_ctid, a.row_xmin FROM unnest($3::text[], $4::timestamptz[]) "
                                 "k(id, created_at) CROSS JOIN LATERAL (SELECT d.*, " + version_columns("d") +
                                 " FROM delivery_attempts d WHERE d.org_id = $1 AND d.id = k.id AND "
                                 "d.created_at = k.created_at AND d.env_id = $2 OFFSET 0) a";
  return sql;
}

const std::string& find_attempt_sql() {
  static const std::string sql = "SELECT " + attempt_columns("$4::int4") +
                                 " FROM delivery_attempts a WHERE a.id = $1 AND a.org_id = $2 AND a.env_id = $3";
  return sql;
}

std::vector<std::string> list_attempts_params(const tenant_id& tenant, const page_request& r) {
  std::vector<std::string> p = detail::filter_params(tenant, r.filter);
  if (key_of(r.filter).reads_range_edges())
    for (auto& edge : detail::range_edge_params(r.filter.created_after, r.filter.created_before))
      p.push_back(std::move(edge));
  // One extra row tells whether another page follows.
  p.push_back(std::to_string(r.limit + 1));
  if (r.mode == page_mode::offset || r.mode == page_mode::deep_offset) {
    p.push_back(std::to_string(r.offset));
  } else {
    p.push_back(timestamp_param(r.anchor.created_at));
    p.push_back(r.anchor.id);
  }
  p.push_back(std::to_string(r.max_field_bytes));
  return p;
}

namespace {
// Decodes one result row into a view of its memory.
delivery_attempt_view decode_row(const query_result& r, int row, std::int32_t max_field_bytes) {
  auto text = [&](int c) { return r.bytes(row, c); };
  // A capped column: the statement cut it, but maybe inside a character.
  auto capped = [&](int c) -> std::optional<std::string_view> {
    auto value = r.nullable_bytes(row, c);
    if (value && max_field_bytes > 0) value = encoding::utf8_prefix(*value, static_cast<std::size_t>(max_field_bytes));
    return value;
  };
  delivery_attempt_view v;
  v.id = text(0);
  v.org_id = text(1);
  v.env_id = text(2);
  v.event_id = text(3);
  v.connection_id = text(4);
  v.destination_id = text(5);
  v.request_url = text(6);
  v.request_method = text(7);
  v.request_headers = capped(8);
  v.request_body_size = r.integer(row, 9);
  v.response_status = r.nullable_integer(row, 10);
  v.response_headers = capped(11);
  v.response_body = capped(12);
  v.duration_ms = r.nullable_integer(row, 13);
  v.status = text(14);
  v.error = capped(15);
  v.created_at = r.timestamp(row, 16);
  v.attempt_number = r.nullable_integer(row, 17);
  v.next_retry_at = r.nullable_timestamp(row, 18);
  v.is_dlq = r.nullable_integer(row, 19);
  v.dlq_at = r.nullable_timestamp(row, 20);
  v.trigger_type = r.nullable_bytes(row, 21);
  return v;
}
}  // namespace

std::size_t value_bytes(const delivery_attempt_view& v) noexcept {
  std::size_t n = 0;
  for_each_value(v, [&](const auto& s) {
    if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::string_view>) n += s.size();
    else n += s ? s->size() : 0;
  });
  return n;
}

attempt_rows::attempt_rows(query_result result, int max_rows, bool reversed, std::int32_t max_field_bytes)
    : result_(std::move(result)) {
  const int n = std::min(result_.rows(), max_rows);
  views_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    views_.push_back(decode_row(result_, reversed ? n - 1 - i : i, max_field_bytes));
    payload_bytes_ += value_bytes(views_.back());
  }
}

std::string_view attempt_rows::prerendered(int row) const noexcept {
  return cached_.empty() ? std::string_view() : std::string_view(cached_[static_cast<std::size_t>(row)]->prerendered);
}

attempt_rows::attempt_rows(std::vector<std::shared_ptr<const cached_attempt>> rows) : cached_(std::move(rows)) {
  views_.reserve(cached_.size());
  for (const auto& row : cached_) {
    views_.push_back(row->view);
    // Its values, copied into one buffer, or the bytes that stand for them.
    payload_bytes_ += row->prerendered.empty() ? row->values.size() : row->prerendered.size();
  }
}

void attempt_rows::set_route_names(int row, route_name connection, route_name destination) {
  if (names_.empty()) names_.resize(2 * views_.size());
  auto& view = views_[static_cast<std::size_t>(row)];
  names_[2 * static_cast<std::size_t>(row)] = std::move(connection);
  names_[2 * static_cast<std::size_t>(row) + 1] = std::move(destination);
  const auto& cn = names_[2 * static_cast<std::size_t>(row)];
  const auto& dn = names_[2 * static_cast<std::size_t>(row) + 1];
  view.connection_name = cn ? std::optional<std::string_view>(*cn) : std::nullopt;
  view.destination_name = dn ? std::optional<std::string_view>(*dn) : std::nullopt;
  payload_bytes_ += (cn ? cn->size() : 0) + (dn ? dn->size() : 0);
}

namespace {
// Where a listing result's columns are: the three version columns from
// `version` on, then the total and (backward pages) has_after.
struct listing_layout {
  int version;
  int columns() const { return version + 4; }
  int total() const { return version + 3; }
};
constexpr listing_layout whole_layout{column_count};
constexpr listing_layout identity_layout{2};  // id, created_at, then the version

// A page as its statement read it: the result (rows not decoded yet) and what
// it says about the listing.
struct listing_read {
  query_result result;
  attempt_page page;  // without rows
};

// Runs the page's statement (sql.list or sql.identities) and, when it has no
// row to carry the total, the count; see list_attempts in the header.
asio::awaitable<db_result<listing_read>> read_listing(pg_connection& conn, const shape_sql& sql,
                                                      std::span<const query_param> params,
                                                      const page_request& request, page_mode plan,
                                                      page_columns what, clock::time_point deadline) {
  const bool identities = what == page_columns::identities;
  const listing_layout layout = identities ? identity_layout : whole_layout;
  // The identity statements take no field cap (the last parameter).
  const auto statement_params = identities ? params.first(params.size() - 1) : params;
  // The page alone first, when its rows may tell the total (shape_sql::offset_page_alone).
  const bool page_alone = plan == page_mode::offset && !sql.offset_page_alone.empty();
  const std::string& alone = identities ? sql.offset_page_alone_identities : sql.offset_page_alone;
  const std::string& with_total = (identities ? sql.identities : sql.list)[static_cast<int>(plan)];
  auto result = co_await conn.execute(page_alone ? alone : with_total, statement_params, result_format::binary,
                                      deadline);
  if (!result) co_return result.error();
  const bool total_from_rows =
      page_alone && result->rows() <= request.limit && (result->rows() > 0 || request.offset == 0);
  if (page_alone && !total_from_rows) {
    result = co_await conn.execute(with_total, statement_params, result_format::binary, deadline);
    if (!result) co_return result.error();
  }
  const bool backward = request.mode == page_mode::before;
  const int expected_columns = layout.columns() + (backward ? 1 : 0);
  if (result->columns() != expected_columns)
    co_return db_error{errc::protocol_error, "listing returned " + std::to_string(result->columns()) + " columns", {}};

  attempt_page page;
  const int fetched = result->rows();
  const bool beyond = fetched > request.limit;  // the look-ahead row exists
  if (total_from_rows) {
    page.total = request.offset + fetched;
    page.has_more = false;
    page.has_before = request.offset > 0;
  } else if (fetched > 0) {
    page.total = result->integer(0, layout.total());
    switch (request.mode) {
      case page_mode::offset:
      case page_mode::deep_offset:
        page.has_more = beyond;
        page.has_before = request.offset > 0;
        break;
      case page_mode::after:
        page.has_more = beyond;
        page.has_before = true;  // the anchor came before
        break;
      case page_mode::before:
        page.has_more = result->boolean(0, layout.total() + 1);
        page.has_before = beyond;
        break;
    }
  } else {
    // An empty page carries no row to read the total from (offset past the end,
    // nothing matches, or the rows next to a cursor are gone): count on its own.
    const std::size_t paging = plan == page_mode::after || plan == page_mode::before ? 4 : 3;  // with the cap
    auto counted =
        co_await conn.execute(sql.count, params.first(params.size() - paging), result_format::binary, deadline);
    if (!counted) co_return counted.error();
    page.total = counted->integer(0, 0);
  }
  co_return listing_read{std::move(*result), std::move(page)};
}

// The version key of row `row` of `r`, whose version columns start at `first`.
db_result<row_version_key> version_key(const query_result& r, int row, int first, std::int32_t cap) {
  row_version_key key;
  if (!row_version_key::from_wire(r.bytes(row, first), r.bytes(row, first + 1), r.bytes(row, first + 2), cap, key))
    return db_error{errc::protocol_error, "listing returned a row version of an unexpected size", {}};
  return key;
}

// What became of an identity page's rows.
struct cached_rows {
  std::optional<attempt_rows> rows;  // all of them, or none:
  bool changed = false;              // a row changed after the identities were read
  bool too_many_missing = false;     // more than a quarter were missing: read whole instead
};

// The visible rows of an identity page (`ids`) from the row cache, the ones
// it lacks read by key in one statement (and then cached), unless more than a
// quarter are missing (the whole page costs the database less than that many
// rows by key). No rows when a row the identities named is no longer there in
// the same version (changed or deleted since): the caller reads the page whole.
asio::awaitable<db_result<cached_rows>> rows_from_cache(pg_connection& conn, const tenant_id& tenant,
                                                        const page_request& request, const query_result& ids,
                                                        attempt_row_cache& cache, std::uint64_t request_hash,
                                                        clock::time_point deadline) {
  const int n = std::min(ids.rows(), request.limit);
  const bool reversed = request.mode == page_mode::before;
  const std::int32_t cap = request.max_field_bytes;
  const auto now = clock::now();
  std::vector<attempt_row_cache::entry_ptr> rows(static_cast<std::size_t>(n));
  std::vector<row_version_key> keys(static_cast<std::size_t>(n));
  std::vector<int> missing;  // result rows of `ids`
  for (int i = 0; i < n; ++i) {
    const int r = reversed ? n - 1 - i : i;
    auto key = version_key(ids, r, identity_layout.version, cap);
    if (!key) co_return key.error();
    keys[static_cast<std::size_t>(i)] = *key;
    auto hit = cache.find(*key, tenant, now);
    if (hit && hit->view.id == ids.bytes(r, 0)) rows[static_cast<std::size_t>(i)] = std::move(hit);
    else missing.push_back(i);
  }
  cache.record_found(request_hash, n, n - static_cast<int>(missing.size()));
  if (missing.empty()) {
    ++cache.pages().all_cached;
    co_return cached_rows{attempt_rows(std::move(rows))};
  }
  if (4 * missing.size() > static_cast<std::size_t>(n)) co_return cached_rows{{}, false, true};

  std::vector<std::string> missing_ids, missing_times;
  for (int i : missing) {
    const int r = reversed ? n - 1 - i : i;
    missing_ids.emplace_back(ids.bytes(r, 0));
    missing_times.push_back(timestamp_param(ids.timestamp(r, 1)));
  }
  const std::string id_list = text_array_literal(missing_ids), time_list = text_array_literal(missing_times);
  const std::string cap_text = std::to_string(cap);
  const std::array<query_param, 5> params{std::string_view(tenant.org_id), std::string_view(tenant.env_id),
                                          std::string_view(id_list), std::string_view(time_list),
                                          std::string_view(cap_text)};
  auto found = co_await conn.execute(attempts_by_key_sql(), params, result_format::binary, deadline);
  if (!found) co_return found.error();
  if (found->columns() != column_count + 3)
    co_return db_error{errc::protocol_error, "rows by key returned " + std::to_string(found->columns()) + " columns",
                       {}};
  for (int row = 0; row < found->rows(); ++row) {
    auto key = version_key(*found, row, column_count, cap);
    if (!key) co_return key.error();
    for (int i : missing) {
      if (keys[static_cast<std::size_t>(i)] != *key) continue;
      auto copy = cache.copy(decode_row(*found, row, cap));
      cache.store(*key, copy, now);
      rows[static_cast<std::size_t>(i)] = std::move(copy);
      break;
    }
  }
  for (int i : missing)
    if (!rows[static_cast<std::size_t>(i)]) co_return cached_rows{{}, true, false};
  ++cache.pages().completed_by_key;
  co_return cached_rows{attempt_rows(std::move(rows))};
}

// Keeps the visible rows of a whole page (`result`, in statement order) in the
// cache (those already there are only marked as recently used).
void keep_rows(attempt_row_cache& cache, const tenant_id& tenant, const query_result& result, int visible,
               std::int32_t cap) {
  const auto now = clock::now();
  for (int row = 0; row < visible; ++row) {
    auto key = version_key(result, row, whole_layout.version, cap);
    if (!key) return;  // (the page itself is fine: its rows are decoded without the cache)
    if (!cache.find(*key, tenant, now)) cache.store(*key, cache.copy(decode_row(result, row, cap)), now);
  }
}

// Which request a page is, for attempt_row_cache::plan_page: its statement's
// parameters (tenant, filters, paging, cap) and plan.
std::uint64_t request_hash(const std::vector<std::string>& values, page_mode plan) {
  thread_local std::string text;
  text.assign(1, static_cast<char>('0' + static_cast<int>(plan)));
  for (const auto& v : values) {
    text += '\0';
    text += v;
  }
  return text_hash_of(text);
}

// list_attempts, on the executor of `conn` (the row cache's state lives there).
asio::awaitable<db_result<attempt_page>> list_attempts_here(pg_connection& conn, const tenant_id& tenant,
                                                            const page_request& request, clock::time_point deadline,
                                                            attempt_row_cache* row_cache) {
  if (!request.filter.valid())
    co_return db_error{errc::protocol_error, "listing filter breaks its preconditions (too many values, duplicates, "
                                             "or an empty time range)", {}};
  const std::vector<std::string> values = list_attempts_params(tenant, request);
  const std::vector<query_param> params(values.begin(), values.end());
  const shape_sql& sql = sql_for(request.filter);
  page_mode plan = request.mode;
  if (plan == page_mode::offset && request.offset >= deep_offset_threshold) plan = page_mode::deep_offset;
  const bool backward = request.mode == page_mode::before;
  const bool use_cache = row_cache && row_cache->enabled();

  std::uint64_t request_key = 0;
  bool keep = false;  // the rows of a whole read
  if (use_cache) {
    request_key = request_hash(values, plan);
    switch (row_cache->plan_page(request_key)) {
      case attempt_row_cache::page_plan::identities: {
        auto read = co_await read_listing(conn, sql, params, request, plan, page_columns::identities, deadline);
        if (!read) co_return read.error();
        auto cached = co_await rows_from_cache(conn, tenant, request, read->result, *row_cache, request_key,
                                               deadline);
        if (!cached) co_return cached.error();
        if (cached->rows) {
          read->page.rows = std::move(*cached->rows);
          co_return std::move(read->page);
        }
        if (cached->changed) {
          // A row changed between the two statements: the page is read again,
          // whole, so that all of it comes from one snapshot.
          ++row_cache->pages().read_again;
          keep = true;
        } else {
          ++row_cache->pages().missed;
          keep = row_cache->keep_after_misses();
        }
        break;
      }
      case attempt_row_cache::page_plan::whole_kept:
        keep = true;
        break;
      case attempt_row_cache::page_plan::whole:
        break;
    }
  }

  auto read = co_await read_listing(conn, sql, params, request, plan, page_columns::whole, deadline);
  if (!read) co_return read.error();
  if (use_cache) {
    ++row_cache->pages().read_whole;
    if (keep) {
      keep_rows(*row_cache, tenant, read->result, std::min(read->result.rows(), request.limit),
                request.max_field_bytes);
      row_cache->record_kept(request_key);
    }
  }
  read->page.rows = attempt_rows(std::move(read->result), request.limit, backward, request.max_field_bytes);
  co_return std::move(read->page);
}
}  // namespace

asio::awaitable<db_result<attempt_page>> list_attempts(pg_connection& conn, const tenant_id& tenant,
                                                       const page_request& request, clock::time_point deadline,
                                                       attempt_row_cache* row_cache) {
  if (!row_cache) return list_attempts_here(conn, tenant, request, deadline, nullptr);
  return conn.executor().run(list_attempts_here(conn, tenant, request, deadline, row_cache));
}

asio::awaitable<db_result<attempt_rows>> find_attempt(pg_connection& conn, const tenant_id& tenant,
                                                      std::string_view attempt_id, std::int32_t max_field_bytes,
                                                      clock::time_point deadline) {
  const std::string& sql = find_attempt_sql();
  const std::string cap = std::to_string(max_field_bytes);
  const std::array<query_param, 4> params{attempt_id, std::string_view(tenant.org_id),
                                          std::string_view(tenant.env_id), std::string_view(cap)};
  auto result = co_await conn.execute(sql, params, result_format::binary, deadline);
  if (!result) co_return result.error();
  if (result->columns() != column_count)
    co_return db_error{errc::protocol_error, "attempt look-up returned " + std::to_string(result->columns()) +
                                                 " columns", {}};
  co_return attempt_rows(std::move(*result), INT_MAX, false, max_field_bytes);
}

}  // namespace hookstream::storage
