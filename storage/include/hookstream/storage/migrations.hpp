// Versioned schema migrations, applied at start-up.
//
// Each migration runs once, in order, inside one transaction that also records it
// in `hookstream_migrations`; a transaction-scoped advisory lock serialises servers
// starting at the same time. Applying twice is a no-op.
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace hookstream::storage {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// The migrations compiled into this library (storage/migrations/*.sql), in order.
const std::vector<migration>& builtin_migrations();

/// Applies the migrations not yet recorded; returns how many ran. On error nothing
/// of this call is kept (the transaction is rolled back).
boost::asio::awaitable<db_result<int>> apply_migrations(pg_connection& conn, std::span<const migration> all,
                                                        clock::time_point deadline);

/// Convenience for start-up code and tools: connects to `conninfo` on a private
/// io_context, applies the built-in migrations and returns how many ran.
db_result<int> migrate_database(const std::string& conninfo, std::chrono::milliseconds timeout);

}  // namespace hookstream::storage
