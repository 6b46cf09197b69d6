#include <hookstream/storage/attempt_row_cache.hpp>

#include <algorithm>
#include <utility>

namespace hookstream::storage {

namespace {
std::uint64_t big_endian(std::string_view bytes) noexcept {
  std::uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

// What an entry costs beyond its values: the view, the map node, the order
// node, the shared_ptr's control block (measured roughly, not exactly: the
// bound is on the order of max_bytes, not to the byte).
constexpr std::size_t entry_overhead = sizeof(cached_attempt) + 160;
}  // namespace

bool row_version_key::from_wire(std::string_view tableoid, std::string_view ctid, std::string_view xmin,
                                std::int32_t cap, row_version_key& out) noexcept {
  if (tableoid.size() != 4 || ctid.size() != 6 || xmin.size() != 4) return false;
  out.table_and_block = big_endian(tableoid) << 32 | big_endian(ctid.substr(0, 4));
  out.slot_and_xmin = big_endian(ctid.substr(4, 2)) << 32 | big_endian(xmin);
  out.cap = cap;
  return true;
}

delivery_attempt_view placing_fields(const delivery_attempt_view& row) noexcept {
  delivery_attempt_view kept;
  kept.id = row.id;
  kept.org_id = row.org_id;
  kept.env_id = row.env_id;
  kept.connection_id = row.connection_id;
  kept.destination_id = row.destination_id;
  kept.created_at = row.created_at;
  return kept;
}

std::shared_ptr<const cached_attempt> cached_attempt::copy_of(const delivery_attempt_view& row,
                                                              const row_prerenderer& prerender) {
  auto copy = std::make_shared<cached_attempt>();
  if (prerender) {
    delivery_attempt_view unnamed = row;
    unnamed.connection_name.reset();
    unnamed.destination_name.reset();
    copy->prerendered = prerender(unnamed);
    // The prerendered bytes stand for the row's other fields: keeping those
    // too, for nobody to read, made a bench row cost 3.2 KB instead of 2.3.
    copy->view = placing_fields(row);
  } else {
    copy->view = row;
    copy->view.connection_name.reset();
    copy->view.destination_name.reset();
  }
  const std::size_t total = value_bytes(copy->view);
  // One buffer for all values (reserved once, so it never moves), the views
  // pointed into it.
  copy->values.reserve(total);
  auto keep = [&](std::string_view s) {
    const char* at = copy->values.data() + copy->values.size();
    copy->values.append(s);
    return std::string_view(at, s.size());
  };
  for_each_value(copy->view, [&](auto& s) {
    if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::string_view>) s = keep(s);
    else if (s) s = keep(*s);
  });
  copy->charge = total + copy->prerendered.size() + entry_overhead;
  return copy;
}

attempt_row_cache::attempt_row_cache(attempt_row_cache_config config, row_prerenderer prerender)
    : config_(config), prerender_(std::move(prerender)) {}

attempt_row_cache::entry_ptr attempt_row_cache::find(const row_version_key& key, const tenant_id& tenant,
                                                     clock::time_point now) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return nullptr;
  }
  const delivery_attempt_view& v = it->second.row->view;
  if (it->second.expires <= now || v.org_id != tenant.org_id || v.env_id != tenant.env_id) {
    erase(it);
    ++misses_;
    return nullptr;
  }
  ++hits_;
  order_.splice(order_.begin(), order_, it->second.position);
  return it->second.row;
}

void attempt_row_cache::store(const row_version_key& key, entry_ptr row, clock::time_point now) {
  if (!row || row->charge > config_.max_bytes) return;
  // One look-up: the slot is taken (or found) first, then older rows make room.
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted) {
    order_.push_front(key);
    it->second.position = order_.begin();
  } else {
    bytes_ -= it->second.row->charge;
    order_.splice(order_.begin(), order_, it->second.position);
  }
  bytes_ += row->charge;
  it->second.row = std::move(row);
  it->second.expires = now + config_.ttl;
  // The new row is first in order_, so it is never the one evicted here.
  while (bytes_ > config_.max_bytes) erase(entries_.find(order_.back()));
}

void attempt_row_cache::erase(entry_map::iterator it) noexcept {
  bytes_ -= it->second.row->charge;
  order_.erase(it->second.position);
  entries_.erase(it);
}

attempt_row_cache::page_plan attempt_row_cache::plan_page(std::uint64_t request) {
  auto it = requests_.find(request);
  if (it == requests_.end()) {
    if (requests_.size() >= max_requests) requests_.clear();  // rare: they are learnt again in two reads
    requests_.emplace(request, request_state{});
    return page_plan::whole;
  }
  const request_state& state = it->second;
  if (state.share < 0) return page_plan::whole_kept;
  if (state.share >= 0.75f) {
    if (state.churn <= 1) return page_plan::identities;
    return sampled_++ % (1u << (state.churn - 1)) == 0 ? page_plan::identities : page_plan::whole;
  }
  return sampled_++ % 8 == 0 ? page_plan::whole_kept : page_plan::whole;
}

void attempt_row_cache::record_found(std::uint64_t request, int rows, int found) {
  if (rows <= 0) return;
  request_state& state = requests_[request];
  state.share = static_cast<float>(found) / static_cast<float>(rows);
  state.churn = found == rows ? 0 : static_cast<std::uint8_t>(std::min<int>(state.churn + 1, max_churn));
}

void attempt_row_cache::record_kept(std::uint64_t request) { requests_[request].share = 1.0f; }

}  // namespace hookstream::storage
