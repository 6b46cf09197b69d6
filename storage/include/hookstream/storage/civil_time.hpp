// Calendar arithmetic for unix_micros, shared by the JSON writer (RFC 3339 with
// milliseconds) and the storage layer (timestamps sent as query parameters).
#pragma once

#include <hookstream/storage/query_result.hpp>

#include <algorithm>
#include <cstdint>

namespace hookstream::storage {

struct civil_time {
  std::int64_t year;
  unsigned month, day, hour, minute, second;
  unsigned micros;  ///< 0..999999
};

/// Breaks an instant into UTC calendar fields (proleptic Gregorian, Howard
/// Hinnant's days-to-civil algorithm). Instants outside years 0000..9999 are
/// clamped into that range (RFC 3339 has four-digit years, and PostgreSQL's
/// +/-infinity arrive as the extreme int64 values).
constexpr civil_time to_civil(unix_micros t) noexcept {
  constexpr std::int64_t micros_per_day = 86'400'000'000;
  constexpr std::int64_t min_t = -62'167'219'200'000'000;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t max_t = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999Z
  t = std::clamp(t, min_t, max_t);
  std::int64_t days = t / micros_per_day;
  std::int64_t rem = t % micros_per_day;
  if (rem < 0) {  // floor, not truncate, for instants before 1970
    rem += micros_per_day;
    --days;
  }
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  const auto secs = static_cast<unsigned>(rem / 1'000'000);
  return civil_time{y, m, d, secs / 3600, secs / 60 % 60, secs % 60, static_cast<unsigned>(rem % 1'000'000)};
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil). Precondition: `month` 1..12, `day` 1..31.
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// The instant of UTC calendar fields; the inverse of to_civil for years 0000..9999.
constexpr unix_micros from_civil(const civil_time& c) noexcept {
  return (days_from_civil(c.year, c.month, c.day) * 86'400 + c.hour * 3600 + c.minute * 60 + c.second) * 1'000'000 +
         c.micros;
}

}  // namespace hookstream::storage
