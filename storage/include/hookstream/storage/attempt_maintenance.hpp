// Upkeep of delivery_attempts and the counters behind `total` (migrations 0003,
// 0004 and 0041): compaction of counter deltas, partitions ahead of time, retention,
// and the check and repair of counters that drifted.
//
// Every operation runs on a connection of its own (never a pooled one: some hold
// locks or long snapshots), in bounded steps, each with its own deadline, and
// can run on a live database next to the server and writers:
//
//   compaction   hookstream_fold_count_deltas() in batches: committed rows of the
//                counters' log (migration 0041) into the folded counters; writers
//                never wait for it, nor it for them.
//   partitions   monthly partitions up to `partitions_ahead` from now; the
//                future partition is rolled forward (ACCESS EXCLUSIVE on
//                delivery_attempts for milliseconds, under `lock_timeout`).
//   retention    partitions entirely older than the cutoff are dropped (ACCESS
//                EXCLUSIVE on delivery_attempts for milliseconds, under
//                `lock_timeout`; a drop that cannot get its lock is retried next
//                run); older rows of the partition holding the cutoff are deleted
//                in batches of `delete_batch` rows, each its own transaction.
//   check        per environment, one read-only statement comparing the counters
//                with a count of the rows in the same snapshot.
//   recount      per environment: a short transaction rebuilds the all-time
//                counters from the daily ones, then one REPEATABLE READ
//                transaction counts the rows and inserts the differences as
//                correction deltas. Writers are never blocked; the count holds
//                ACCESS SHARE on delivery_attempts, which only delays DDL
//                (partition drops) for its duration.
//
// Several servers may run maintenance at once: partitions and retention run
// under a session advisory lock that only one connection gets (the others skip
// that part of the run); folds serialise on a transaction advisory lock.
// Thread-safety: the functions are coroutines on one pg_connection, which must
// not be used by anything else meanwhile. `maintenance_runner` owns its thread.
#pragma once

#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hookstream::storage {

struct maintenance_config {
  /// Monthly partitions exist at least this far ahead of now. Short on purpose:
  /// every partition, empty or not, costs each listing and look-up a little, and
  /// delivery_attempts_future catches rows beyond it anyway.
  std::chrono::hours partitions_ahead{24 * 7};
  /// Attempts older than this many days are removed; 0 keeps everything.
  int retention_days = 0;
  /// Rows per retention DELETE (one transaction each).
  int delete_batch = 5000;
  /// Delta rows folded per compaction transaction.
  int fold_batch = 10000;
  /// lock_timeout for the steps that take ACCESS EXCLUSIVE on delivery_attempts.
  std::chrono::milliseconds lock_timeout{2000};
  /// statement_timeout of every maintenance statement.
  std::chrono::milliseconds statement_timeout{60000};
};

/// What one maintenance pass did.
struct maintenance_report {
  std::int64_t folded_deltas = 0;
  int partitions_created = 0;
  int partitions_dropped = 0;
  std::int64_t rows_deleted = 0;
  bool skipped_partitions = false;  ///< another connection held the maintenance lock
  std::vector<std::string> notes;   ///< e.g. a drop that timed out waiting for its lock
};

/// Folds committed counter deltas (rows of the counters' log) in batches until
/// fewer than a batch remain, then, when it folded 1,000 rows or more, VACUUMs
/// the log (skipped when another session holds it). Returns how many rows were
/// folded. Precondition: `conn` is not inside a transaction block (VACUUM).
boost::asio::awaitable<db_result<std::int64_t>> fold_count_deltas(pg_connection& conn, int batch,
                                                                  clock::time_point deadline);

/// Compaction, partitions ahead and retention: one pass.
boost::asio::awaitable<db_result<maintenance_report>> run_maintenance(pg_connection& conn,
                                                                      const maintenance_config& config,
                                                                      clock::time_point deadline);

/// One environment's counters against its rows.
struct counter_check_row {
  std::string org_id, env_id;
  std::int64_t rows = 0;          ///< count(*) of its attempts
  std::int64_t total = 0;         ///< what the unfiltered listing reports as `total`
  std::int64_t wrong_cells = 0;   ///< (day, route, status, DLQ) counters that differ from the rows
  bool drifted() const noexcept { return wrong_cells != 0 || rows != total; }
};

/// Checks every environment (or only `env_id`), each in one read-only statement.
/// Environments are those with attempts or counters.
boost::asio::awaitable<db_result<std::vector<counter_check_row>>> check_counters(
    pg_connection& conn, std::optional<std::string> env_id, clock::time_point deadline);

/// Rebuilds the counters of every environment (or only `env_id`) from the rows;
/// returns the environments it corrected. Exact as long as nothing writes rows
/// with the counter triggers off meanwhile.
boost::asio::awaitable<db_result<std::vector<counter_check_row>>> recount_counters(
    pg_connection& conn, std::optional<std::string> env_id, clock::time_point deadline);

/// Runs `run_maintenance` on a thread of its own, every `interval` (compaction)
/// and, every `partition_interval`, the partition and retention part too. Errors
/// are reported to `log` and retried next time; nothing here is ever on a
/// request path.
class maintenance_runner {
 public:
  using log_function = std::function<void(const std::string&)>;
  maintenance_runner(std::string conninfo, maintenance_config config, std::chrono::milliseconds interval,
                     std::chrono::milliseconds partition_interval, log_function log);
  ~maintenance_runner();  ///< stops and joins
  maintenance_runner(const maintenance_runner&) = delete;
  maintenance_runner& operator=(const maintenance_runner&) = delete;
  /// Stops after the step in progress (bounded by its statement_timeout).
  void stop();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// Blocking helpers for command-line tools: connect to `conninfo` on a private
/// io_context and run the operation.
db_result<maintenance_report> maintain_database(const std::string& conninfo, const maintenance_config& config);
db_result<std::vector<counter_check_row>> check_database_counters(const std::string& conninfo,
                                                                  std::optional<std::string> env_id);
db_result<std::vector<counter_check_row>> recount_database_counters(const std::string& conninfo,
                                                                    std::optional<std::string> env_id);

}  // namespace hookstream::storage
