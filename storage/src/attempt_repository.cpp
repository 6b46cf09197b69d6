#include "attempt_sql.hpp"

#include <hookstream/storage/attempt_repository.hpp>

#include <hookstream/storage/civil_time.hpp>
#include <hookstream/encoding/utf8.hpp>

#include <array>
#include <cstdio>
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
param_slots slots_of(const attempt_filter& f) {
  param_slots p;
  if (f.event_id) p.event = p.next++;
  if (f.connection_id) p.connection = p.next++;
  if (f.destination_id) p.destination = p.next++;
  if (f.status) p.status = p.next++;
  if (f.in_dlq) p.dlq = p.next++;
  return p;
}

std::string arg(int n) {
  std::string s = "$";  // not "$" + to_string(n): GCC 12 warns falsely (-Wrestrict) on that form
  s += std::to_string(n);
  return s;
}

// WHERE conditions over delivery_attempts alias `x`.
std::string where_clause(const param_slots& p, const std::string& x) {
  std::string w = x + ".org_id = $1 AND " + x + ".env_id = $2";
  if (p.event) w += " AND " + x + ".event_id = " + arg(p.event);
  if (p.connection) w += " AND " + x + ".connection_id = " + arg(p.connection);
  if (p.destination) w += " AND " + x + ".destination_id = " + arg(p.destination);
  if (p.status) w += " AND " + x + ".status = " + arg(p.status);
  // Must match the expression of index delivery_attempts_by_dlq exactly.
  if (p.dlq) w += " AND coalesce(" + x + ".is_dlq, 0) = " + arg(p.dlq);
  return w;
}

std::vector<std::string> filter_params(const tenant_id& tenant, const attempt_filter& f) {
  std::vector<std::string> p{tenant.org_id, tenant.env_id};
  if (f.event_id) p.push_back(*f.event_id);
  if (f.connection_id) p.push_back(*f.connection_id);
  if (f.destination_id) p.push_back(*f.destination_id);
  if (f.status) p.push_back(*f.status);
  if (f.in_dlq) p.push_back(*f.in_dlq ? "1" : "0");
  return p;
}

}  // namespace detail

namespace {
using detail::arg;
using detail::attempt_columns;
using detail::column_count;
using detail::param_slots;
using detail::slots_of;
using detail::where_clause;

// The exact total as a scalar subquery: folded counters plus the deltas writers
// left since the last compaction (migration 0003), summed in the page's snapshot;
// a direct indexed count when filtering by event.
std::string total_expression(const param_slots& p) {
  if (p.event) return "(SELECT count(*) FROM delivery_attempts n WHERE " + where_clause(p, "n") + ")";
  std::string where = "k.org_id = $1 AND k.env_id = $2";
  if (p.connection) where += " AND k.connection_id = " + arg(p.connection);
  if (p.destination) where += " AND k.destination_id = " + arg(p.destination);
  if (p.status) where += " AND k.status = " + arg(p.status);
  if (p.dlq) where += " AND k.in_dlq = (" + arg(p.dlq) + "::int4 = 1)";
  const bool by_route = p.connection || p.destination;
  const std::string folded = by_route ? "attempt_counts_by_route" : "attempt_counts";
  const std::string pending = by_route ? "attempt_count_deltas_by_route" : "attempt_count_deltas";
  return "(SELECT coalesce(sum(k.n), 0)::int8 FROM (SELECT k.n FROM " + folded + " k WHERE " + where +
         " UNION ALL SELECT k.n FROM " + pending + " k WHERE " + where + ") k)";
}

// The SQL depends only on which filters are present and on the mode: 32 x 3
// shapes, rendered once.
unsigned shape_of(const attempt_filter& f) noexcept {
  return (f.event_id ? 1u : 0u) | (f.connection_id ? 2u : 0u) | (f.destination_id ? 4u : 0u) |
         (f.status ? 8u : 0u) | (f.in_dlq ? 16u : 0u);
}
attempt_filter filter_of_shape(unsigned shape) {
  attempt_filter f;
  if (shape & 1u) f.event_id.emplace();
  if (shape & 2u) f.connection_id.emplace();
  if (shape & 4u) f.destination_id.emplace();
  if (shape & 8u) f.status.emplace();
  if (shape & 16u) f.in_dlq.emplace();
  return f;
}
struct shape_sql {
  std::string list[4];  // by page_mode
  std::string count;
};
const shape_sql& sql_for(const attempt_filter& f) {
  static const std::array<shape_sql, 32> all = [] {
    std::array<shape_sql, 32> a;
    for (unsigned s = 0; s < a.size(); ++s) {
      const attempt_filter shape = filter_of_shape(s);
      for (auto m : {page_mode::offset, page_mode::after, page_mode::before, page_mode::deep_offset})
        a[s].list[static_cast<int>(m)] = list_attempts_sql(shape, m);
      a[s].count = count_attempts_sql(shape);
    }
    return a;
  }();
  return all[shape_of(f)];
}

// A timestamptz parameter in text form, exact to the microsecond.
std::string timestamp_param(unix_micros t) {
  const civil_time c = to_civil(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02u:%02u:%02u.%06u+00", static_cast<long long>(c.year), c.month,
                c.day, c.hour, c.minute, c.second, c.micros);
  return buf;
}
}  // namespace

