// Where a read goes: a streaming replica when one is usable, else the primary.
//
// One router per event-loop thread, over that thread's pools: the primary's
// and one per replica (hookstream is shared-nothing per thread). Which replicas
// are usable is decided in the background for the whole process
// (replica_health.hpp, fed by replica_monitor.hpp); choosing costs a few atomic
// loads per request and no database round trip.
//
// Choice: the usable replicas take turns (round robin per thread); one whose
// pool knows its server is down is passed over. With none usable, the primary.
//
// Fallback: work that fails on a replica because the connection failed (the
// standby stopped or restarted, a network cut) or because the standby cancelled
// it for a recovery conflict (SQLSTATE 40001) runs again on the primary, once.
// So a standby that goes away under load costs no request: the ones in flight
// on it are answered by the primary. A read is therefore done on one server,
// or, after such a failure, entirely again on the primary: a page and its
// total always come from one server, in one snapshot.
//
// `work` is read-only: it may run twice (the pool's own retry, see
// connection_pool::with_connection, and this fallback), on different servers.
// It only runs `execute`: it gets a shared loan (connection_pool.hpp, "Shared
// loans"), so its statements may be pipelined with other reads'.
//
// Thread-safety: like the pools, one router per io_context thread.
#pragma once

#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/replica_health.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace hookstream::storage {

class read_router {
 public:
  /// Every read goes to `primary`, which must outlive the router.
  explicit read_router(connection_pool& primary);
  /// Reads go to the replicas `health` finds usable (replica i of `health` is
  /// `replicas[i]`), else to `primary`. The pools must outlive the router.
  read_router(connection_pool& primary, std::vector<connection_pool*> replicas,
              std::shared_ptr<const replica_health> health);

  /// Runs read-only `work(pg_connection&)` (returning `awaitable<db_result<T>>`)
  /// on a replica or the primary, as above. `from_replica`, when given, tells
  /// whether the returned result came from a replica. Errors: those of
  /// connection_pool::with_connection on the server that answered.
  template <class Work>
  auto read(Work work, clock::time_point acquire_deadline, bool* from_replica = nullptr)
      -> boost::asio::awaitable<typename std::invoke_result_t<Work&, pg_connection&>::value_type>;

  /// The primary's pool: for work that must see the latest writes.
  connection_pool& primary() noexcept { return primary_; }
  std::size_t replica_count() const noexcept { return replicas_.size(); }
  /// Reads answered by a server: 0 the primary, 1 + i replica i.
  std::uint64_t reads(std::size_t server) const noexcept { return server < reads_.size() ? reads_[server] : 0; }
  /// Reads that failed on a replica and were run again on the primary.
  std::uint64_t fallbacks() const noexcept { return fallbacks_; }

 private:
  // The replica to try, if any; advances the round robin.
  std::optional<std::size_t> pick_replica();
  static bool worth_the_primary(const db_error& e) noexcept;
  void count(std::size_t server) noexcept { ++reads_[server]; }

  connection_pool& primary_;
  std::vector<connection_pool*> replicas_;
  std::shared_ptr<const replica_health> health_;
  std::size_t next_ = 0;
  std::vector<std::uint64_t> reads_;
  std::uint64_t fallbacks_ = 0;
};

template <class Work>
auto read_router::read(Work work, clock::time_point acquire_deadline, bool* from_replica)
    -> boost::asio::awaitable<typename std::invoke_result_t<Work&, pg_connection&>::value_type> {
  if (from_replica) *from_replica = false;
  if (const auto i = pick_replica()) {
    auto r = co_await replicas_[*i]->with_connection(work, acquire_deadline, loan::shared);
    if (r || !worth_the_primary(r.error())) {
      count(1 + *i);
      if (from_replica) *from_replica = true;
      co_return r;
    }
    ++fallbacks_;
  }
  auto r = co_await primary_.with_connection(std::move(work), acquire_deadline, loan::shared);
  count(0);
  co_return r;
}

}  // namespace hookstream::storage
