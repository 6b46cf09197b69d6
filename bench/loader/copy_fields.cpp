#include "copy_fields.hpp"

#include <hookstream/encoding/hex.hpp>
#include <hookstream/storage/civil_time.hpp>

#include <charconv>
#include <span>

namespace hookstream::bench_load {

void put_digits(std::string& out, std::uint64_t v, int width) {
  char tmp[20];
  for (int i = width - 1; i >= 0; --i) {
    tmp[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(tmp, static_cast<std::size_t>(width));
}

void put_int(std::string& out, std::int64_t v) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, end);
}

namespace {
// "YYYY-MM-DD" + `sep` + "HH:MM:SS"
void put_date_time(std::string& out, const storage::civil_time& c, char sep) {
  put_digits(out, static_cast<std::uint64_t>(c.year), 4);
  out.push_back('-');
  put_digits(out, c.month, 2);
  out.push_back('-');
  put_digits(out, c.day, 2);
  out.push_back(sep);
  put_digits(out, c.hour, 2);
  out.push_back(':');
  put_digits(out, c.minute, 2);
  out.push_back(':');
  put_digits(out, c.second, 2);
}
}  // namespace

void put_timestamp(std::string& out, std::int64_t t) {
  const storage::civil_time c = storage::to_civil(t);
  put_date_time(out, c, ' ');
  out.push_back('.');
  put_digits(out, c.micros, 6);
  out.append("+00");
}

void put_rfc3339(std::string& out, std::int64_t t) {
  const storage::civil_time c = storage::to_civil(t);
  put_date_time(out, c, 'T');
  out.push_back('.');
  put_digits(out, c.micros / 1000, 3);
  out.push_back('Z');
}

void put_http_date(std::string& out, std::int64_t t) {
  static constexpr const char* weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  constexpr std::int64_t micros_per_day = 86'400'000'000;
  std::int64_t days = t / micros_per_day;
  if (t % micros_per_day < 0) --days;  // floor, for instants before 1970
  const auto weekday = static_cast<std::size_t>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const storage::civil_time c = storage::to_civil(t);
  out.append(weekdays[weekday]);
  out.append(", ");
  put_digits(out, c.day, 2);
  out.push_back(' ');
  out.append(months[c.month - 1]);
  out.push_back(' ');
  put_digits(out, static_cast<std::uint64_t>(c.year), 4);
  out.push_back(' ');
  put_digits(out, c.hour, 2);
  out.push_back(':');
  put_digits(out, c.minute, 2);
  out.push_back(':');
  put_digits(out, c.second, 2);
  out.append(" GMT");
}

void put_copy_text(std::string& out, std::string_view s) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char* rep = nullptr;
    switch (s[i]) {
      case '\\': rep = "\\\\"; break;
      case '\t': rep = "\\t"; break;
      case '\n': rep = "\\n"; break;
      case '\r': rep = "\\r"; break;
      default: continue;
    }
    out.append(s.data() + start, i - start);
    out.append(rep);
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

void put_copy_bytea(std::string& out, std::string_view bytes) {
  out.append("\\\\x");
  encoding::append_hex(out, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace hookstream::bench_load
