// Test-side access to the throwaway PostgreSQL that ctest's fixture started.
//
// Fixture code may block (it is not the code under test), so it uses plain
// blocking libpq. Each test makes its own tenant with random ids, so test
// binaries can run in parallel against one database.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hookstream::test {

/// URL of the test database (HOOKSTREAM_TEST_DATABASE_URL, or the file the
/// fixture wrote into HOOKSTREAM_TEST_STATE_DIR). Applies migrations once.
const std::string& database_url();

/// A random lowercase hex string of `n` characters.
std::string random_hex(std::size_t n);

/// A blocking connection for arranging and checking data.
class sql_session {
 public:
  explicit sql_session(const std::string& url = database_url());
  ~sql_session();
  sql_session(const sql_session&) = delete;
  sql_session& operator=(const sql_session&) = delete;

  /// Runs SQL (several statements allowed); throws with the server's message.
  void exec(const std::string& sql);
  /// First column of the first row, or nullopt for no row / NULL.
  std::optional<std::string> scalar(const std::string& sql);
  /// All rows of a one-column result.
  std::vector<std::string> column(const std::string& sql);
  /// Notifications (of channels this session LISTENs to) received so far and
  /// not counted before; reads what the server has sent without waiting.
  int take_notifications();

 private:
  struct pg_conn* conn_;
};

/// SQL string literal with quotes doubled.
std::string quote(const std::string& s);

/// An org with one environment, two connections and two destinations, and an
/// API key; all ids random so that every test gets its own tenant.
struct test_tenant {
  std::string org_id;
  std::string env_id;
  std::string api_key;            ///< the plain key (only its hash is stored)
  std::string connection_ids[2];  ///< named "Connection A", "Connection B"
  std::string destination_ids[2]; ///< named "Destination A", "Destination B"
  storage::tenant_id id() const { return {org_id, env_id}; }
};

/// Creates a tenant. With `org_id` given, adds another environment to that org.
test_tenant make_tenant(sql_session& db, const std::string& org_id = {});

/// A row to insert; defaults make a valid successful attempt.
struct attempt_spec {
  std::string id;  ///< empty = random da_<32 hex>
  std::string event_id = "evt_default";
  std::string connection_id;  ///< empty = tenant's first
  std::string destination_id; ///< empty = tenant's first
  std::string status = "success";
  std::string created_at = "2026-11-28 08:39:52.929+00";
  std::optional<int> is_dlq = 0;
};

/// Inserts attempts for `t`; returns their ids in insertion order.
std::vector<std::string> insert_attempts(sql_session& db, const test_tenant& t, const std::vector<attempt_spec>& rows);

/// An INSERT of one attempt of `t` per g in [from, to] (generate_series), on the
/// tenant's connection and destination number `route`: `id` and `created_at`
/// are SQL expressions over g, `status` a status. For many rows in one statement.
std::string generated_attempts(const test_tenant& t, int route, const std::string& id, const std::string& status,
                               const std::string& created_at, int from, int to);

/// An empty database of its own on the test cluster, named `prefix` and random
/// hex, for a test whose work is not confined to its tenant (pruning, TRUNCATE,
/// planner statistics, migrations from scratch). Dropped, sessions still on it
/// forced off, when this goes out of scope.
class scratch_database {
 public:
  explicit scratch_database(const std::string& prefix);
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

}  // namespace hookstream::test
