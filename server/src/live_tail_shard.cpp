#include "live_tail_shard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace hookstream::server {
namespace asio = boost::asio;
using storage::event_position;

std::string tenant_key_of(const storage::tenant_id& tenant) {
  std::string key = tenant.org_id;
  key += '\0';
  key += tenant.env_id;
  return key;
}

bool filter_matches(const storage::attempt_filter& f, const live_event& e) noexcept {
  // The same conditions as the listing's SQL (attempt_sql.hpp: where_clause),
  // byte equality like PostgreSQL's deterministic text equality.
  auto in = [](const std::vector<std::string>& values, const std::string& v) {
    return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
  };
  if (!in(f.event_id, e.event_id) || !in(f.connection_id, e.connection_id) ||
      !in(f.destination_id, e.destination_id) || !in(f.status, e.status))
    return false;
  if (f.in_dlq && *f.in_dlq != e.in_dlq) return false;
  // Both bounds exclusive, like the listing's created_after/created_before.
  if (f.created_after && e.created_at <= *f.created_after) return false;
  if (f.created_before && e.created_at >= *f.created_before) return false;
  return true;
}

std::string attempt_frame(std::string_view cursor, std::string_view json) {
  // The rendered JSON holds no raw line break (they are escaped), so it is one
  // `data:` line.
  std::string f;
  f.reserve(40 + cursor.size() + json.size());
  f += "event: attempt\nid: ";
  f += cursor;
  f += "\ndata: ";
  f += json;
  f += "\n\n";
  return f;
}

// --- live_subscriber -----------------------------------------------------------

live_subscriber::live_subscriber(asio::any_io_executor executor, storage::tenant_id tenant,
                                 storage::attempt_filter filter, std::optional<event_position> after, limits bounds,
                                 live_tail_hub& hub)
    : tenant_(std::move(tenant)),
      tenant_key_(tenant_key_of(tenant_)),
      filter_(std::move(filter)),
      fingerprint_(fingerprint_of(filter_)),
      limits_(bounds),
      hub_(hub),
      wake_(std::move(executor)) {
  if (after) {
    from_cursor_ = true;
    skip_through_ = written_ = covered_ = *after;
  }
}

live_subscriber::~live_subscriber() = default;

void live_subscriber::joined(event_position horizon) noexcept {
  live_from_ = horizon;
  // Without a cursor the stream starts here; with one past it (made by a
  // server further ahead), the live events up to the cursor are skipped.
  if (!from_cursor_) skip_through_ = written_ = covered_ = horizon;
  covered_ = std::max(covered_, horizon);
}

bool live_subscriber::wants(const live_event& e) const noexcept {
  return !overflowed_ && e.position > skip_through_ && filter_matches(filter_, e);
}

void live_subscriber::push(std::shared_ptr<const std::string> bytes, event_position position) {
  if (overflowed_) return;
  if (queue_.size() + 1 > limits_.max_events || queued_bytes_ + bytes->size() > limits_.max_bytes) {
    overflow();
    return;
  }
  queued_bytes_ += bytes->size();
  queue_.push_back({std::move(bytes), position});
  if (waiting_) wake_.cancel();
}

void live_subscriber::covered(event_position end) noexcept { covered_ = std::max(covered_, end); }

void live_subscriber::overflow() {
  if (overflowed_) return;
  overflowed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  hub_.count_overflow();
  if (waiting_) wake_.cancel();
}

void live_subscriber::take(std::vector<frame>& out, std::size_t max_frames, std::size_t max_bytes) {
  std::size_t bytes = 0;
  while (!queue_.empty() && out.size() < max_frames && (out.empty() || bytes + queue_.front().bytes->size() <= max_bytes)) {
    bytes += queue_.front().bytes->size();
    queued_bytes_ -= queue_.front().bytes->size();
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void live_subscriber::wrote(event_position p) noexcept { written_ = std::max(written_, p); }

event_position live_subscriber::resume_position() const noexcept {
  // With nothing queued, everything up to covered_ has been written (or did
  // not match); otherwise only what was written.
  return queue_.empty() && written_ >= live_from_ ? std::max(written_, covered_) : written_;
}

asio::awaitable<void> live_subscriber::wait(std::chrono::steady_clock::time_point deadline) {
  if (!queue_.empty() || overflowed_) co_return;
  wake_.expires_at(deadline);
  waiting_ = true;
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  waiting_ = false;
}

// --- live_tail_shard -----------------------------------------------------------

live_tail_shard::live_tail_shard(asio::any_io_executor worker, const cursor_codec& cursors)
    : worker_(std::move(worker)), cursors_(cursors) {}

void live_tail_shard::post_batch(std::shared_ptr<const live_batch> batch) {
  backlog_.fetch_add(batch->bytes, std::memory_order_relaxed);
  asio::post(worker_, [self = shared_from_this(), batch = std::move(batch)] {
    self->deliver(*batch);
    self->backlog_.fetch_sub(batch->bytes, std::memory_order_relaxed);
  });
}

void live_tail_shard::post_gap(event_position begin, event_position end) {
  asio::post(worker_, [self = shared_from_this(), begin, end] { self->skip(begin, end); });
}

void live_tail_shard::add(live_subscriber& s) {
  s.joined(*horizon_);
  by_tenant_[s.tenant_key()].push_back(&s);
  ++count_;
}

void live_tail_shard::remove(live_subscriber& s) noexcept {
  auto it = by_tenant_.find(s.tenant_key());
  if (it == by_tenant_.end()) return;
  auto& list = it->second;
  const auto found = std::find(list.begin(), list.end(), &s);
  if (found == list.end()) return;
  list.erase(found);
  --count_;
  if (list.empty()) by_tenant_.erase(it);
}

void live_tail_shard::deliver(const live_batch& batch) {
  if (horizon_ && batch.begin != *horizon_) {
    // Cannot happen while the hub posts every batch in order; if it ever did,
    // silently going on would lose events: overflow everyone instead.
    skip(*horizon_, batch.begin);
  }
  // Subscribers of one tenant with the same filters get the same frame: the
  // cursor (a MAC over tenant and filters) is computed once per group.
  struct group_frame {
    const filter_fingerprint* fingerprint;
    std::shared_ptr<const std::string> bytes;
  };
  std::vector<group_frame> groups;
  for (const live_event& e : batch.events) {
    const auto it = by_tenant_.find(e.tenant_key);
    if (it == by_tenant_.end()) continue;
    groups.clear();
    for (live_subscriber* s : it->second) {
      if (!s->wants(e)) continue;
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const group_frame& f) { return *f.fingerprint == s->fingerprint(); });
      if (g == groups.end()) {
        const std::string cursor = cursors_.encode_stream(e.position, e.tenant, s->fingerprint());
        g = groups.insert(groups.end(),
                          {&s->fingerprint(), std::make_shared<const std::string>(attempt_frame(cursor, e.json))});
      }
      s->push(g->bytes, e.position);
    }
  }
  for (auto& [key, list] : by_tenant_)
    for (live_subscriber* s : list) s->covered(batch.end);
  horizon_ = batch.end;
}

void live_tail_shard::skip(event_position begin, event_position end) {
  // Subscribers that were here before the gap cannot be continued: they
  // resume from their last id, through the table.
  if (horizon_ && begin < end)
    for (auto& [key, list] : by_tenant_)
      for (live_subscriber* s : list) s->overflow();
  if (!horizon_ || end > *horizon_) horizon_ = end;
}

}  // namespace hookstream::server