std::string count_attempts_sql(const attempt_filter& f) { return "SELECT " + total_expression(slots_of(f)); }

std::string bare_page_sql(const attempt_filter& f, page_mode mode) {
  const param_slots p = slots_of(f);
  const std::string limit = arg(p.next);
  const std::string anchor = "(" + arg(p.next + 1) + "::timestamptz, " + arg(p.next + 2) + ")";
  std::string sql = "SELECT * FROM delivery_attempts i WHERE " + where_clause(p, "i");
  switch (mode) {
    case page_mode::offset:
    case page_mode::deep_offset:
      return sql + " ORDER BY i.created_at DESC, i.id DESC LIMIT " + limit + " OFFSET " + arg(p.next + 1);
    case page_mode::after:
      return sql + " AND (i.created_at, i.id) < " + anchor + " ORDER BY i.created_at DESC, i.id DESC LIMIT " + limit;
    case page_mode::before:
      return sql + " AND (i.created_at, i.id) > " + anchor + " ORDER BY i.created_at ASC, i.id ASC LIMIT " + limit;
  }
  return sql;
}

std::string list_attempts_sql(const attempt_filter& f, page_mode mode) {
  const param_slots p = slots_of(f);
  const std::string limit = arg(p.next);
  const std::string anchor = "(" + arg(p.next + 1) + "::timestamptz, " + arg(p.next + 2) + ")";
  const bool keyset = mode == page_mode::after || mode == page_mode::before;
  const std::string columns = attempt_columns(arg(p.next + (keyset ? 3 : 2)) + "::int4");
  std::string inner = "SELECT * FROM delivery_attempts i WHERE " + where_clause(p, "i");
  std::string order = "DESC";
  std::string extra_column;
  switch (mode) {
    case page_mode::offset:
      inner += " ORDER BY i.created_at DESC, i.id DESC LIMIT " + limit + " OFFSET " + arg(p.next + 1);
      break;
    case page_mode::deep_offset:
      // Skip through the index alone (index-only scan of the ordering keys), then
      // fetch just the page's rows by primary key. The LATERAL subquery with
      // OFFSET 0 cannot be flattened into a plain join, so even a generic plan
      // (which cannot see the LIMIT and guesses thousands of rows) stays a nested
      // loop of primary-key look-ups that keeps the order (k's): no hash join
      // over the whole table, no sort. The look-up names the whole primary key
      // (org_id, id, created_at): created_at also prunes it to one partition.
      return "SELECT " + columns + ", " + total_expression(p) +
             " AS total FROM (SELECT i.id, i.created_at FROM delivery_attempts i WHERE " + where_clause(p, "i") +
             " ORDER BY i.created_at DESC, i.id DESC LIMIT " + limit + " OFFSET " + arg(p.next + 1) +
             ") k CROSS JOIN LATERAL (SELECT * FROM delivery_attempts d WHERE d.org_id = $1 AND d.id = k.id "
             "AND d.created_at = k.created_at OFFSET 0) a "
             "ORDER BY k.created_at DESC, k.id DESC";
    case page_mode::after:
      // Both keys in one direction: the row comparison is an index condition of
      // the (..., created_at DESC, id DESC) indexes, so a page one million rows
      // deep starts right at its anchor.
      inner += " AND (i.created_at, i.id) < " + anchor + " ORDER BY i.created_at DESC, i.id DESC LIMIT " + limit;
      break;
    case page_mode::before:
      // Read upwards from the anchor (the caller reverses the rows), and say
      // whether anything follows the page: the anchor or rows older than it.
      inner += " AND (i.created_at, i.id) > " + anchor + " ORDER BY i.created_at ASC, i.id ASC LIMIT " + limit;
      order = "ASC";
      // A scalar subquery with ORDER BY/LIMIT rather than EXISTS: the planner
      // keeps the ordered index probe instead of hoping a scan hits a row early.
      extra_column = ", (SELECT e.id FROM delivery_attempts e WHERE " + where_clause(p, "e") +
                     " AND (e.created_at, e.id) <= " + anchor +
                     " ORDER BY e.created_at DESC, e.id DESC LIMIT 1) IS NOT NULL AS has_after";
      break;
  }
  // The page is cut in a subquery so deep offsets skip rows without reading
  // their large values; the outer ORDER BY repeats the subquery's order, which
  // the planner sees is already satisfied (no sort step). The total is an
  // uncorrelated subquery: computed once, in the same snapshot as the page.
  return "SELECT " + columns + ", " + total_expression(p) + " AS total" + extra_column + " FROM (" + inner +
         ") a ORDER BY a.created_at " + order + ", a.id " + order;
}

