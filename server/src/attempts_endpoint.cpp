#include "attempts_endpoint.hpp"

#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/http_errors.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>

namespace hookstream::server {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using storage::clock;

namespace {

// A page is rendered in slices of about this size; between slices other
// requests on this thread get to run.
constexpr std::size_t render_slice_bytes = 256 * 1024;

}  // namespace

attempts_endpoint::attempts_endpoint(storage::read_router& reads, const handler_config& config)
    : reads_(reads),
      config_(config),
      cursors_(config.cursor_secret.empty() ? random_cursor_secret() : config.cursor_secret),
      names_(config.route_names),
      // Each row's JSON up to its names, which page_writer copies into pages.
      rows_(config.row_cache, attempt_head_json) {}

std::variant<list_query, http_response> attempts_endpoint::parse_listing(std::string_view query,
                                                                         const std::string& request_id) const {
  auto parsed = parse_list_query(query);
  if (auto* bad = std::get_if<invalid_parameter>(&parsed))
    return error_response(http::status::bad_request, bad->message, request_id);
  auto& list = std::get<list_query>(parsed);
  if (list.cursor && !cursor_codec::well_formed(*list.cursor))
    return error_response(http::status::bad_request,
                          "cursor is not valid: use next_cursor or prev_cursor as returned", request_id);
  list.request.max_field_bytes = config_.listing_field_bytes;
  return std::move(list);
}

bool attempts_endpoint::plausible_attempt_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 128;
}

asio::awaitable<http_response> attempts_endpoint::list(const storage::tenant_id& tenant, list_query query,
                                                       const request_scope& scope) {
  storage::page_request& page_req = query.request;
  std::int64_t cursor_position = 0;
  if (query.cursor) {
    auto decoded = cursors_.decode(*query.cursor, tenant, page_req.filter);
    if (auto* err = std::get_if<cursor_error>(&decoded)) {
      co_return error_response(http::status::bad_request,
                               *err == cursor_error::other_filters
                                   ? "cursor was made for other filters: send the same filters with it, or start over"
                                   : "cursor is not valid: use next_cursor or prev_cursor as returned",
                               scope.request_id);
    }
    const auto& c = std::get<keyset_cursor>(decoded);
    page_req.mode = c.direction == cursor_direction::next ? storage::page_mode::after : storage::page_mode::before;
    page_req.anchor = c.anchor;
    cursor_position = c.position;
  }

  // Read-only work: the pool runs it once more on a fresh connection when the
  // first one turns out dead (e.g. after a database restart), the router on the
  // primary when a replica failed. The page, its total and its names come from
  // one connection, so from one server. The connection is back in the pool
  // before the page is rendered.
  auto page = co_await reads_.read(
      [&](storage::pg_connection& conn) -> asio::awaitable<storage::db_result<storage::attempt_page>> {
        auto read = co_await storage::list_attempts(conn, tenant, page_req, scope.deadline, &rows_);
        if (!read) co_return read.error();
        if (auto named = co_await names_.resolve(conn, tenant, read->rows, scope.deadline); !named)
          co_return named.error();
        co_return read;
      },
      scope.acquire_deadline);
  if (!page) co_return database_error_response(page.error(), scope.request_id);

  // Rendered in slices.
  page_writer writer(page->rows, config_.max_page_bytes);
  while (!writer.write_some(render_slice_bytes))
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  const int rows = writer.rows_written();

  // Where this page starts in the listing, as counted when its cursor was made.
  std::int64_t first_position = page_req.offset;
  if (page_req.mode == storage::page_mode::after) first_position = cursor_position;
  if (page_req.mode == storage::page_mode::before)
    first_position = page->has_before ? std::max<std::int64_t>(0, cursor_position - page->rows.size()) : 0;

  page_meta meta;
  meta.total = page->total;
  meta.limit = page_req.limit;
  meta.offset = first_position;
  // A page cut short by its size ceiling continues where it stopped.
  meta.has_more = page->has_more || writer.stopped_at_ceiling();
  if (rows > 0) {
    auto key_of = [&](int i) {
      const auto a = page->rows[i];
      return storage::keyset_position{a.created_at, std::string(a.id)};
    };
    if (meta.has_more)
      meta.next_cursor = cursors_.encode({cursor_direction::next, key_of(rows - 1), first_position + rows}, tenant,
                                         page_req.filter);
    if (page->has_before)
      meta.prev_cursor =
          cursors_.encode({cursor_direction::prev, key_of(0), first_position}, tenant, page_req.filter);
  }
  co_return make_response(http::status::ok, std::move(writer).finish(meta), scope.request_id);
}

asio::awaitable<http_response> attempts_endpoint::get(const storage::tenant_id& tenant, std::string_view id,
                                                      const request_scope& scope) {
  auto rows = co_await reads_.read(
      [&](storage::pg_connection& conn) -> asio::awaitable<storage::db_result<storage::attempt_rows>> {
        auto found = co_await storage::find_attempt(conn, tenant, id, config_.attempt_field_bytes, scope.deadline);
        if (!found) co_return found.error();
        if (auto named = co_await names_.resolve(conn, tenant, *found, scope.deadline); !named)
          co_return named.error();
        co_return found;
      },
      scope.acquire_deadline);
  if (!rows) co_return database_error_response(rows.error(), scope.request_id);
  if (rows->size() == 0)
    co_return error_response(http::status::not_found, "no such delivery attempt", scope.request_id);
  co_return make_response(http::status::ok, render_single_attempt((*rows)[0]), scope.request_id);
}

}  // namespace hookstream::server
