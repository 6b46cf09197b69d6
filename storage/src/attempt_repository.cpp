#include <hookstream/storage/attempt_repository.hpp>

#include <array>
#include <vector>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {
// Output columns, in the order of the public API. Names come from their tables
// through correlated look-ups that also check the tenant, so a connection of
// another org that happens to share an id can never lend its name.
constexpr std::string_view attempt_columns =
    "a.id, a.org_id, a.env_id, a.event_id, a.connection_id, a.destination_id, a.request_url, "
    "a.request_method, a.request_headers, a.request_body_size, a.response_status, a.response_headers, "
    "a.response_body, a.duration_ms, a.status, a.error, a.created_at, a.attempt_number, a.next_retry_at, "
    "a.is_dlq, a.dlq_at, a.trigger_type, "
    "(SELECT c.name FROM connections c WHERE c.id = a.connection_id AND c.org_id = a.org_id "
    "AND c.env_id = a.env_id) AS connection_name, "
    "(SELECT d.name FROM destinations d WHERE d.id = a.destination_id AND d.org_id = a.org_id "
    "AND d.env_id = a.env_id) AS destination_name";
constexpr int column_count = 24;

// WHERE clause over table alias `x` for a filter shape; numbering starts at $3.
std::string where_clause(const attempt_filter& f, std::string_view x, int& next_param) {
  std::string w = std::string(x) + ".org_id = $1 AND " + std::string(x) + ".env_id = $2";
  auto add = [&](std::string_view expr) {
    w += " AND ";
    w += expr;
    w += " = $" + std::to_string(next_param++);
  };
  const std::string p(x);
  if (f.event_id) add(p + ".event_id");
  if (f.connection_id) add(p + ".connection_id");
  if (f.destination_id) add(p + ".destination_id");
  if (f.status) add(p + ".status");
  // Must match the expression of index delivery_attempts_by_dlq exactly.
  if (f.in_dlq) add("coalesce(" + p + ".is_dlq, 0)");
  return w;
}

std::string count_sql(const attempt_filter& f) {
  int next = 3;
  return "SELECT count(*) FROM delivery_attempts a WHERE " + where_clause(f, "a", next);
}

// The SQL depends only on which filters are present: 32 shapes, rendered once.
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
  std::string list;
  std::string count;
};
const shape_sql& sql_for(const attempt_filter& f) {
  static const std::array<shape_sql, 32> all = [] {
    std::array<shape_sql, 32> a;
    for (unsigned s = 0; s < a.size(); ++s) {
      a[s].list = list_attempts_sql(filter_of_shape(s));
      a[s].count = count_sql(filter_of_shape(s));
    }
    return a;
  }();
  return all[shape_of(f)];
}
}  // namespace

std::string list_attempts_sql(const attempt_filter& f) {
  int next = 3;
  const std::string where_inner = where_clause(f, "i", next);
  const int limit_param = next++;
  const int offset_param = next++;
  int count_next = 3;
  const std::string where_count = where_clause(f, "n", count_next);
  // The page is cut in a subquery so deep offsets skip rows without looking up
  // their names; the outer ORDER BY repeats the subquery's order, which the planner
  // recognises as already satisfied (no sort step). The total is an uncorrelated
  // subquery: computed once, in the same snapshot as the page.
  return "SELECT " + std::string(attempt_columns) +
         ", (SELECT count(*) FROM delivery_attempts n WHERE " + where_count +
         ") AS total FROM (SELECT * FROM delivery_attempts i WHERE " + where_inner +
         " ORDER BY i.created_at DESC, i.id DESC LIMIT $" + std::to_string(limit_param) + " OFFSET $" +
         std::to_string(offset_param) + ") a ORDER BY a.created_at DESC, a.id DESC";
}

std::vector<std::string> list_attempts_params(const tenant_id& tenant, const page_request& r) {
  std::vector<std::string> p{tenant.org_id, tenant.env_id};
  const attempt_filter& f = r.filter;
  if (f.event_id) p.push_back(*f.event_id);
  if (f.connection_id) p.push_back(*f.connection_id);
  if (f.destination_id) p.push_back(*f.destination_id);
  if (f.status) p.push_back(*f.status);
  if (f.in_dlq) p.push_back(*f.in_dlq ? "1" : "0");
  // One extra row tells whether another page follows.
  p.push_back(std::to_string(r.limit + 1));
  p.push_back(std::to_string(r.offset));
  return p;
}

delivery_attempt_view attempt_rows::operator[](int row) const noexcept {
  const query_result& r = result_;
  auto text = [&](int c) { return r.bytes(row, c); };
  auto opt_text = [&](int c) -> std::optional<std::string_view> {
    if (r.is_null(row, c)) return std::nullopt;
    return r.bytes(row, c);
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
  v.request_headers = opt_text(8);
  v.request_body_size = r.integer(row, 9);
  v.response_status = r.nullable_integer(row, 10);
  v.response_headers = opt_text(11);
  v.response_body = opt_text(12);
  v.duration_ms = r.nullable_integer(row, 13);
  v.status = text(14);
  v.error = opt_text(15);
  v.created_at = r.timestamp(row, 16);
  v.attempt_number = r.nullable_integer(row, 17);
  v.next_retry_at = opt_time(18);
  v.is_dlq = r.nullable_integer(row, 19);
  v.dlq_at = opt_time(20);
  v.trigger_type = opt_text(21);
  v.connection_name = opt_text(22);
  v.destination_name = opt_text(23);
  return v;
}

asio::awaitable<db_result<attempt_page>> list_attempts(pg_connection& conn, const tenant_id& tenant,
                                                       const page_request& request, clock::time_point deadline) {
  const std::vector<std::string> values = list_attempts_params(tenant, request);
  std::vector<query_param> params(values.begin(), values.end());
  auto result = co_await conn.execute(sql_for(request.filter).list, params, result_format::binary, deadline);
  if (!result) co_return result.error();
  if (result->columns() != column_count + 1)
    co_return db_error{errc::protocol_error, "listing returned " + std::to_string(result->columns()) + " columns", {}};

  attempt_page page;
  const int fetched = result->rows();
  if (fetched > 0) {
    page.total = result->integer(0, column_count);
  } else {
    // An empty page carries no row to read the total from (offset past the end,
    // or nothing matches): count on its own.
    params.resize(params.size() - 2);
    auto counted = co_await conn.execute(sql_for(request.filter).count, params, result_format::binary, deadline);
    if (!counted) co_return counted.error();
    page.total = counted->integer(0, 0);
  }
  page.has_more = fetched > request.limit;
  page.rows = attempt_rows(std::move(*result), request.limit);
  co_return page;
}

asio::awaitable<db_result<attempt_rows>> find_attempt(pg_connection& conn, const tenant_id& tenant,
                                                      std::string_view attempt_id, clock::time_point deadline) {
  static const std::string sql = "SELECT " + std::string(attempt_columns) +
                                 " FROM delivery_attempts a WHERE a.id = $1 AND a.org_id = $2 AND a.env_id = $3";
  const std::array<query_param, 3> params{attempt_id, std::string_view(tenant.org_id),
                                          std::string_view(tenant.env_id)};
  auto result = co_await conn.execute(sql, params, result_format::binary, deadline);
  if (!result) co_return result.error();
  co_return attempt_rows(std::move(*result));
}

}  // namespace hookstream::storage
