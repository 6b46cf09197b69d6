// The live tail's event log (migration 0020_live_tail.sql): every inserted or
// changed delivery attempt, in an order that readers can resume with no gap
// and no duplicate while writers commit concurrently.
//
// The problem. A reader that remembers "the last row I saw" by a key drawn
// before commit (created_at = now() is the transaction's start, a bigserial is
// drawn at insert) can skip a row for ever: transaction T1 draws key 5, T2 draws
// key 6 and commits, the reader sees 6 and moves past it, then T1 commits 5.
//
// The scheme. A trigger writes one event row per inserted or changed attempt,
// placed at a position (`xid`, `seq`): `seq` a sequence number, `xid` the
// writing transaction's id (pg_current_xact_id()), or, for a change of an
// attempt whose latest event sits at a larger xid, that xid (migration 0044;
// see "One attempt's changes" below). Either way an event's xid is never below
// its own transaction's. Positions are ordered by (xid, seq). A reader only
// takes events with xid below its snapshot's xmin (pg_snapshot_xmin(
// pg_current_snapshot()), evaluated in the same statement and snapshot as the
// read). Why that is enough:
//  - Every transaction with an xid below xmin has ended (PostgreSQL publishes a
//    new xid in the process array before any later xid can complete, so no
//    running xid hides below a snapshot's xmin). An event placed below xmin was
//    written by such a transaction; it is visible if that committed and never
//    will be if it aborted: the set of events with xid < xmin is final.
//  - A transaction that has not ended has xid >= xmin, and every transaction
//    that starts later gets a larger xid; their events are placed at or above
//    their own xids. So whatever commits after the read sorts after every event
//    the read could return.
// Hence "all events up to position P" (P below some reader's xmin) is a prefix
// of the log that never changes, and resuming with (xid, seq) > P loses nothing
// and repeats nothing. A reader's horizon is (xmin, 0): every event before it is
// final, and there may be none at it yet.
//
// The price: events of a committed transaction wait while an older transaction
// that holds an xid (a write of any kind, also outside hookstream's tables, or
// a prepared transaction) is still open. `event_batch::held_back` reports that
// case so the reader can look again soon (no NOTIFY may come when the older
// transaction aborts or writes elsewhere). Latency is bounded by the longest
// writing transaction, never by a lost event.
//
// One attempt's changes. An xid is taken at a transaction's first write, not
// when it changes a given row: a transaction that took its xid first can change
// an attempt after a younger one has committed its own change of it (the row
// lock orders the two changes; the xids do not). Placed at its own xid, the
// older transaction's event would sort first, and the attempt's last event
// would show a state the row no longer has. So a change is placed at the
// attempt's latest event's xid when that is larger, with a new (larger) seq:
// still at or above its own xid, and the changes of one attempt are in the log
// in the order they were made.
//
// Events are copies of the row as the writing statement left it: a changed
// attempt is a new event with its new state, delivered again; "exactly once"
// is per event. Filters apply to the event's own copy, so replaying an event
// later decides exactly as the live stream did, whatever happened to the row
// since. Deletes make no events.
//
// Retention: `prune_events` deletes the oldest events, always a whole prefix of
// the log, and records the last position it deleted in the same statement. A
// read that starts before that position reports `expired`: events it needs may
// be gone, and the client has to start again from the listing.
//
// Every statement here is prepared on first use on the given connection and
// takes a deadline; errors are db_error values (see pg_connection.hpp).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/error.hpp>
#include <hookstream/storage/pg_connection.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <compare>
#include <cstdint>
#include <vector>

