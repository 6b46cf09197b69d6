// The live tail's process-wide half: one database connection that listens for
// new and changed attempts and reads them from the event log, fanned out to
// the subscribers of every worker thread.
//
//   writers ──INSERT/UPDATE──▶ delivery_attempts ──trigger──▶ attempt_events (+ NOTIFY*)
//                                                                   │
//   live_tail_hub (its own executor, one connection per process):   │
//     LISTEN; on a notification, a poll tick, a follow-up shortly after a read
//     that found events, or soon again while events were held back or writing
//     transactions were open (*: one pending NOTIFY at a time, migration 0040:
//     a writer that skipped its NOTIFY is open until it commits),
//     read the final events after its horizon (all tenants, in log order), give
//     them their route names, render each once exactly as the listing does, and
//     post the batch to every worker ─────────────────────────────────┐
//                                                                     ▼
//   each worker thread (shared-nothing, like its pool): its shard matches a
//   batch against its subscribers (tenant, filters) and appends the SSE frames
//   to their bounded queues; each subscriber's coroutine writes its own queue.
//
// Why this is exact (see storage/attempt_event_log.hpp for the log's ordering):
// the hub reads the log in order and publishes contiguous batches, each
// covering (begin, end] of the log; a worker processes them in order, so its
// horizon is always "every event up to here was matched". A subscriber joins a
// worker at that horizon: it gets every later batch. With a cursor before it,
// it first reads the gap from the table (its tenant's events in (cursor,
// horizon], which are final) while the live batches queue up, then writes the
// queue: nothing is lost or repeated across the switch. A NOTIFY is only a
// wake-up: a lost one (e.g. across a reconnect) delays events until the next
// poll, never drops them, because the hub always reads from its horizon in the
// table.
//
// The connection shows as application_name 'hookstream-live-tail' in
// pg_stat_activity (the pools' are 'hookstream').
//
// Database restarts: the connection is re-opened with back-off, LISTEN again,
// and reading resumes at the horizon; subscribers stay connected and miss
// nothing (events committed meanwhile are in the table).
//
// Bounds: per-subscriber queues (`subscriber_buffer_events`/`_bytes`): a
// subscriber past them is sent `event: overflow` and closed (it resumes with
// its Last-Event-ID). Batches posted to a worker and not yet taken are bounded
// by `worker_backlog_bytes`: past it that worker gets no batches until it
// catches up, and then every subscriber it had is overflowed (none is
// silently skipped). Subscribers per tenant and per process are bounded
// (admit(): 429 / 503).
//
// Thread-safety: every public member may be called from any thread. The hub's
// own work runs serially on its executor (a strand around it unless it is an
// io_context(1)'s, see storage/serial_executor.hpp), a shard's on its worker's.
// Lifetime: call stop() and let the executor's thread finish before the hub is
// destroyed; workers detach (api_handler does) before their io_context goes.
#pragma once

#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/storage/attempt_event_log.hpp>
#include <hookstream/storage/route_name_cache.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace hookstream::server {

struct live_tail_config {
  /// The database (libpq URL or conninfo) of the listening connection.
  std::string conninfo;
  /// Key of the stream cursors' MAC: the same as the listing's cursor_secret
  /// (and every instance's), or cursors fail across threads and instances.
  std::string cursor_secret;
  std::chrono::milliseconds connect_timeout{5000};
  /// Deadline of each statement of the hub (reads, pruning).
  std::chrono::milliseconds query_timeout{5000};
  /// Back-off between failed connects: doubles from 100 ms up to this.
  std::chrono::milliseconds reconnect_backoff_max{2000};
  /// The log is read at least this often without a notification (a NOTIFY may
  /// be lost across a reconnect).
  ///
  /// Writers skip their NOTIFY while another writer's is pending (migration
  /// 0040). The hub does not wait for this interval to find their events: each
  /// read is preceded by a check for open writing transactions in the
  /// database, and while there are any it reads again after 5 ms, doubling up
  /// to 100 ms. So an event whose writer skipped its NOTIFY is read within about
  /// 100 ms of its commit however long the writer stayed open. (A session left
  /// idle in a transaction that wrote keeps the hub reading every 100 ms.)
  std::chrono::milliseconds poll_interval{250};
  /// After a read that found events, read again this soon even without a
  /// notification (a burst usually goes on).
  std::chrono::milliseconds follow_up{10};
  /// After a notification, wait this long before reading, so that a burst of
  /// commits is read (and written to subscribers) as one batch. 0 = at once.
  std::chrono::milliseconds coalesce{0};
  /// Events per read, and the byte budget of their large fields.
  int read_events = 256;
  std::int64_t read_bytes = 4 * 1024 * 1024;
  /// Large fields are cut like the listing's (keep equal to the listing's cap).
  std::int32_t field_bytes = storage::default_listing_field_bytes;
  storage::route_name_cache_config route_names;
  /// How long events stay in the log (a cursor older than that gets 410), and
  /// how often this process prunes it (0 = never; another process may).
  std::chrono::seconds retention{3600};
  std::chrono::milliseconds prune_interval{30000};

