// Names of connections and destinations for listing pages, cached per thread.
//
// Why not in the listing's SQL: two correlated look-ups per row cost the
// database about as much as the page itself (and, under a generic plan, far
// more). A page names few distinct routes, and the same ones again and again,
// so this cache answers almost every page without a round trip; the names it
// lacks come from one query per page, on the connection the page was read on.
//
// Freshness: a name is trusted for `ttl` (default 5 s). A renamed route shows
// its new name, and a deleted one reads null, within that time. Unknown ids are
// cached as null too, so a page of deleted routes does not ask again each time.
// A page that lacks some names asks for them and also for those of its routes
// that are past half their TTL, so that the routes of a page come to expire
// together: a page that keeps coming back asks a few times per TTL, where the
// scattered expiries of routes first fetched by different pages made it ask up
// to once per route per TTL (the bench's first page: 2.0-2.9 names queries per
// 1,000 requests before, 0.2-0.3 after). A page the cache answers whole asks
// nothing.
//
// Tenant safety: entries are keyed by tenant and id, and the look-up filters on
// org, environment and id, so a route of another tenant that shares an id never
// lends its name. A key names its tenant (org and environment) by a number the
// cache gives it on first sight and never gives again (64 bits, counted up), so
// that a look-up hashes and compares the id and 9 bytes, not the two tenant ids
// (about 60 bytes) as well: a page makes 100 look-ups.
//
// Bounded (`capacity` entries, least recently used go first). Threads: the
// cache's state lives on the executor of the connections it is given: use one
// cache per connection pool. `resolve` may be awaited from any executor (it
// hops onto the connection's); the accessors read plain counters (on that
// executor, or while no thread runs it).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/ttl_cache.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookstream::storage {

struct route_name_cache_config {
  std::size_t capacity = 100000;
  std::chrono::milliseconds ttl{5000};
};

/// The names query (parameters: $1 org, $2 env, $3 connection ids and $4
/// destination ids as text[] literals). Exposed for the plan tests.
std::string_view route_names_sql() noexcept;

class route_name_cache {
 public:
  explicit route_name_cache(route_name_cache_config config = {});

  /// Gives every visible row of `rows` its connection and destination name (see
  /// attempt_rows::set_route_names): from the cache, else with one query on
  /// `conn` for all the names the page lacks. On error the rows keep no names.
  boost::asio::awaitable<db_result<void>> resolve(pg_connection& conn, const tenant_id& tenant,
                                                  attempt_rows& rows, clock::time_point deadline);
  /// The same for rows of several tenants (the live tail reads all tenants'
  /// events at once): each row's names are looked up within the row's own
  /// org_id and env_id, as the database returned them, one query per tenant
  /// with names the cache lacks.
  boost::asio::awaitable<db_result<void>> resolve_each_tenant(pg_connection& conn, attempt_rows& rows,
                                                              clock::time_point deadline);

  std::size_t size() const noexcept { return cache_.size(); }
  std::uint64_t hits() const noexcept { return cache_.hits(); }
  std::uint64_t misses() const noexcept { return cache_.misses(); }
  std::uint64_t queries() const noexcept { return queries_; }

 private:
  // Runs on conn's executor. `tenant` null: each row's own.
  boost::asio::awaitable<db_result<void>> resolve_here(pg_connection& conn, const tenant_id* tenant,
                                                       attempt_rows& rows, clock::time_point deadline);

  // The number of the tenant (org, env): the one it was given, or the next one.
  std::uint64_t tenant_number(std::string_view org, std::string_view env);

  route_name_cache_config config_;
  ttl_cache<route_name> cache_;
  // Tenants' numbers by org + '\0' + env; at most `capacity` (then cleared).
  std::unordered_map<std::string, std::uint64_t, text_hash, std::equal_to<>> tenant_numbers_;
  std::uint64_t last_tenant_number_ = 0;
  std::string key_, tenant_key_;  // reused buffers: building a key allocates nothing once grown
  std::uint64_t queries_ = 0;
};

}  // namespace hookstream::storage