const std::string& find_attempt_sql() {
  static const std::string sql = "SELECT " + attempt_columns("$4::int4") +
                                 " FROM delivery_attempts a WHERE a.id = $1 AND a.org_id = $2 AND a.env_id = $3";
  return sql;
}

std::vector<std::string> list_attempts_params(const tenant_id& tenant, const page_request& r) {
  std::vector<std::string> p = detail::filter_params(tenant, r.filter);
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
  auto opt_text = [&](int c) -> std::optional<std::string_view> {
    if (r.is_null(row, c)) return std::nullopt;
    return r.bytes(row, c);
  };
  // A capped column: the statement cut it, but maybe inside a character.
  auto capped = [&](int c) -> std::optional<std::string_view> {
    if (r.is_null(row, c)) return std::nullopt;
    if (max_field_bytes <= 0) return r.bytes(row, c);
    return encoding::utf8_prefix(r.bytes(row, c), static_cast<std::size_t>(max_field_bytes));
  };
  auto opt_time = [&](int c) -> std::optional<unix_micros> {
    if (r.is_null(row, c)) return std::nullopt;
    return r.timestamp(row, c);
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
  v.next_retry_at = opt_time(18);
  v.is_dlq = r.nullable_integer(row, 19);
  v.dlq_at = opt_time(20);
  v.trigger_type = opt_text(21);
  return v;
}

std::size_t value_bytes(const delivery_attempt_view& v) noexcept {
  auto n = [](const std::optional<std::string_view>& s) { return s ? s->size() : 0; };
  return v.id.size() + v.org_id.size() + v.env_id.size() + v.event_id.size() + v.connection_id.size() +
         v.destination_id.size() + v.request_url.size() + v.request_method.size() + n(v.request_headers) +
         n(v.response_headers) + n(v.response_body) + v.status.size() + n(v.error) + n(v.trigger_type);
}
}  // namespace

attempt_rows::attempt_rows(query_result result, int max_rows, bool reversed, std::int32_t max_field_bytes)
    : result_(std::move(result)) {
  const int n = std::min(result_.rows(), max_rows);
  views_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    views_.push_back(decode_row(result_, reversed ? n - 1 - i : i, max_field_bytes));
    payload_bytes_ += value_bytes(views_.back());
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

asio::awaitable<db_result<attempt_page>> list_attempts(pg_connection& conn, const tenant_id& tenant,
                                                       const page_request& request, clock::time_point deadline) {
  const std::vector<std::string> values = list_attempts_params(tenant, request);
  std::vector<query_param> params(values.begin(), values.end());
  const shape_sql& sql = sql_for(request.filter);
  page_mode plan = request.mode;
  if (plan == page_mode::offset && request.offset >= deep_offset_threshold) plan = page_mode::deep_offset;
  auto result = co_await conn.execute(sql.list[static_cast<int>(plan)], params, result_format::binary, deadline);
  if (!result) co_return result.error();
  const bool backward = request.mode == page_mode::before;
  // The attempt's columns, then the total and (backward pages) has_after.
  const int expected_columns = column_count + 1 + (backward ? 1 : 0);
  if (result->columns() != expected_columns)
    co_return db_error{errc::protocol_error, "listing returned " + std::to_string(result->columns()) + " columns", {}};

  attempt_page page;
  const int fetched = result->rows();
  const bool beyond = fetched > request.limit;  // the look-ahead row exists
  if (fetched > 0) {
    page.total = result->integer(0, column_count);
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
        page.has_more = result->boolean(0, column_count + 1);
        page.has_before = beyond;
        break;
    }
  } else {
    // An empty page carries no row to read the total from (offset past the end,
    // nothing matches, or the rows next to a cursor are gone): count on its own.
    params.resize(params.size() - (plan == page_mode::after || plan == page_mode::before ? 4 : 3));
    auto counted = co_await conn.execute(sql.count, params, result_format::binary, deadline);
    if (!counted) co_return counted.error();
    page.total = counted->integer(0, 0);
  }
  page.rows = attempt_rows(std::move(*result), request.limit, backward, request.max_field_bytes);
  co_return page;
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
