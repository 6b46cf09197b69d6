// Reading delivery attempts: the listing and the single-attempt look-up.
//
// Every query is scoped to a tenant (org + environment) that the caller has
// authenticated; no parameter of a request can widen it. Rows are returned as
// zero-copy views into the PostgreSQL result, which the page owns, so a page
// outlives the connection it was read on.
//
// Large values are cut in SQL, before they cross the wire: `response_body`,
// `request_headers`, `response_headers` and `error` arrive with at most
// `max_field_bytes` bytes, ending on a UTF-8 character boundary.
//
// Connection and destination names are not part of these statements (a
// per-row look-up costs the database more than the page itself): a
// route_name_cache fills them in (see route_name_cache.hpp).
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>
#include <hookstream/storage/query_result.hpp>

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <climits>
#include <memory>
#include <cstdint>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

namespace hookstream::storage {

/// Who is asking. Comes from the credential only, never from the query string.
struct tenant_id {
  std::string org_id;
  std::string env_id;
};

/// Most values one field of attempt_filter may hold.
inline constexpr std::size_t max_filter_values = 10;

/// The endpoint's filters. An empty list or optional means "not filtered"; the
/// values of one list combine with OR, the fields with AND.
///
/// Preconditions (the query-string parser guarantees them; list_attempts
/// refuses a filter that breaks them with errc::protocol_error): every list
/// holds at most max_filter_values distinct values, and created_after <
/// created_before when both are set. The order of a list's values does not
/// matter.
struct attempt_filter {
  std::vector<std::string> event_id;
  std::vector<std::string> connection_id;
  std::vector<std::string> destination_id;
  std::vector<std::string> status;    ///< pending | success | failed | retrying
  std::optional<bool> in_dlq;         ///< true: DLQ only; false: not in the DLQ
  std::optional<unix_micros> created_after;   ///< only attempts created after it (exclusive)
  std::optional<unix_micros> created_before;  ///< only attempts created before it (exclusive)

