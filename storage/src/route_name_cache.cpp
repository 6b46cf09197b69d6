#include <hookstream/storage/route_name_cache.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {

enum route_kind : int { connection = 0, destination = 1 };

// Both kinds in one round trip. `= ANY(array)` keeps each side a primary-key
// probe per id; the org and environment conditions keep tenants apart.
constexpr const char* names_sql =
    "SELECT false, c.id, c.name FROM connections c "
    "WHERE c.org_id = $1 AND c.env_id = $2 AND c.id = ANY($3::text[]) "
    "UNION ALL "
    "SELECT true, d.id, d.name FROM destinations d "
    "WHERE d.org_id = $1 AND d.env_id = $2 AND d.id = ANY($4::text[])";

// A text[] literal: every element double-quoted, with " and \ escaped.
std::string array_literal(const std::vector<std::string_view>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

struct fetched_name {
  int kind;
  std::string_view id;  // into the query result
  route_name name;
};

}  // namespace

std::string_view route_names_sql() noexcept { return names_sql; }

route_name_cache::route_name_cache(route_name_cache_config config) : config_(config), cache_(config.capacity) {}

std::uint64_t route_name_cache::tenant_number(std::string_view org, std::string_view env) {
  tenant_key_.assign(org);
  tenant_key_ += '\0';
  tenant_key_ += env;
  if (const auto it = tenant_numbers_.find(std::string_view(tenant_key_)); it != tenant_numbers_.end())
    return it->second;
  // Bounded like the names: when full, every tenant starts again with a new
  // number (their cached names, unreachable, age out of the LRU order).
  if (tenant_numbers_.size() >= std::max<std::size_t>(config_.capacity, 1)) tenant_numbers_.clear();
  return tenant_numbers_.emplace(tenant_key_, ++last_tenant_number_).first->second;
}

asio::awaitable<db_result<void>> route_name_cache::resolve(pg_connection& conn, const tenant_id& tenant,
                                                           attempt_rows& rows, clock::time_point deadline) {
  return conn.executor().run(resolve_here(conn, &tenant, rows, deadline));
}

asio::awaitable<db_result<void>> route_name_cache::resolve_each_tenant(pg_connection& conn, attempt_rows& rows,
                                                                       clock::time_point deadline) {
  return conn.executor().run(resolve_here(conn, nullptr, rows, deadline));
}

