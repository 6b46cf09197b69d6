#include <hookstream/encoding/json_string.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/storage/civil_time.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdint>

namespace hookstream::server {
namespace {

// --- raw writers ---------------------------------------------------------------
// Each writes at `p`, which must have room for its worst case, and returns the
// new end.

template <std::size_t N>
char* put(char* p, const char (&literal)[N]) noexcept {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}

constexpr std::size_t int_room = 20;
char* put_int(char* p, std::int64_t v) noexcept { return std::to_chars(p, p + int_room, v).ptr; }

char* put_digits(char* p, std::int64_t v, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

constexpr std::size_t rfc3339_room = 26;  // "2026-11-28T08:39:52.929Z" with quotes
char* put_rfc3339(char* p, storage::unix_micros t) noexcept {
  const storage::civil_time c = storage::to_civil(t);
  *p++ = '"';
  p = put_digits(p, c.year, 4);
  *p++ = '-';
  p = put_digits(p, c.month, 2);
  *p++ = '-';
  p = put_digits(p, c.day, 2);
  *p++ = 'T';
  p = put_digits(p, c.hour, 2);
  *p++ = ':';
  p = put_digits(p, c.minute, 2);
  *p++ = ':';
  p = put_digits(p, c.second, 2);
  *p++ = '.';
  p = put_digits(p, c.micros / 1000, 3);
  return put(p, "Z\"");
}

using encoding::json_string_room;
using encoding::put_json_string;

char* put_nullable(char* p, const std::optional<std::string_view>& s) noexcept {
  return s ? put_json_string(p, *s) : put(p, "null");
}
char* put_nullable(char* p, const std::optional<std::int64_t>& v) noexcept {
  return v ? put_int(p, *v) : put(p, "null");
}
char* put_nullable_time(char* p, const std::optional<storage::unix_micros>& t) noexcept {
  return t ? put_rfc3339(p, *t) : put(p, "null");
}

// Room for one attempt: its strings escaped at worst, plus keys, numbers,
// timestamps and punctuation (well under 700 bytes), and the 16 bytes a string
// writer may store past the end it returns.
std::size_t attempt_room(const storage::delivery_attempt_view& a) noexcept {
  auto n = [](const std::optional<std::string_view>& s) { return s ? s->size() : 0; };
  const std::size_t text = a.id.size() + a.org_id.size() + a.env_id.size() + a.event_id.size() +
                           a.connection_id.size() + a.destination_id.size() + a.request_url.size() +
                           a.request_method.size() + n(a.request_headers) + n(a.response_headers) +
                           n(a.response_body) + a.status.size() + n(a.error) + n(a.trigger_type) +
                           n(a.connection_name) + n(a.destination_name);
  return 6 * text + 1024;
}

// The object up to its route names, which a cached row keeps rendered
// (attempt_head_json), then the names and the closing brace.
char* put_attempt_head(char* p, const storage::delivery_attempt_view& a) noexcept {
  p = put(p, "{\"id\":");
  p = put_json_string(p, a.id);
  p = put(p, ",\"org_id\":");
  p = put_json_string(p, a.org_id);
  p = put(p, ",\"env_id\":");
  p = put_json_string(p, a.env_id);
  p = put(p, ",\"event_id\":");
  p = put_json_string(p, a.event_id);
  p = put(p, ",\"connection_id\":");
  p = put_json_string(p, a.connection_id);
  p = put(p, ",\"destination_id\":");
  p = put_json_string(p, a.destination_id);
  p = put(p, ",\"request_url\":");
  p = put_json_string(p, a.request_url);
  p = put(p, ",\"request_method\":");
  p = put_json_string(p, a.request_method);
  p = put(p, ",\"request_headers\":");
  p = put_nullable(p, a.request_headers);
  p = put(p, ",\"request_body_size\":");
  p = put_int(p, a.request_body_size);
  p = put(p, ",\"response_status\":");
  p = put_nullable(p, a.response_status);
  p = put(p, ",\"response_headers\":");
  p = put_nullable(p, a.response_headers);
  p = put(p, ",\"response_body\":");
  p = put_nullable(p, a.response_body);
  p = put(p, ",\"duration_ms\":");
  p = put_nullable(p, a.duration_ms);
  p = put(p, ",\"status\":");
  p = put_json_string(p, a.status);
  p = put(p, ",\"error\":");
  p = put_nullable(p, a.error);
  p = put(p, ",\"created_at\":");
  p = put_rfc3339(p, a.created_at);
  p = put(p, ",\"attempt_number\":");
  p = put_nullable(p, a.attempt_number);
  p = put(p, ",\"next_retry_at\":");
  p = put_nullable_time(p, a.next_retry_at);
  p = put(p, ",\"is_dlq\":");
  p = put_nullable(p, a.is_dlq);
  p = put(p, ",\"dlq_at\":");
  p = put_nullable_time(p, a.dlq_at);
  p = put(p, ",\"trigger_type\":");
  return put_nullable(p, a.trigger_type);
}

constexpr std::size_t route_names_overhead = 64;  // keys, nulls, punctuation (48), and a margin
std::size_t route_names_room(const storage::delivery_attempt_view& a) noexcept {
  auto n = [](const std::optional<std::string_view>& s) { return s ? json_string_room(s->size()) : 0; };
  return route_names_overhead + n(a.connection_name) + n(a.destination_name);
}
char* put_route_names(char* p, const storage::delivery_attempt_view& a) noexcept {
  p = put(p, ",\"connection_name\":");
  p = put_nullable(p, a.connection_name);
  p = put(p, ",\"destination_name\":");
  p = put_nullable(p, a.destination_name);
  *p++ = '}';
  return p;
}

char* put_attempt(char* p, const storage::delivery_attempt_view& a) noexcept {
  return put_route_names(put_attempt_head(p, a), a);
}

// Room for the pagination object: two cursors (at most ~230 characters each,
// base64url, no escapes) and the numbers.
std::size_t pagination_room(const page_meta& m) noexcept {
  return 160 + json_string_room(m.next_cursor.size()) + json_string_room(m.prev_cursor.size());
}
// The same as a fixed reserve, for weighing a row against the page's ceiling.
constexpr std::size_t max_pagination_bytes = 640;

char* put_pagination(char* p, const page_meta& m) noexcept {
  p = put(p, "],\"pagination\":{\"total\":");
  p = put_int(p, m.total);
  p = put(p, ",\"limit\":");
  p = put_int(p, m.limit);
  p = put(p, ",\"offset\":");
  p = put_int(p, m.offset);
  p = m.has_more ? put(p, ",\"has_more\":true") : put(p, ",\"has_more\":false");
  p = put(p, ",\"next_cursor\":");
  p = m.next_cursor.empty() ? put(p, "null") : put_json_string(p, m.next_cursor);
  p = put(p, ",\"prev_cursor\":");
  p = m.prev_cursor.empty() ? put(p, "null") : put_json_string(p, m.prev_cursor);
  return put(p, "}}");
}

// Makes room for `n` more bytes after `used` in `out` and returns where to
// write. std::string zero-fills what resize adds, so the size grows only to
// what this write may need (a page's writes then fill little more than the
// page); the capacity grows at least twofold, so the copies on growth cost
// amortised O(1) per byte.
char* room_for(std::string& out, std::size_t used, std::size_t n) {
  if (out.size() - used < n) {
    if (used + n > out.capacity()) out.reserve(std::max(out.capacity() * 2, used + n));
    out.resize(used + n);
  }
  return out.data() + used;
}

// Appends what `write(char*)` writes, given room for `n` bytes, to `out`.
template <class Write>
void append_with(std::string& out, std::size_t n, Write write) {
  const std::size_t used = out.size();
  char* p = room_for(out, used, n);
  out.resize(static_cast<std::size_t>(write(p) - out.data()));
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  append_with(out, json_string_room(s.size()), [&](char* p) { return put_json_string(p, s); });
}

void append_rfc3339(std::string& out, storage::unix_micros t) {
  append_with(out, rfc3339_room, [&](char* p) { return put_rfc3339(p, t); });
}

void append_attempt(std::string& out, const storage::delivery_attempt_view& a) {
  append_with(out, attempt_room(a), [&](char* p) { return put_attempt(p, a); });
}

std::string attempt_head_json(const storage::delivery_attempt_view& a) {
  std::string out;
  append_with(out, attempt_room(a), [&](char* p) { return put_attempt_head(p, a); });
  out.shrink_to_fit();  // kept for long, by a cache bounded by its bytes
  return out;
}

page_writer::page_writer(const storage::attempt_rows& rows, std::size_t max_body_bytes)
    : rows_(rows), max_body_bytes_(max_body_bytes) {
  // Reserved once for the common case (values, a little for escapes, keys and
  // punctuation); a large page grows it as needed.
  const std::size_t estimate = 256 + rows.payload_bytes() + rows.payload_bytes() / 4 +
                               static_cast<std::size_t>(rows.size()) * 800;
  out_.reserve(std::min(estimate, max_body_bytes_));
  used_ = static_cast<std::size_t>(put(room_for(out_, 0, 32), "{\"delivery_attempts\":[") - out_.data());
}

bool page_writer::write_some(std::size_t slice_bytes) {
  const std::size_t slice_end = slice_bytes > SIZE_MAX - used_ ? SIZE_MAX : used_ + slice_bytes;
  while (!stopped_ && written_ < rows_.size()) {
    const auto& a = rows_[written_];
    const std::string_view head = rows_.prerendered(written_);
    char* p;
    if (head.empty()) {
      p = room_for(out_, used_, attempt_room(a) + 1);
      if (written_) *p++ = ',';
      p = put_attempt(p, a);
    } else {
      // A row from the row cache, kept rendered up to its names.
      p = room_for(out_, used_, 1 + head.size() + route_names_room(a));
      if (written_) *p++ = ',';
      std::memcpy(p, head.data(), head.size());
      p = put_route_names(p + head.size(), a);
    }
    const auto end = static_cast<std::size_t>(p - out_.data());
    if (written_ > 0 && end + max_pagination_bytes > max_body_bytes_) {
      stopped_ = true;  // the row stays unwritten: used_ does not move
      break;
    }
    used_ = end;
    ++written_;
    if (used_ >= slice_end) break;
  }
  return stopped_ || written_ == rows_.size();
}

std::string page_writer::finish(const page_meta& meta) && {
  char* p = put_pagination(room_for(out_, used_, pagination_room(meta)), meta);
  out_.resize(static_cast<std::size_t>(p - out_.data()));
  return std::move(out_);
}

std::string render_attempt_page(const storage::attempt_rows& rows, const page_meta& meta) {
  page_writer writer(rows, SIZE_MAX);
  writer.write_some(SIZE_MAX);
  return std::move(writer).finish(meta);
}

std::string render_single_attempt(const storage::delivery_attempt_view& a) {
  std::string out = "{\"delivery_attempt\":";
  append_attempt(out, a);
  out += '}';
  return out;
}

}  // namespace hookstream::server
