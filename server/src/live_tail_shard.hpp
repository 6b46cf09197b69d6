// A worker thread's half of the live tail: the batches the hub posts, matched
// against this thread's subscribers, and each subscriber's bounded queue.
//
// Everything here except live_tail_shard::post* runs on the worker's serial
// executor only (the api_handler's; no locks): batches arrive through
// asio::post, in the order the hub read them, and subscribers are added and
// removed by that executor's handlers.
#pragma once

#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/server/live_tail.hpp>
#include <hookstream/storage/attempt_event_log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hookstream::server {

/// "org\0env": the key subscribers are grouped (and admitted) by.
std::string tenant_key_of(const storage::tenant_id& tenant);

/// One event as the hub read and rendered it.
struct live_event {
  storage::event_position position;
  storage::tenant_id tenant;
  std::string tenant_key;
  // The event's own values of the filtered fields.
  std::string event_id, connection_id, destination_id, status;
  bool in_dlq = false;
  storage::unix_micros created_at = 0;
  /// The attempt exactly as the listing renders it (attempt_json.hpp).
  std::string json;
};

/// The events of (begin, end] of the log, every tenant's; none may be there.
struct live_batch {
  storage::event_position begin, end;
  std::vector<live_event> events;
  std::size_t bytes = 0;  ///< memory it holds, roughly (for the worker backlog)
};

/// True when `e` passes `filter` (the listing's rules, applied to the event's
/// own copy of the attempt).
bool filter_matches(const storage::attempt_filter& filter, const live_event& e) noexcept;

/// One SSE frame: `event: attempt`, `id:` (a stream cursor), `data:` (the JSON).
std::string attempt_frame(std::string_view cursor, std::string_view json);

/// A stream's subscription on its worker: filters, a bounded queue of frames
/// not yet written, and where the subscriber stands in the log.
class live_subscriber {
 public:
  struct limits {
    std::size_t max_events;
    std::size_t max_bytes;
  };
  struct frame {
    std::shared_ptr<const std::string> bytes;
    storage::event_position position;
  };

  /// `after`: the subscriber has every matching event up to it (its cursor);
  /// none: it starts where the shard stands when it joins.
  live_subscriber(boost::asio::any_io_executor executor, storage::tenant_id tenant, storage::attempt_filter filter,
                  std::optional<storage::event_position> after, limits bounds, live_tail_hub& hub);
  ~live_subscriber();
  live_subscriber(const live_subscriber&) = delete;
  live_subscriber& operator=(const live_subscriber&) = delete;

  // --- for the shard --------------------------------------------------------
  const std::string& tenant_key() const noexcept { return tenant_key_; }
  const storage::tenant_id& tenant() const noexcept { return tenant_; }
  const storage::attempt_filter& filter() const noexcept { return filter_; }
  const filter_fingerprint& fingerprint() const noexcept { return fingerprint_; }
  /// Joining: the shard's horizon; live batches start after it.
  void joined(storage::event_position horizon) noexcept;
  /// Whether `e` belongs in this stream (position and filters).
  bool wants(const live_event& e) const noexcept;
  /// Queues a frame; past the bounds, overflows instead.
  void push(std::shared_ptr<const std::string> bytes, storage::event_position position);
  /// Every matching event up to `end` has been queued.
  void covered(storage::event_position end) noexcept;
  /// Drops the queue for good and wakes the writer, which sends `event: overflow`.
  void overflow();

  // --- for the stream's writer -----------------------------------------------
  /// Where live batches start (the shard's horizon when it joined).
  storage::event_position live_from() const noexcept { return live_from_; }
  /// Moves up to `max_frames` queued frames (at most about `max_bytes`) to `out`.
  void take(std::vector<frame>& out, std::size_t max_frames, std::size_t max_bytes);
  bool has_frames() const noexcept { return !queue_.empty(); }
  bool overflowed() const noexcept { return overflowed_; }
  /// The writer wrote everything up to `p` (replayed or taken frames).
  void wrote(storage::event_position p) noexcept;
  /// The position a client that saw everything written so far resumes from.
  storage::event_position resume_position() const noexcept;
  /// Waits until a frame is queued, an overflow, `deadline`, or cancellation.
  boost::asio::awaitable<void> wait(std::chrono::steady_clock::time_point deadline);

 private:
  storage::tenant_id tenant_;
  std::string tenant_key_;
  storage::attempt_filter filter_;
  filter_fingerprint fingerprint_;
  limits limits_;
  live_tail_hub& hub_;
  boost::asio::steady_timer wake_;
  bool waiting_ = false;
  std::deque<frame> queue_;
  std::size_t queued_bytes_ = 0;
  bool overflowed_ = false;
  bool from_cursor_ = false;
  // Events at or before this are the client's already (its cursor).
  storage::event_position skip_through_;
  storage::event_position live_from_;
  // Everything up to it was written (replay or queue).
  storage::event_position written_;
  // Every matching event up to it was queued (or is older than the cursor).
  storage::event_position covered_;
};

class live_tail_shard : public std::enable_shared_from_this<live_tail_shard> {
 public:
  live_tail_shard(boost::asio::any_io_executor worker, const cursor_codec& cursors);

  // --- on the hub's side (any thread, serialised by the hub) -----------------
  /// Posts a batch to the worker. `backlog` counts its bytes until taken.
  void post_batch(std::shared_ptr<const live_batch> batch);
  /// Posts "events of (begin, end] were not delivered to this worker": every
  /// subscriber it has then is overflowed, and its horizon moves to `end`.
  void post_gap(storage::event_position begin, storage::event_position end);
  std::size_t backlog() const noexcept { return backlog_.load(std::memory_order_relaxed); }
  /// Hub-side bookkeeping of a worker that fell behind (hub's lock held).
  bool lagging = false;
  storage::event_position lag_from;

  // --- on the worker ---------------------------------------------------------
  /// Where this worker stands in the log; none until the hub first reached it.
  std::optional<storage::event_position> horizon() const noexcept { return horizon_; }
  /// Registers `s` at the current horizon (precondition: horizon() is known).
  void add(live_subscriber& s);
  void remove(live_subscriber& s) noexcept;
  std::size_t subscribers() const noexcept { return count_; }

 private:
  void deliver(const live_batch& batch);
  void skip(storage::event_position begin, storage::event_position end);

  boost::asio::any_io_executor worker_;
  const cursor_codec& cursors_;
  std::atomic<std::size_t> backlog_{0};
  std::optional<storage::event_position> horizon_;
  std::unordered_map<std::string, std::vector<live_subscriber*>> by_tenant_;
  std::size_t count_ = 0;
};

}  // namespace hookstream::server