namespace hookstream::storage {

/// A place in the event log; events sort by (xid, seq). (x, 0) is the horizon
/// "every event of transactions below x", before any event of x itself.
struct event_position {
  std::uint64_t xid = 0;
  std::int64_t seq = 0;
  friend auto operator<=>(const event_position&, const event_position&) = default;
};

/// The channel the event log's triggers NOTIFY (with an empty payload).
inline constexpr const char* attempt_events_channel = "hookstream_attempt_events";

/// Bounds of one read.
struct event_read_limits {
  int max_events = 256;
  /// Large fields are cut like the listing's (see page_request::max_field_bytes).
  std::int32_t max_field_bytes = default_listing_field_bytes;
  /// Byte budget of the large fields of the events read (the first event is
  /// always read; the read ends before the event that would pass it).
  std::int64_t max_bytes = 4 * 1024 * 1024;
};

/// Events in log order. `rows` hold each event's attempt in the listing's
/// column layout (names not set yet: see route_name_cache).
struct event_rows {
  attempt_rows rows;
  std::vector<event_position> positions;  ///< positions[i] is the position of rows[i]
};

/// What a log reader (all tenants) gets.
struct event_batch : event_rows {
  /// Every event at or before it has been read, by this call or earlier ones
  /// that started at or after `after`. Never before `after`.
  event_position horizon;
  /// The limits ended the read: more events are final already; read again now.
  bool more = false;
  /// Committed events exist past the horizon (an older transaction is still
  /// open): they become readable when it ends, maybe without a NOTIFY.
  bool held_back = false;
};

/// One tenant's events after a position (a subscriber's catch-up).
struct tenant_event_page : event_rows {
  /// Events after `after` may have been pruned: do not resume from `after`.
  /// `rows` is empty then.
  bool expired = false;
  /// Every matching event in (after, through] is in this page.
  bool complete = false;
};

/// The horizon of a reader that starts now without history: (xmin, 0).
boost::asio::awaitable<db_result<event_position>> read_event_horizon(pg_connection& conn,
                                                                     clock::time_point deadline);

/// Whether a transaction of this database that holds an xid (a write of any
/// kind) is running now, other than the caller's. A writer that skipped its
/// NOTIFY (migration 0040: another writer's was pending) is such a transaction
/// until it ends, so a reader that asks this *before* a read, and reads again
/// soon while the answer is yes, finds that writer's events within one of its
/// look-agains of the commit: the read's snapshot is taken after the answer, so
/// a writer that was not running then has committed into it (or aborted).
/// Reads `pg_stat_get_activity`, whose `backend_xid` every role may see.
boost::asio::awaitable<db_result<bool>> writers_in_progress(pg_connection& conn, clock::time_point deadline);

/// The final events of every tenant after `after`, in log order, within `limits`.
boost::asio::awaitable<db_result<event_batch>> read_events(pg_connection& conn, event_position after,
                                                           const event_read_limits& limits,
                                                           clock::time_point deadline);

/// The events of `tenant` that match `filter`, after `after` and at or before
/// `through`, in log order, within `limits`. `through` must be a horizon some
/// reader reached (a position at or below its xmin), so that every event up to
/// it is final; the page is then exact. Checks retention in the same snapshot.
boost::asio::awaitable<db_result<tenant_event_page>> read_tenant_events(pg_connection& conn, const tenant_id& tenant,
                                                                        const attempt_filter& filter,
                                                                        event_position after, event_position through,
                                                                        const event_read_limits& limits,
                                                                        clock::time_point deadline);

/// The last position pruned so far ((0, 0) before the first prune).
boost::asio::awaitable<db_result<event_position>> read_pruned_position(pg_connection& conn,
                                                                       clock::time_point deadline);

/// Deletes up to `max_events` of the oldest final events recorded more than
/// `retention` ago (a prefix of the log) and records the last deleted position,
/// in one statement. Returns how many were deleted. Several servers may prune
/// at once: the pruned position only moves forward. `max_events` is written
/// into the statement (a generic plan must know the batch's size to probe the
/// log's key rather than hash the whole log), so each size is a prepared
/// statement of its own on `conn`: keep to one.
boost::asio::awaitable<db_result<std::int64_t>> prune_events(pg_connection& conn, std::chrono::seconds retention,
                                                             int max_events, clock::time_point deadline);

}  // namespace hookstream::storage
