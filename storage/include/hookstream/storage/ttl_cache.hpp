// A bounded cache of what the database said, with a time-to-live per entry.
//
// Used per handler for credentials (auth::credential_cache) and for the names
// of connections and destinations (route_name_cache): a hot key costs no round
// trip, and a change in the database shows within the entry's TTL.
//
// Bounded: never more than `capacity` entries. A full cache evicts the least
// recently used entry; an expired entry counts as absent and is replaced in
// place. Lookups take a `std::string_view` and allocate nothing.
//
// Not thread-safe, no locks: its owner keeps it on one serial executor.
//
// attempt_row_cache keeps its own least-recently-used order rather than use
// this one: it is bounded by bytes, not entries, keys rows by a 20-byte value
// rather than text, and its look-ups (one per row of a page) use an
// open-addressing map, which this cache cannot: its order list views the keys
// in place, and only a node-based map keeps them from moving.
#pragma once

#include <hookstream/storage/text_hash.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookstream::storage {

template <class Value>
class ttl_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit ttl_cache(std::size_t capacity) : capacity_(capacity) {}
  ttl_cache(const ttl_cache&) = delete;
  ttl_cache& operator=(const ttl_cache&) = delete;

  /// The live value under `key`, or null (absent or expired). A hit makes the
  /// entry the most recently used one and, with `expires`, says when it
  /// expires. The pointer is valid until the next call that may modify the
  /// cache (`store`, `erase`, `clear`).
  const Value* find(std::string_view key, clock::time_point now, clock::time_point* expires = nullptr) {
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.expires <= now) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    order_.splice(order_.begin(), order_, it->second.position);
    if (expires) *expires = it->second.expires;
    return &it->second.value;
  }

  /// Stores `value` until `expires` (nothing happens when that is not after
  /// `now`, or when the capacity is 0).
  void store(std::string_view key, Value value, clock::time_point now, clock::time_point expires) {
    if (capacity_ == 0 || expires <= now) return;
    if (auto it = entries_.find(key); it != entries_.end()) {
      it->second.value = std::move(value);
      it->second.expires = expires;
      order_.splice(order_.begin(), order_, it->second.position);
      return;
    }
    if (entries_.size() >= capacity_) {
      entries_.erase(entries_.find(order_.back()));  // least recently used
      order_.pop_back();
    }
    auto [it, inserted] = entries_.emplace(std::string(key), entry{std::move(value), expires, {}});
    // Keys of a node-based map never move: the order list can view them.
    order_.push_front(it->first);
    it->second.position = order_.begin();
  }

  void erase(std::string_view key) {
    if (auto it = entries_.find(key); it != entries_.end()) {
      order_.erase(it->second.position);
      entries_.erase(it);
    }
  }

  void clear() noexcept {
    order_.clear();
    entries_.clear();
  }

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }

 private:
  struct entry {
    Value value;
    clock::time_point expires;
    std::list<std::string_view>::iterator position;  // in order_
  };

  std::size_t capacity_;
  std::unordered_map<std::string, entry, text_hash, std::equal_to<>> entries_;
  std::list<std::string_view> order_;  // keys, most recently used first
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace hookstream::storage