asio::awaitable<db_result<void>> route_name_cache::resolve_here(pg_connection& conn, const tenant_id* tenant,
                                                                attempt_rows& rows, clock::time_point deadline) {
  const int n = rows.size();
  if (n == 0) co_return db_result<void>{};
  // The tenant a row's names are looked up in: the caller's, or the row's own.
  auto org_of = [&](int row) -> std::string_view { return tenant ? std::string_view(tenant->org_id) : rows[row].org_id; };
  auto env_of = [&](int row) -> std::string_view { return tenant ? std::string_view(tenant->env_id) : rows[row].env_id; };
  // The number of the row's tenant: the page's, asked once; or, for rows of
  // several tenants, asked once per run of rows of one tenant.
  const std::uint64_t page_number = tenant ? tenant_number(tenant->org_id, tenant->env_id) : 0;
  std::string_view run_org, run_env;
  std::uint64_t run_number = 0;
  auto number_of = [&](int row) {
    if (tenant) return page_number;
    if (run_number == 0 || rows[row].org_id != run_org || rows[row].env_id != run_env) {
      run_org = rows[row].org_id;
      run_env = rows[row].env_id;
      run_number = tenant_number(run_org, run_env);
    }
    return run_number;
  };
  // A name's key: its kind, its tenant's number (8 bytes) and its id, written
  // with plain copies (no zero-fill, no growth check per piece).
  auto make_key = [&](int kind, std::uint64_t number, std::string_view id) -> std::string_view {
    const std::size_t size = 1 + sizeof number + id.size();
    if (key_.size() < size) key_.resize(std::max(size, 2 * key_.size()));
    key_[0] = kind == connection ? 'c' : 'd';
    std::memcpy(key_.data() + 1, &number, sizeof number);
    std::memcpy(key_.data() + 1 + sizeof number, id.data(), id.size());
    return std::string_view(key_.data(), size);
  };
  auto id_of = [&](int row, int kind) { return kind == connection ? rows.connection_id(row) : rows.destination_id(row); };

  // Names per row and kind; `aging` marks the ones the cache answered that are
  // past half their TTL. The ids the cache lacks are gathered per tenant (one
  // look-up each; a page has one).
  struct tenant_misses {
    std::string_view org, env;
    std::uint64_t number;
    std::array<std::vector<std::string_view>, 2> ids;
  };
  std::vector<route_name> names(2 * static_cast<std::size_t>(n));
  std::vector<bool> aging(names.size(), false);
  std::vector<tenant_misses> missing;
  auto now = clock::now();
  const auto renew_before = now + config_.ttl / 2;
  for (int row = 0; row < n; ++row) {
    for (int kind : {connection, destination}) {
      const std::string_view id = id_of(row, kind);
      const std::size_t slot = 2 * static_cast<std::size_t>(row) + static_cast<std::size_t>(kind);
      clock::time_point expires;
      if (const route_name* hit = cache_.find(make_key(kind, number_of(row), id), now, &expires)) {
        names[slot] = *hit;
        aging[slot] = expires < renew_before;
        continue;
      }
      auto group = std::find_if(missing.begin(), missing.end(), [&](const tenant_misses& m) {
        return m.org == org_of(row) && m.env == env_of(row);
      });
      if (group == missing.end())
        group = missing.insert(missing.end(), tenant_misses{org_of(row), env_of(row), number_of(row), {}});
      auto& ids = group->ids[kind];
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
  }

  // A page that asks anyway also renews its own routes past half their TTL:
  // the routes a page shows come to share an expiry or two, so a page that
  // keeps coming back asks a few times per TTL, not up to once per route per
  // TTL (their expiries would otherwise stay as scattered as the pages that
  // first fetched them). Only here: a page the cache answers whole asks nothing.
  if (!missing.empty()) {
    for (int row = 0; row < n; ++row)
      for (int kind : {connection, destination}) {
        if (!aging[2 * static_cast<std::size_t>(row) + static_cast<std::size_t>(kind)]) continue;
        auto group = std::find_if(missing.begin(), missing.end(), [&](const tenant_misses& m) {
          return m.org == org_of(row) && m.env == env_of(row);
        });
        if (group == missing.end()) continue;  // that tenant's names were all in the cache
        const std::string_view id = id_of(row, kind);
        auto& ids = group->ids[kind];
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
  }

  for (const tenant_misses& m : missing) {
    ++queries_;
    const std::string connection_ids = array_literal(m.ids[connection]);
    const std::string destination_ids = array_literal(m.ids[destination]);
    const std::array<query_param, 4> params{m.org, m.env, std::string_view(connection_ids),
                                            std::string_view(destination_ids)};
    auto result = co_await conn.execute(names_sql, params, result_format::binary, deadline);
    if (!result) co_return result.error();
    if (result->columns() != 3)
      co_return db_error{errc::protocol_error, "route names returned " + std::to_string(result->columns()) +
                                                   " columns", {}};
    std::vector<fetched_name> fetched;
    fetched.reserve(static_cast<std::size_t>(result->rows()));
    now = clock::now();
    const auto expires = now + config_.ttl;
    for (int i = 0; i < result->rows(); ++i) {
      const int kind = result->boolean(i, 0) ? destination : connection;
      auto name = std::make_shared<const std::string>(result->bytes(i, 2));
      fetched.push_back({kind, result->bytes(i, 1), name});
      cache_.store(make_key(kind, m.number, result->bytes(i, 1)), std::move(name), now, expires);
    }
    // Ids the database does not know (deleted routes) read null, and are
    // remembered as such for the same TTL.
    for (int kind : {connection, destination})
      for (std::string_view id : m.ids[kind]) {
        const bool found = std::any_of(fetched.begin(), fetched.end(),
                                       [&](const fetched_name& f) { return f.kind == kind && f.id == id; });
        if (!found) cache_.store(make_key(kind, m.number, id), nullptr, now, expires);
      }
    for (int row = 0; row < n; ++row) {
      if (org_of(row) != m.org || env_of(row) != m.env) continue;
      for (int kind : {connection, destination}) {
        // The rows it lacked, and the renewed ones (their fresher name).
        const std::size_t slot = 2 * static_cast<std::size_t>(row) + static_cast<std::size_t>(kind);
        const std::string_view id = id_of(row, kind);
        for (const auto& f : fetched)
          if (f.kind == kind && f.id == id) names[slot] = f.name;
      }
    }
  }
  for (int row = 0; row < n; ++row)
    rows.set_route_names(row, std::move(names[2 * static_cast<std::size_t>(row)]),
                         std::move(names[2 * static_cast<std::size_t>(row) + 1]));
  co_return db_result<void>{};
}

}  // namespace hookstream::storage
