// GET /v1/delivery-attempts and GET /v1/delivery-attempts/{id}: validation,
// the database work on a pooled connection, and rendering. api_handler calls it
// with an authenticated tenant; nothing here decides who the caller is.
#pragma once

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/server/list_query.hpp>
#include <hookstream/storage/attempt_row_cache.hpp>
#include <hookstream/storage/route_name_cache.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace hookstream::server {

/// The request-wide facts every step needs.
struct request_scope {
  const std::string& request_id;
  storage::clock::time_point deadline;          ///< all database work
  storage::clock::time_point acquire_deadline;  ///< waiting for a connection
};

class attempts_endpoint {
 public:
  /// `reads` and `config` must outlive the endpoint.
  attempts_endpoint(storage::read_router& reads, const handler_config& config);

  /// Checks the listing's query string, cursor shape included: the 400 answer,
  /// or the parsed query. Needs no credential and no database.
  std::variant<list_query, http_response> parse_listing(std::string_view query,
                                                        const std::string& request_id) const;
  /// False when `id` cannot name an attempt (answer 404 without any work).
  static bool plausible_attempt_id(std::string_view id) noexcept;

  /// The listing page for `tenant`: verifies the cursor for this tenant (400),
  /// reads the page and its names, gives the connection back, renders.
  boost::asio::awaitable<http_response> list(const storage::tenant_id& tenant, list_query query,
                                             const request_scope& scope);
  /// One attempt of `tenant` (404 for another tenant's, like a missing one).
  boost::asio::awaitable<http_response> get(const storage::tenant_id& tenant, std::string_view id,
                                            const request_scope& scope);

  /// The listing rows this endpoint keeps (read on the handler's executor).
  const storage::attempt_row_cache& row_cache() const noexcept { return rows_; }

 private:
  storage::read_router& reads_;
  const handler_config& config_;
  cursor_codec cursors_;
  storage::route_name_cache names_;
  storage::attempt_row_cache rows_;
};

}  // namespace hookstream::server
