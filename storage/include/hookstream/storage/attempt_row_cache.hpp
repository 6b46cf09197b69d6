// Listing rows kept between pages, keyed by the stored row version they copy.
//
// Why: a page's large fields (headers, bodies, errors) are most of what the
// database reads out, sends and libpq parses, and the same recent attempts are
// listed again and again (a dashboard polling the first page, clients walking
// the same pages). With this cache a listing first reads only each row's
// identity (a few dozen bytes: pgbench measured that statement at about 0.55x
// of the bare page's database CPU), takes the rows it holds from here, and
// reads in full only the rows it lacks, by primary key (list_attempts). A row
// may instead be kept as bytes made from it once, as it is stored (`prerender`:
// the server keeps its JSON), so that a page of cached rows is neither decoded
// nor rendered again.
//
// Key: the row version's physical identity, (tableoid, ctid, xmin) as the
// database returns them, plus the field cap the row was read with. An UPDATE
// writes a new version (new ctid and xmin), a DELETE makes the row vanish from
// the page, so neither can be answered from an old entry: a change shows on
// the very next page. Two versions share an identity only if a slot freed by
// VACUUM is refilled by a transaction with the same xmin: after 2^32
// transactions (wraparound), or after a failover to a standby that had not
// received the transactions the cache saw. `ttl` (default 60 s) bounds how long
// an entry may live through either; an entry also carries its org, environment
// and id, which a hit must match (table rewrites such as VACUUM FULL move rows
// between slots, keeping xmin).
//
// Bounded by bytes (`max_bytes` of rows, least recently used go first; 0
// disables the cache). Which pages read identities first, and which keep their
// rows, is decided per request from what it found last time (plan_page): a
// page read once (a walk) keeps nothing, a page read again is kept, a page
// whose rows keep being evicted before it comes back is kept one time in
// eight. Threads: like route_name_cache, the state lives on the
// executor of the connections it is given (one cache per thread's pools); no
// locks.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/unordered/unordered_flat_map.hpp>

namespace hookstream::storage {

/// Makes the bytes a row is kept as, in place of its values (see the attempt_row_cache constructor).
using row_prerenderer = std::function<std::string(const delivery_attempt_view&)>;

struct attempt_row_cache_config {
  /// Bytes of cached rows (values, prerendered bytes and bookkeeping), per
  /// cache. 0: no cache.
  std::size_t max_bytes = 32 * 1024 * 1024;
  /// Longest an entry is used (see the header comment).
  std::chrono::milliseconds ttl{60000};
};

/// A stored row version: tableoid (4 bytes), ctid (6) and xmin (4) in the
/// database's binary form, and the field cap the row's large fields were cut at.
struct row_version_key {
  std::uint64_t table_and_block = 0;  ///< tableoid, then the ctid's block number
  std::uint64_t slot_and_xmin = 0;    ///< the ctid's offset, then xmin
  std::int32_t cap = 0;

  /// From the binary values of the three system columns; false if a value has
  /// an unexpected size.
  static bool from_wire(std::string_view tableoid, std::string_view ctid, std::string_view xmin, std::int32_t cap,
                        row_version_key& out) noexcept;
  friend bool operator==(const row_version_key&, const row_version_key&) = default;
};

/// The fields that identify and place a row, all a page needs of a row beyond
/// its prerendered bytes: id, org_id, env_id, connection_id, destination_id
/// (the route names are looked up by them) and created_at (cursors); every
/// other field of the result is empty or null. Views `row`'s memory.
delivery_attempt_view placing_fields(const delivery_attempt_view& row) noexcept;

/// One cached row: its values, owned, and the view `attempt_rows` shows
/// (without names: those come from route_name_cache on every page).
struct cached_attempt {
  std::string values;
  /// The whole row; or, when it was kept prerendered, only its placing_fields.
  delivery_attempt_view view;
  std::string prerendered;  ///< what the cache's prerender made of the row (empty without one)
  std::size_t charge = 0;   ///< bytes counted against max_bytes

  /// Copies `row` without its route names. With a `prerender`, keeps what it
  /// makes of the row (names left out) and, of the row's values, only its
  /// placing_fields: the prerendered bytes stand for the rest.
  static std::shared_ptr<const cached_attempt> copy_of(const delivery_attempt_view& row,
                                                       const row_prerenderer& prerender = {});
};

class attempt_row_cache {
 public:
  using clock = std::chrono::steady_clock;
  using entry_ptr = std::shared_ptr<const cached_attempt>;

  /// `prerender`, optional, is called once as a row is stored (without its
  /// route names), on the cache's executor; what it returns is kept in place
  /// of the row's values and handed back by attempt_rows::prerendered whenever
  /// the row is listed from here. Such a row's view then holds only its
  /// placing_fields: whoever gives a prerender reads the rest from its bytes.
  /// hookstream-server keeps each row's JSON up to its names
  /// (server/attempt_json.hpp), so that a cached row is copied into a page
  /// rather than rendered again.
  explicit attempt_row_cache(attempt_row_cache_config config = {}, row_prerenderer prerender = {});
  attempt_row_cache(const attempt_row_cache&) = delete;
  attempt_row_cache& operator=(const attempt_row_cache&) = delete;