  bool has_range() const noexcept { return created_after || created_before; }
  /// True when the filter meets the preconditions above.
  bool valid() const noexcept;
};

/// A row's place in the listing order (created_at DESC, id DESC).
struct keyset_position {
  unix_micros created_at = 0;
  std::string id;
};

/// Which rows a page holds: by offset, or next to a keyset anchor.
enum class page_mode {
  offset,       ///< skip `offset` rows, then `limit` rows
  after,        ///< the `limit` rows right after `anchor` (older), i.e. the next page
  before,       ///< the `limit` rows right before `anchor` (newer), i.e. the previous page
  deep_offset,  ///< like `offset`, planned for large offsets (chosen automatically)
};

/// From this offset on, a page skips rows through an index-only scan of ids and
/// fetches only its own rows ("deferred join"): ~50 ms instead of ~1.3 s at
/// offset 100,000 on the bench data. Below it the plain plan is cheaper.
inline constexpr std::int64_t deep_offset_threshold = 200;

/// Default cap of the large fields of a listing row (see max_field_bytes). A
/// page then brings at most 101 rows x 4 fields x 16 KiB = 6.5 MB of large
/// values from the database, whatever the rows hold; the full values (up to
/// their own cap) are one GET /v1/delivery-attempts/{id} away.
inline constexpr std::int32_t default_listing_field_bytes = 16 * 1024;

struct page_request {
  attempt_filter filter;
  /// Large fields longer than this are cut (at a UTF-8 boundary); >= 4.
  std::int32_t max_field_bytes = default_listing_field_bytes;
  int limit = 50;            ///< rows per page, 1..100 (validated by the caller)
  std::int64_t offset = 0;   ///< rows to skip (page_mode::offset only)
  page_mode mode = page_mode::offset;
  keyset_position anchor;    ///< the row the page is next to (keyset modes only)
};

/// One delivery attempt, viewing memory owned by the `attempt_rows` it came from.
/// Field order and nullability follow the public API. Text fields are valid
/// UTF-8 (the database's encoding); `response_body` may hold any bytes.
struct delivery_attempt_view {
  std::string_view id, org_id, env_id, event_id, connection_id, destination_id;
  std::string_view request_url, request_method;
  std::optional<std::string_view> request_headers;
  std::int64_t request_body_size = 0;
  std::optional<std::int64_t> response_status;
  std::optional<std::string_view> response_headers;
  std::optional<std::string_view> response_body;  ///< raw bytes, not necessarily UTF-8
  std::optional<std::int64_t> duration_ms;
  std::string_view status;
  std::optional<std::string_view> error;
  unix_micros created_at = 0;
  std::optional<std::int64_t> attempt_number;
  std::optional<unix_micros> next_retry_at;
  std::optional<std::int64_t> is_dlq;
  std::optional<unix_micros> dlq_at;
  std::optional<std::string_view> trigger_type;
  std::optional<std::string_view> connection_name;
  std::optional<std::string_view> destination_name;
};

/// Calls `f` on every value of `a` that views memory (text and bytes; route
/// names excepted): `f(std::string_view&)` for the required ones,
/// `f(std::optional<std::string_view>&)` for the nullable ones. `View` is
/// delivery_attempt_view, const or not. The one list of these fields, for
/// whoever sums, copies or repoints them.
template <class View, class F>
void for_each_value(View& a, F&& f) {
  for (auto* s : {&a.id, &a.org_id, &a.env_id, &a.event_id, &a.connection_id, &a.destination_id, &a.request_url,
                  &a.request_method, &a.status})
    f(*s);
  for (auto* s : {&a.request_headers, &a.response_headers, &a.response_body, &a.error, &a.trigger_type}) f(*s);
}

/// The bytes of the values for_each_value visits (nulls count 0).
std::size_t value_bytes(const delivery_attempt_view& a) noexcept;

struct cached_attempt;     // attempt_row_cache.hpp
class attempt_row_cache;  // attempt_row_cache.hpp

/// A connection's or destination's name as a page holds it; null when the
/// route is unknown (e.g. deleted). Shared with the cache that produced it.
using route_name = std::shared_ptr<const std::string>;

/// Rows of a query in the attempt column layout. The views are decoded once,
/// when the rows are made; moving the rows keeps them valid.
class attempt_rows {
 public:
  attempt_rows() = default;
  /// `max_rows` hides the look-ahead row a listing fetches to compute `has_more`;
  /// `reversed` presents rows a backward page read in ascending order newest-first.
  /// `max_field_bytes` is the cap the statement applied (0: none).
  explicit attempt_rows(query_result result, int max_rows = INT_MAX, bool reversed = false,
                        std::int32_t max_field_bytes = 0);
  /// Rows kept by a row cache, in page order (they stay alive with these rows).
  explicit attempt_rows(std::vector<std::shared_ptr<const cached_attempt>> rows);
  int size() const noexcept { return static_cast<int>(views_.size()); }
  /// A visible row (only its placing_fields if it has prerendered bytes).
  const delivery_attempt_view& operator[](int row) const noexcept { return views_[static_cast<std::size_t>(row)]; }
  /// Bytes of all values of the visible rows (of a row kept prerendered: its
  /// prerendered bytes): lets a renderer size its buffer once.
  std::size_t payload_bytes() const noexcept { return payload_bytes_; }

  std::string_view connection_id(int row) const noexcept { return (*this)[row].connection_id; }
  std::string_view destination_id(int row) const noexcept { return (*this)[row].destination_id; }
  /// Sets the names `operator[]` reports for a visible row.
  void set_route_names(int row, route_name connection, route_name destination);
  /// For a row listed from a row cache, what its prerender made of it (see
  /// attempt_row_cache's constructor); empty otherwise. A row that has these
  /// bytes holds only its placing_fields in its view.
  std::string_view prerendered(int row) const noexcept;

