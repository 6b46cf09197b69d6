#include <hookstream/encoding/utf8.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/storage/civil_time.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <cstdlib>

namespace hookstream::server {
namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// True when any of the eight bytes of `v` is a control character, '"', '\\' or
// not ASCII (SWAR: the classic "has zero byte" and "has byte less than" tricks).
constexpr bool needs_care(std::uint64_t v) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (v - ones * 0x20) & ~v & highs;
  return (below_space | has_zero(v ^ (ones * '"')) | has_zero(v ^ (ones * '\\')) | (v & highs)) != 0;
}

void append_nullable_string(std::string& out, const std::optional<std::string_view>& s) {
  if (s) append_json_string(out, *s);
  else out += "null";
}
void append_nullable_int(std::string& out, const std::optional<std::int64_t>& v) {
  if (v) append_int(out, *v);
  else out += "null";
}
void append_nullable_time(std::string& out, const std::optional<storage::unix_micros>& t) {
  if (t) append_rfc3339(out, *t);
  else out += "null";
}

void append_digits(std::string& out, std::int64_t v, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy runs of plain ASCII in one go, scanning eight bytes at a time.
    std::size_t run = i;
    while (run + 8 <= s.size()) {
      std::uint64_t v;
      std::memcpy(&v, s.data() + run, 8);
      if (needs_care(v)) break;
      run += 8;
    }
    while (run < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;

    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
      }
      ++i;
      continue;
    }
    std::size_t bad = 0;
    if (const std::size_t len = encoding::utf8_sequence_at(s, i, bad)) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      i += bad;
    }
  }
  out += '"';
}

void append_rfc3339(std::string& out, storage::unix_micros t) {
  const storage::civil_time c = storage::to_civil(t);
  out += '"';
  append_digits(out, c.year, 4);
  out += '-';
  append_digits(out, c.month, 2);
  out += '-';
  append_digits(out, c.day, 2);
  out += 'T';
  append_digits(out, c.hour, 2);
  out += ':';
  append_digits(out, c.minute, 2);
  out += ':';
  append_digits(out, c.second, 2);
  out += '.';
  append_digits(out, c.micros / 1000, 3);
  out += "Z\"";
}

void append_attempt(std::string& out, const storage::delivery_attempt_view& a) {
  out += "{\"id\":";
  append_json_string(out, a.id);
  out += ",\"org_id\":";
  append_json_string(out, a.org_id);
  out += ",\"env_id\":";
  append_json_string(out, a.env_id);
  out += ",\"event_id\":";
  append_json_string(out, a.event_id);
  out += ",\"connection_id\":";
  append_json_string(out, a.connection_id);
  out += ",\"destination_id\":";
  append_json_string(out, a.destination_id);
  out += ",\"request_url\":";
  append_json_string(out, a.request_url);
  out += ",\"request_method\":";
  append_json_string(out, a.request_method);
  out += ",\"request_headers\":";
  append_nullable_string(out, a.request_headers);
  out += ",\"request_body_size\":";
  append_int(out, a.request_body_size);
  out += ",\"response_status\":";
  append_nullable_int(out, a.response_status);
  out += ",\"response_headers\":";
  append_nullable_string(out, a.response_headers);
  out += ",\"response_body\":";
  append_nullable_string(out, a.response_body);
  out += ",\"duration_ms\":";
  append_nullable_int(out, a.duration_ms);
  out += ",\"status\":";
  append_json_string(out, a.status);
  out += ",\"error\":";
  append_nullable_string(out, a.error);
  out += ",\"created_at\":";
  append_rfc3339(out, a.created_at);
  out += ",\"attempt_number\":";
  append_nullable_int(out, a.attempt_number);
  out += ",\"next_retry_at\":";
  append_nullable_time(out, a.next_retry_at);
  out += ",\"is_dlq\":";
  append_nullable_int(out, a.is_dlq);
  out += ",\"dlq_at\":";
  append_nullable_time(out, a.dlq_at);
  out += ",\"trigger_type\":";
  append_nullable_string(out, a.trigger_type);
  out += ",\"connection_name\":";
  append_nullable_string(out, a.connection_name);
  out += ",\"destination_name\":";
  append_nullable_string(out, a.destination_name);
  out += '}';
}

namespace {
// Room kept for the pagination object when a row is weighed against the page's
// ceiling: two cursors of at most ~230 characters and the numbers.
constexpr std::size_t pagination_room = 640;
}  // namespace

page_writer::page_writer(const storage::attempt_rows& rows, std::size_t max_body_bytes)
    : rows_(rows), max_body_bytes_(max_body_bytes) {
  // Sized once for the common case: values plus a little for escapes, keys and
  // punctuation; a ceiling bounds the reservation.
  const std::size_t estimate = 256 + rows.payload_bytes() + rows.payload_bytes() / 8 +
                               static_cast<std::size_t>(rows.size()) * 700;
  out_.reserve(std::min(estimate, max_body_bytes_));
  out_ += "{\"delivery_attempts\":[";
}

bool page_writer::write_some(std::size_t slice_bytes) {
  const std::size_t slice_end = slice_bytes > SIZE_MAX - out_.size() ? SIZE_MAX : out_.size() + slice_bytes;
  while (!stopped_ && written_ < rows_.size()) {
    const std::size_t before = out_.size();
    if (written_) out_ += ',';
    append_attempt(out_, rows_[written_]);
    if (written_ > 0 && out_.size() + pagination_room > max_body_bytes_) {
      out_.resize(before);
      stopped_ = true;
      break;
    }
    ++written_;
    if (out_.size() >= slice_end) break;
  }
  return stopped_ || written_ == rows_.size();
}

std::string page_writer::finish(const page_meta& meta) && {
  out_ += "],\"pagination\":{\"total\":";
  append_int(out_, meta.total);
  out_ += ",\"limit\":";
  append_int(out_, meta.limit);
  out_ += ",\"offset\":";
  append_int(out_, meta.offset);
  out_ += ",\"has_more\":";
  out_ += meta.has_more ? "true" : "false";
  out_ += ",\"next_cursor\":";
  if (meta.next_cursor.empty()) out_ += "null";
  else append_json_string(out_, meta.next_cursor);
  out_ += ",\"prev_cursor\":";
  if (meta.prev_cursor.empty()) out_ += "null";
  else append_json_string(out_, meta.prev_cursor);
  out_ += "}}";
  return std::move(out_);
}

std::string render_attempt_page(const storage::attempt_rows& rows, const page_meta& meta) {
  page_writer writer(rows, SIZE_MAX);
  writer.write_some(SIZE_MAX);
  return std::move(writer).finish(meta);
}

std::string render_single_attempt(const storage::delivery_attempt_view& a) {
  std::string out;
  out.reserve(2048);
  out += "{\"delivery_attempt\":";
  append_attempt(out, a);
  out += '}';
  return out;
}

}  // namespace hookstream::server