  bool enabled() const noexcept { return config_.max_bytes > 0; }
  /// A copy of `row` to store (cached_attempt::copy_of with this cache's prerender).
  entry_ptr copy(const delivery_attempt_view& row) const { return cached_attempt::copy_of(row, prerender_); }

  /// The row stored under `key` if it is live and belongs to `tenant`, else null.
  entry_ptr find(const row_version_key& key, const tenant_id& tenant, clock::time_point now);
  /// Stores `row` under `key` (replacing an entry there), evicting the least
  /// recently used rows to stay within max_bytes. A row larger than max_bytes
  /// is not stored.
  void store(const row_version_key& key, entry_ptr row, clock::time_point now);

  /// How to read a page, decided per request (the same tenant, filters,
  /// paging and cap: `request` is a hash of them) from what that request found
  /// here the last time:
  ///  - `identities`: it found at least 3/4 of its rows (or its rows were kept
  ///    when it was last read whole). Below that, reading the identities and
  ///    then many rows by key costs the database more than one whole read.
  ///    A page whose rows keep changing under writers (its identity reads
  ///    twice running or more needed a second statement: rows by key, or the
  ///    page again whole) is read whole instead, and by identities only one
  ///    time in 2, 4, ... 64 as that goes on, until one is served from the
  ///    cache alone. (Under 16 writers on the first page, identities first on
  ///    every read cost about twice the database time of whole reads alone.)
  ///  - `whole_kept`: read it whole and keep its rows: its second read, and one
  ///    in eight of the later reads of a request that found few rows.
  ///  - `whole`: read it whole, keep nothing: a request seen for the first time
  ///    (a walk reads each page once: copying its rows, and prerendering them,
  ///    would only cost, about 90 us per 50-row page for the copies alone as
  ///    measured before rows were prerendered, and push out rows that pages do
  ///    come back for),
  ///    and the other reads of a request that found few rows.
  /// Remembers at most `max_requests` requests (then forgets them all).
  enum class page_plan { identities, whole_kept, whole };
  page_plan plan_page(std::uint64_t request);
  /// Records that the request's identities found `found` of its `rows` rows
  /// (fewer than all: another statement follows).
  void record_found(std::uint64_t request, int rows, int found);
  /// Records that the request's rows were just kept (its next read expects them).
  void record_kept(std::uint64_t request);
  /// After the identities found too few rows, whether to keep the rows of the
  /// whole read that follows: one in eight.
  bool keep_after_misses() noexcept { return sampled_++ % 8 == 0; }
  static constexpr std::size_t max_requests = 4096;
  std::size_t remembered_requests() const noexcept { return requests_.size(); }

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }

  /// Pages by how they were read (list_attempts counts them): identities first
  /// and every row found here; identities first and the missing rows by key;
  /// whole; identities first, then whole because rows changed in between;
  /// identities first, then whole because too many rows were missing.
  struct page_counts {
    std::uint64_t all_cached = 0, completed_by_key = 0, read_whole = 0, read_again = 0, missed = 0;
  };
  page_counts& pages() noexcept { return pages_; }
  const page_counts& pages() const noexcept { return pages_; }

 private:
  struct key_hash {
    std::size_t operator()(const row_version_key& k) const noexcept {
      const std::uint64_t h =
          (k.table_and_block ^ ((k.slot_and_xmin + static_cast<std::uint32_t>(k.cap)) * 0x9E3779B97F4A7C15ull)) *
          0xC2B2AE3D27D4EB4Full;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  struct entry {
    entry_ptr row;
    clock::time_point expires;
    std::list<row_version_key>::iterator position;  // in order_
  };
  // Open addressing with the keys and entries inline: a look-up is one probe of
  // a group's metadata and one slot, not a bucket, a node and its key (the
  // node-based map's dependent loads were 4-10% of the server's CPU per page,
  // perf, 2,000,000-attempt bench, mostly memory stalls).
  using entry_map = boost::unordered_flat_map<row_version_key, entry, key_hash>;
  void erase(entry_map::iterator it) noexcept;

  attempt_row_cache_config config_;
  row_prerenderer prerender_;
  entry_map entries_;
  std::list<row_version_key> order_;  // most recently used first
  std::size_t bytes_ = 0;
  struct request_state {
    // The share of its rows its last identity read found here; -1 when it was
    // seen once and read whole without keeping anything.
    float share = -1;
    // Its identity reads in a row that needed another statement.
    std::uint8_t churn = 0;
  };
  static constexpr std::uint8_t max_churn = 7;  // identities one time in 64
  boost::unordered_flat_map<std::uint64_t, request_state> requests_;
  std::uint64_t sampled_ = 0;  // reads sampled: one in eight kept, one in 2^n by identities
  std::uint64_t hits_ = 0, misses_ = 0;
  page_counts pages_;
};

}  // namespace hookstream::storage