 private:
  query_result result_;
  std::vector<std::shared_ptr<const cached_attempt>> cached_;  // what views_ show, when not result_
  std::vector<delivery_attempt_view> views_;
  std::vector<route_name> names_;  // 2 per visible row (connection, destination), owned for the views
  std::size_t payload_bytes_ = 0;
};

struct attempt_page {
  attempt_rows rows;         ///< at most `limit`
  std::int64_t total = 0;    ///< attempts matching the filters, whatever the page
  bool has_more = false;     ///< attempts exist after the last row of this page
  bool has_before = false;   ///< attempts exist before the first row of this page
};

/// SQL of the listing for one filter shape and mode. Columns: the attempt's
/// (attempt_rows' layout), its row version (tableoid, ctid, xmin: the row
/// cache's key), the total, and for a backward page has_after. The shape is which fields
/// are present, whether a field holds one value or several (and how many, for
/// the first field with several: the page merges one ordered index scan per
/// value of it), and whether a time range is set; the values themselves are
/// parameters. Parameters: $1 org, $2 env, one per present field in declaration
/// order (a value as text; several values as a text[] literal), with a range
/// created_after and created_before (a missing bound is -infinity / infinity)
/// and, unless an event or route filter is set, the 18 counter ranges of the
/// range's exact total, computed from the bounds (list_attempts_params makes
/// them), then limit and offset, or limit, anchor time and anchor id, and last
/// the field cap. Exposed so the bench suite runs the very statement the server
/// sends; `with_total = false` puts 0 in place of the total (the bench prices
/// the total with it; with an event filter, the server tries that statement
/// first for an offset page, see list_attempts).
std::string list_attempts_sql(const attempt_filter& filter, page_mode mode = page_mode::offset,
                              bool with_total = true);
/// The cheapest statement that could serve the same page: the page's rows and
/// nothing else (no names, no total, no cuts). Parameters as list_attempts_sql's,
/// without the last one. The bench suite's strictest
/// ceiling, not used by the server.
std::string bare_page_sql(const attempt_filter& filter, page_mode mode = page_mode::offset);
/// The listing statement that returns, instead of each row's columns, its
/// identity: id, created_at and the version columns tableoid, ctid and xmin (the
/// row cache's key), then the total and has_after as list_attempts_sql's.
/// Parameters as list_attempts_sql's without the last (the field cap);
/// `with_total` as list_attempts_sql's.
std::string list_attempt_identities_sql(const attempt_filter& filter, page_mode mode = page_mode::offset,
                                        bool with_total = true);
/// SQL of a tenant's rows by primary key, for the rows an identity page found
/// no cached copy of: the attempt's columns, then tableoid, ctid and xmin.
/// Parameters: $1 org, $2 env, $3 ids (text[]), $4 their created_at
/// (timestamptz[], same order), $5 the field cap.
const std::string& attempts_by_key_sql();
/// SQL of the exact total alone for a filter shape (parameters as above, without
/// the paging ones).
std::string count_attempts_sql(const attempt_filter& filter);
/// SQL of the single-attempt look-up (parameters: $1 id, $2 org, $3 env, $4 the
/// field cap). Exposed for the tests that check every statement's plan.
const std::string& find_attempt_sql();
/// The parameters `list_attempts_sql` expects, as text, in order.
std::vector<std::string> list_attempts_params(const tenant_id& tenant, const page_request& request);
/// A PostgreSQL text[] literal holding `values` (every element quoted).
std::string text_array_literal(const std::vector<std::string>& values);
/// A timestamptz parameter in text form, exact to the microsecond (the extreme
/// int64 values are -infinity and infinity).
std::string timestamp_param(unix_micros t);

/// One page and its exact total, read in one snapshot: usually one statement.
///
/// With a `row_cache` (see attempt_row_cache.hpp), a request whose rows the
/// cache held when it was last read is first read as row identities
/// (list_attempt_identities_sql); the rows come from the cache, and those it
/// lacks (a quarter of the page at most) from one statement by key
/// (attempts_by_key_sql), which the cache then keeps. If a row changed between
/// those two statements, or more rows were missing, the page is read again
/// whole, so that every page comes from one snapshot. Other requests are read
/// whole, and the cache keeps their rows as attempt_row_cache::plan_page says.
///
/// With an event filter, an offset page is read without its total first; when
/// it does not fill up (no look-ahead row), offset + its rows is the total, else
/// (a full page, or an empty one past offset 0) the page is read again with its
/// count. Otherwise an empty page (an offset past the end, no row next to a
/// cursor), which has no row to carry the total, counts it in a second statement.
boost::asio::awaitable<db_result<attempt_page>> list_attempts(pg_connection& conn, const tenant_id& tenant,
                                                              const page_request& request,
                                                              clock::time_point deadline,
                                                              attempt_row_cache* row_cache = nullptr);

/// The attempt with this id if it belongs to the tenant; an empty result otherwise
/// (another tenant's attempt is indistinguishable from a missing one). Large
/// fields are cut at `max_field_bytes` (>= 4).
boost::asio::awaitable<db_result<attempt_rows>> find_attempt(pg_connection& conn, const tenant_id& tenant,
                                                             std::string_view attempt_id,
                                                             std::int32_t max_field_bytes,
                                                             clock::time_point deadline);

}  // namespace hookstream::storage