  /// Subscribers: at most this many per process, and per tenant.
  std::size_t max_subscribers = 10000;
  std::size_t max_subscribers_per_tenant = 500;
  /// A subscriber's queue of events not yet written; past either, overflow.
  std::size_t subscriber_buffer_events = 1024;
  std::size_t subscriber_buffer_bytes = 4 * 1024 * 1024;
  /// `event: heartbeat` period.
  std::chrono::milliseconds heartbeat{15000};
  /// Bytes of batches posted to one worker and not yet taken by it.
  std::size_t worker_backlog_bytes = 64 * 1024 * 1024;
};

/// Figures for /metrics; counters only grow.
struct live_tail_stats {
  std::uint64_t subscribers = 0;  ///< now
  std::uint64_t events_read = 0;
  std::uint64_t reads = 0;
  std::uint64_t overflows = 0;  ///< subscribers closed for falling behind
  std::uint64_t refused_tenant_limit = 0;
  std::uint64_t refused_process_limit = 0;
  std::uint64_t listener_connects = 0;  ///< successful (re)connects of the listening connection
  std::uint64_t listener_failures = 0;  ///< failed connects and lost connections
  std::uint64_t pruned_events = 0;
  bool connected = false;
};

class live_tail_hub;
class live_tail_shard;  // a worker's half (internal)

/// A place among the subscribers, held for as long as a stream runs; frees it
/// when destroyed (on any thread).
class subscription_ticket {
 public:
  subscription_ticket() = default;
  subscription_ticket(subscription_ticket&& other) noexcept;
  subscription_ticket& operator=(subscription_ticket&& other) noexcept;
  ~subscription_ticket();

 private:
  friend class live_tail_hub;
  subscription_ticket(live_tail_hub* hub, std::string tenant_key) : hub_(hub), key_(std::move(tenant_key)) {}
  live_tail_hub* hub_ = nullptr;
  std::string key_;
};

enum class admission_refusal {
  tenant_limit,   ///< the tenant has max_subscribers_per_tenant streams open (429)
  process_limit,  ///< the process has max_subscribers streams open (503)
};

class live_tail_hub {
 public:
  /// `executor`: where the listening connection and the reads run (made
  /// serial as storage::serial_executor does). Throws std::invalid_argument for a cursor
  /// secret shorter than 16 bytes.
  live_tail_hub(boost::asio::any_io_executor executor, live_tail_config config);
  ~live_tail_hub();
  live_tail_hub(const live_tail_hub&) = delete;
  live_tail_hub& operator=(const live_tail_hub&) = delete;

  /// Connects and starts listening (in the background, on the executor).
  void start();
  /// Ends the hub's work: its connection closes and workers get no more
  /// batches. Idempotent.
  void stop();

  /// A worker's shard, fed from now on with every batch (in order) on
  /// `worker`, a serial executor (the api_handler's: its pool's strand or
  /// io_context(1)). The shard is used on that executor only. Call detach()
  /// before that io_context is destroyed.
  std::shared_ptr<live_tail_shard> attach(boost::asio::any_io_executor worker);
  void detach(const std::shared_ptr<live_tail_shard>& shard);

  /// A place for one more subscriber of `tenant`, or why not.
  std::variant<subscription_ticket, admission_refusal> admit(const storage::tenant_id& tenant);

  const live_tail_config& config() const noexcept { return config_; }
  const cursor_codec& cursors() const noexcept { return cursors_; }
  live_tail_stats stats() const noexcept;
  /// Counted by the workers' subscribers.
  void count_overflow() noexcept { overflows_.fetch_add(1, std::memory_order_relaxed); }

 private:
  friend class subscription_ticket;
  struct reader;
  void release(const std::string& tenant_key) noexcept;

  live_tail_config config_;
  cursor_codec cursors_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<reader> reader_;

  mutable std::mutex admission_mutex_;
  std::unordered_map<std::string, std::size_t> per_tenant_;
  std::size_t subscribers_ = 0;

  std::atomic<std::uint64_t> overflows_{0}, refused_tenant_{0}, refused_process_{0};
};

}  // namespace hookstream::server
