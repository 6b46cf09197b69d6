#include <hookstream/storage/migrations.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <set>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {
// Any constant works; it only has to be the same for every hookstream server.
constexpr const char* lock_and_prepare = R"sql(
BEGIN;
SET LOCAL client_min_messages = warning;  -- no NOTICE for the IF NOT EXISTS below
SELECT pg_advisory_xact_lock(7286091634);
CREATE TABLE IF NOT EXISTS hookstream_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
)sql";
}  // namespace

asio::awaitable<db_result<int>> apply_migrations(pg_connection& conn, std::span<const migration> all,
                                                 clock::time_point deadline) {
  auto run = [&](std::string_view sql) { return conn.execute_script(sql, deadline); };
  auto rollback = [&]() -> asio::awaitable<void> {
    if (conn.is_open()) co_await conn.execute_script("ROLLBACK", deadline);
  };

  if (auto r = co_await run(lock_and_prepare); !r) {
    co_await rollback();
    co_return r.error();
  }
  auto applied_rows = co_await conn.execute("SELECT version FROM hookstream_migrations", {}, result_format::binary,
                                            deadline);
  if (!applied_rows) {
    co_await rollback();
    co_return applied_rows.error();
  }
  std::set<std::int64_t> applied;
  for (int i = 0; i < applied_rows->rows(); ++i) applied.insert(applied_rows->integer(i, 0));

  int count = 0;
  for (const migration& m : all) {
    if (applied.count(m.version)) continue;
    auto r = co_await run(m.sql);
    if (r) {
      r = co_await run("INSERT INTO hookstream_migrations (version, name) VALUES (" + std::to_string(m.version) +
                       ", '" + std::string(m.name) + "')");
    }
    if (!r) {
      db_error e = r.error();
      e.message = "migration " + std::string(m.name) + ": " + e.message;
      co_await rollback();
      co_return e;
    }
    ++count;
  }
  if (auto r = co_await run("COMMIT"); !r) co_return r.error();
  co_return count;
}

db_result<int> migrate_database(const std::string& conninfo, std::chrono::milliseconds timeout) {
  asio::io_context io;
  auto task = [&]() -> asio::awaitable<db_result<int>> {
    pg_connection conn(io.get_executor());
    const auto deadline = clock::now() + timeout;
    if (auto r = co_await conn.connect(conninfo, deadline); !r) co_return r.error();
    co_return co_await apply_migrations(conn, builtin_migrations(), deadline);
  };
  auto future = asio::co_spawn(io, task(), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace hookstream::storage
